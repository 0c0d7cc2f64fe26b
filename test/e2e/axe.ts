/** An automated accessibility check of a page: axe-core injected into it, WCAG 2 A and AA rules. */
import { createRequire } from "node:module";
import type { Page } from "playwright-core";

const AXE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

/** One rule a page breaks, with where. */
export interface A11yViolation {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

/** The serious and critical violations axe finds on the page as it is now (an empty list: none), outside `exclude` (CSS selectors). */
export async function seriousA11yViolations(page: Page, exclude: string[] = []): Promise<A11yViolation[]> {
  if (!(await page.evaluate('"axe" in window'))) await page.addScriptTag({ path: AXE });
  const violations = await page.evaluate(async (exclude) => {
    const axe = (globalThis as unknown as { axe: { run(context: unknown, options: unknown): Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }[] }> } }).axe;
    const result = await axe.run({ include: [["html"]], exclude: exclude.map((s) => [s]) }, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] }, iframes: false });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(" ")) }));
  }, exclude);
  return violations.filter((v) => v.impact === "serious" || v.impact === "critical");
}
