/** A browser page signed in to a test Kiln, for the dashboard's browser tests. */
import type { Browser, Page } from "playwright-core";
import { watchConsole } from "./browser";

/** A new page of `browser` at `viewport`, signed in with `token` on the projects page, with its console watched. */
export async function signedInPage(browser: Browser, url: string, token: string, viewport = { width: 1440, height: 900 }): Promise<{ page: Page; consoleLog: ReturnType<typeof watchConsole> }> {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  const consoleLog = watchConsole(page);
  await page.goto(url);
  await page.getByTestId("token-input").fill(token);
  await page.getByTestId("signin-submit").click();
  await page.getByTestId("nav-tokens").waitFor();
  return { page, consoleLog };
}

/** How far the page is wider than its window (0: no horizontal scrolling). */
export function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate("document.documentElement.scrollWidth - window.innerWidth") as Promise<number>;
}

/** Whether a click at the middle of the element would reach it (nothing covers it, it is in the window). */
export function reachable(page: Page, testId: string): Promise<boolean> {
  return page.getByTestId(testId).evaluate((el) => {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0 || box.right > el.ownerDocument.documentElement.clientWidth || box.left < 0) return false;
    const hit = el.ownerDocument.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
    return hit !== null && (hit === el || el.contains(hit));
  });
}
