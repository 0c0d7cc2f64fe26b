import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BROWSER_UID, launchChromium } from "./chromium";

const asRoot = process.getuid?.() === 0;
const savedTmpdir = process.env.TMPDIR;
const privateTmp = mkdtempSync(join(tmpdir(), "kiln-chromium-test-"));
afterAll(() => {
  process.env.TMPDIR = savedTmpdir;
  rmSync(privateTmp, { recursive: true, force: true });
});

describe("the check's browser", () => {
  it("refuses to launch from a launcher folder that someone else planted in the temp dir, or from a temp dir it cannot search", async () => {
    if (!asRoot) {
      console.warn("not root: the browser runs as Kiln's own user with Chromium's sandbox; run as root to test the unprivileged launcher");
      return;
    }
    process.env.TMPDIR = privateTmp;
    chmodSync(privateTmp, 0o700);
    await expect(launchChromium()).rejects.toThrow(/is not searchable by others: the check's browser runs as uid 199999/);
    chmodSync(privateTmp, 0o711);
    const planted = join(privateTmp, `kiln-browser-${BROWSER_UID}`);
    mkdirSync(planted, { mode: 0o777 });
    chownSync(planted, 4242, 4242);
    await expect(launchChromium()).rejects.toThrow(/kiln-browser-199999 is not root's alone \(owner 4242/);
    rmSync(planted, { recursive: true });
  }, 60_000);

  it("runs as an unprivileged uid with Chromium's own sandbox (never --no-sandbox)", async () => {
    process.env.TMPDIR = privateTmp;
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto("data:text/html,<h1>ok</h1>");
      const processes = execFileSync("ps", ["-eo", "uid=,args="], { encoding: "utf8" }).split("\n").filter((line) => line.includes(privateTmp) || line.includes("sparticuz-chromium"));
      const mine = processes.filter((line) => /chromium/.test(line));
      expect(mine.length).toBeGreaterThan(0);
      for (const line of mine) {
        expect(line).not.toContain("--no-sandbox");
        if (asRoot) expect(line.trim().split(/\s+/)[0]).toBe(String(BROWSER_UID));
      }
    } finally {
      await browser.close();
    }
  }, 60_000);
});
