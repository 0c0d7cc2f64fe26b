import type { Browser, BrowserContext, Page } from "playwright-core";
import type { Diagnostic } from "./diagnostics";

/** What loading the preview in a real browser found. */
export interface BrowserCheckResult {
  ok: boolean;
  errors: Diagnostic[];
  /** A 1280×800 PNG of the page as loaded, when the page could be captured. */
  screenshot: Buffer | null;
  /** Requests to other hosts the check refused to make (not errors: the check loads the preview only). */
  blockedRequests: number;
}

/** Where the preview is and how the server (never the page) authenticates to it. */
export interface PreviewTarget {
  url: string;
  /** Headers added to requests to the preview's own origin only, e.g. Daytona's preview token. */
  headers?: Record<string, string>;
}

/**
 * How long a check may take, in all, and the quiet time after load before the page is judged: no
 * request of the page in flight for `settleMs` (default {@link SETTLE_MS}), or {@link MAX_QUIET_WAIT_MS}
 * after load at most (a page that polls or streams is never quiet).
 */
export interface BrowserCheckOptions {
  timeoutMs: number;
  settleMs?: number;
}

const SETTLE_MS = 400;
const MAX_QUIET_WAIT_MS = 3000;

const MAX_ERRORS = 20;
const ASSET_TYPES = new Set(["image", "media", "font", "stylesheet", "script"]);
const CLOSE_TIMEOUT_MS = 3000;

/**
 * Run in the page: is anything visible, and did a dev server's error overlay appear? A string, since it
 * runs in the browser and the server's TypeScript has no DOM types.
 */
const INSPECT_PAGE = `(() => {
  const overlayElement = document.querySelector("vite-error-overlay");
  let overlay = null;
  if (overlayElement) {
    const root = overlayElement.shadowRoot;
    const message = (root && root.querySelector(".message") ? root.querySelector(".message").textContent : overlayElement.textContent) || "";
    const file = (root && root.querySelector(".file") ? root.querySelector(".file").textContent : "") || "";
    overlay = (message.trim() + (file.trim() ? " (" + file.trim() + ")" : "")) || "the dev server's error overlay is shown";
  }
  let visible = ((document.body && document.body.innerText) || "").trim().length > 0;
  if (!visible && document.body) {
    for (const element of Array.from(document.body.querySelectorAll("*"))) {
      const rect = element.getBoundingClientRect();
      if (rect.width < 2 || rect.height < 2) continue;
      const style = getComputedStyle(element);
      if (style.visibility === "hidden" || style.display === "none" || Number(style.opacity) === 0) continue;
      const media = /^(img|svg|canvas|video|input|button|textarea|select|iframe)$/i.test(element.tagName);
      const painted = style.backgroundColor !== "rgba(0, 0, 0, 0)" || style.backgroundImage !== "none" || parseFloat(style.borderTopWidth) > 0;
      if (media || painted) { visible = true; break; }
    }
  }
  return { visible, overlay };
})()`;

/** Rejects after `ms`, so nothing a page does can hold a check past its deadline. */
function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(what)), Math.max(ms, 1));
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/**
 * One browser per server process, for checking generated apps. Each check gets a fresh context: no
 * cookies, storage or cache of another check, no service workers, and no network beyond the preview's
 * own origin (every other request and WebSocket is refused, so a page cannot reach Kiln, the host's
 * services or files). Dialogs are dismissed and pop-ups closed. A page that hangs, loops or crashes
 * ends its check at the deadline with a result that says so, and a browser that stops answering is
 * replaced for the next check.
 */
export class PreviewBrowser {
  private browser: Promise<Browser> | null = null;

  constructor(private readonly launch: () => Promise<Browser>) {}

