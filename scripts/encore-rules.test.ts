import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { CONTRACT_ROUTES } from "../server/contracts";
import { checkApp, checkDrift, type Violation } from "./encore-rules";

const root = fileURLToPath(new URL("..", import.meta.url));
const fixtures = fileURLToPath(new URL("./__tests__/encore-fixtures", import.meta.url));

/** Every `file:line` of a fixture marked `// violation`: exactly where the checker must object. */
function markedLines(dir: string): string[] {
  const marks: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d)) {
      const path = join(d, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (entry.endsWith(".ts")) {
        readFileSync(path, "utf8").split("\n").forEach((line, i) => {
          if (line.includes("// violation")) marks.push(`${relative(dir, path)}:${i + 1}`);
        });
      }
    }
  };
  walk(dir);
  return marks.sort();
}

const where = (violations: Violation[]) => [...new Set(violations.map((v) => `${v.file}:${v.line}`))].sort();

describe("the Encore rules check", () => {
  it("accepts Kiln itself, with api.ts and the contracts in step", () => {
    const report = checkApp(root);
    const problems = [...report.violations, ...checkDrift(report, CONTRACT_ROUTES)];
    expect(problems).toEqual([]);
    expect(report.services.sort()).toEqual(["ai", "projects", "vfs", "workspace"]);
    for (const [service, routes] of Object.entries(CONTRACT_ROUTES)) {
      expect(report.endpoints.filter((e) => e.service === service).map((e) => e.name).sort()).toEqual(Object.keys(routes).sort());
    }
  });

  const rules = readdirSync(fixtures).filter((rule) => rule !== "contract-drift");
  it.each(rules)("rejects the broken fixture for rule %s, at each marked line, naming the rule", (rule) => {
    const dir = join(fixtures, rule);
    const report = checkApp(dir);
    const marked = markedLines(dir);
    expect(marked.length).toBeGreaterThan(0);
    expect(report.violations.map((v) => v.rule)).toContain(rule);
    expect(where(report.violations.filter((v) => v.rule === rule))).toEqual(marked);
    for (const v of report.violations) expect(v.message.startsWith(`${v.rule}: `)).toBe(true);
  });

  it("rejects endpoints that drift from their contract route table", () => {
    const dir = join(fixtures, "contract-drift");
    const report = checkApp(dir);
    expect(report.violations).toEqual([]);
    const drift = checkDrift(report, {
      svc: {
        get: { method: "GET", path: "/svc/:id", expose: false, auth: false, fields: { id: "string" } },
        missing: { method: "POST", path: "/svc/missing", expose: true, auth: false },
      },
    });
    expect(drift.map((v) => v.message)).toEqual([
      "contract-drift: svc.get differs from its contract route: expose true ≠ false",
      "contract-drift: svc.missing is in the contract but has no endpoint in svc/api.ts",
      "contract-drift: endpoint svc.extra is not in the svc contract",
    ]);
    expect(where(drift.filter((v) => v.file !== "svc/api.ts" || v.line !== 1))).toEqual(markedLines(dir));
  });
});