  /** Loads the preview and reports what a user would see go wrong. */
  async check(target: PreviewTarget, options: BrowserCheckOptions): Promise<BrowserCheckResult> {
    const started = Date.now();
    const left = () => options.timeoutMs - (Date.now() - started);
    let browser: Browser;
    try {
      browser = await within(this.browserOnce(), left(), `the browser did not start within ${options.timeoutMs} ms`);
    } catch (err) {
      this.browser = null;
      return { ok: false, errors: [{ message: `the check's browser could not start: ${err instanceof Error ? err.message : String(err)}` }], screenshot: null, blockedRequests: 0 };
    }
    const origin = new URL(target.url).origin;
    const errors: Diagnostic[] = [];
    const note = (message: string) => {
      if (errors.length < MAX_ERRORS && !errors.some((e) => e.message === message)) errors.push({ message });
    };
    let blockedRequests = 0;
    let context: BrowserContext | undefined;
    let page: Page | undefined;
    let screenshot: Buffer | null = null;
    try {
      context = await within(browser.newContext({ viewport: { width: 1280, height: 800 }, serviceWorkers: "block", acceptDownloads: false }), left(), "the browser did not open a page in time");
      await context.route("**/*", (route) => {
        const url = route.request().url();
        if (sameOrigin(url, origin)) return route.continue({ headers: { ...route.request().headers(), ...target.headers } });
        blockedRequests++;
        if (route.request().isNavigationRequest() && route.request().frame() === page?.mainFrame()) note(`the page navigated away to ${describeUrl(url)} (blocked: an app stays on its own origin)`);
        return route.abort("blockedbyclient");
      });
      await context.routeWebSocket(() => true, (ws) => {
        if (sameOrigin(ws.url().replace(/^ws/, "http"), origin)) ws.connectToServer();
        else {
          blockedRequests++;
          void ws.close({ code: 1008, reason: "blocked" });
        }
      });
      // Pop-ups: window.open opens nothing, and any other way of opening a page is closed at once.
      await context.addInitScript("window.open = () => null;");
      context.on("page", (opened) => {
        if (!page || opened === page) return;
        void opened.close().catch(() => undefined);
      });
      page = await within(context.newPage(), left(), "the browser did not open a page in time");
      page.on("dialog", (dialog) => void dialog.dismiss().catch(() => undefined));
      page.on("pageerror", (error) => note(`uncaught ${error.name || "error"}: ${error.message}${topFrame(error.stack)}`));
      page.on("console", (message) => {
        if (message.type() !== "error") return;
        const text = message.text();
        // The browser's own line for a failed load; the response handler names the request instead.
        if (/^Failed to load resource/.test(text)) return;
        const location = message.location();
        note(`console.error: ${text}${location.url && sameOrigin(location.url, origin) ? ` (at ${new URL(location.url).pathname}:${location.lineNumber + 1})` : ""}`);
      });
      page.on("response", (response) => {
        if (!sameOrigin(response.url(), origin)) return;
        const path = new URL(response.url()).pathname;
        if (response.status() >= 400) return note(`HTTP ${response.status()} for ${response.request().method()} ${path}`);
        // Dev servers answer a missing file with the app's HTML page (their single-page fallback).
        const type = response.request().resourceType();
        if (ASSET_TYPES.has(type) && /^text\/html/.test(response.headers()["content-type"] ?? "")) note(`missing file: ${path} (the ${type} request got the app's HTML page: the dev server has no such file)`);
      });
      page.on("requestfailed", (request) => {
        const failure = request.failure()?.errorText ?? "failed";
        if (sameOrigin(request.url(), origin) && failure !== "net::ERR_ABORTED") note(`request failed: ${request.method()} ${new URL(request.url()).pathname} (${failure})`);
      });
      page.on("crash", () => note("the page crashed (out of memory, or the renderer died)"));
      // Requests in flight, and when the last began or ended: the page is judged once it has been quiet.
      let inFlight = 0;
      let lastActivity = Date.now();
      const ended = () => void (inFlight--, (lastActivity = Date.now()));
      page.on("request", () => void (inFlight++, (lastActivity = Date.now())));
      page.on("requestfinished", ended);
      page.on("requestfailed", ended);
      const quiet = async (quietMs: number, capMs: number) => {
        const until = Date.now() + capMs;
        while (Date.now() < until && (inFlight > 0 || Date.now() - lastActivity < quietMs)) {
          await new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.min(until - Date.now(), inFlight > 0 ? 25 : quietMs - (Date.now() - lastActivity)))));
        }
      };

      try {
        await page.goto(target.url, { waitUntil: "load", timeout: Math.max(left() - 1500, 1000) });
      } catch (err) {
        note(`the page did not finish loading: ${firstLine(err)}`);
      }
      await quiet(Math.min(options.settleMs ?? SETTLE_MS, left() - 1500), Math.min(MAX_QUIET_WAIT_MS, left() - 1500));
      try {
        const seen = await within(page.evaluate(INSPECT_PAGE) as Promise<{ visible: boolean; overlay: string | null }>, Math.max(left() - 1000, 500), "the page did not answer (a script may be stuck in a loop)");
        if (seen.overlay) note(`the dev server shows an error overlay: ${seen.overlay}`);
        if (!seen.visible) note("the page is blank: after loading it shows no text and no visible element");
      } catch (err) {
        note(firstLine(err));
      }
      if (left() > 500) {
        screenshot = await within(page.screenshot({ type: "png", timeout: Math.max(left() - 300, 300) }), left(), "screenshot timed out").catch(() => null);
      }
    } catch (err) {
      note(`the browser check failed: ${firstLine(err)}`);
    } finally {
      if (context) await this.closeContext(context);
    }
    return { ok: errors.length === 0, errors, screenshot, blockedRequests };
  }

  /** Closes the browser (at shutdown). */
  async close(): Promise<void> {
    const browser = this.browser;
    this.browser = null;
    if (browser) await (await browser.catch(() => null))?.close().catch(() => undefined);
  }

  private browserOnce(): Promise<Browser> {
    if (!this.browser) {
      const launching = this.launch();
      this.browser = launching;
      launching.then(
        (browser) => browser.on("disconnected", () => {
          if (this.browser === launching) this.browser = null;
        }),
        () => {
          if (this.browser === launching) this.browser = null;
        },
      );
    }
    return this.browser;
  }

  /** A context that does not close in time (its renderer is stuck) takes the whole browser with it. */
  private async closeContext(context: BrowserContext): Promise<void> {
    try {
      await within(context.close(), CLOSE_TIMEOUT_MS, "context close timed out");
    } catch {
      const browser = this.browser;
      this.browser = null;
      const stuck = await browser?.catch(() => null);
      await within(stuck?.close() ?? Promise.resolve(), CLOSE_TIMEOUT_MS, "browser close timed out").catch(() => undefined);
    }
  }
}

function sameOrigin(url: string, origin: string): boolean {
  try {
    return new URL(url).origin === origin;
  } catch {
    return false;
  }
}

function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return parsed.protocol === "file:" ? "a local file" : parsed.origin;
  } catch {
    return "another address";
  }
}

/** ` (at /src/App.tsx:3:9)`: the first frame of a stack that is the app's own code. */
function topFrame(stack: string | undefined): string {
  const frame = /\(?(https?:\/\/[^/\s]+)(\/[^\s)?]+)(?:\?[^\s):]*)?:(\d+):(\d+)\)?/.exec(stack ?? "");
  if (!frame || /node_modules|\/@vite\/|\/@react-refresh/.test(frame[2]!)) return "";
  return ` (at ${frame[2]}:${frame[3]}:${frame[4]})`;
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n")[0]!.replace(/^page\.\w+: /, "");
}
