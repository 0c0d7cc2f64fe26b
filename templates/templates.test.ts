import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/** The Node version every template must run on (Kiln's sandboxes run Node 20). */
const NODE = "20.20.0";
const ROOT = fileURLToPath(new URL(".", import.meta.url));
const KEYS = ["name", "title", "description", "stack", "dev", "port", "install", "checks", "notes", "examples"];
/** Fields a manifest may leave out. */
const OPTIONAL_KEYS = ["devCache"];
const CHECKS = ["typecheck", "build", "lint"];

/** `semver` when it is installed (it comes in with other packages; it is not a dependency of Kiln's own). */
const semver = (() => {
  try {
    return createRequire(import.meta.url)("semver") as { satisfies(version: string, range: string): boolean };
  } catch {
    return null;
  }
})();

const templates = readdirSync(ROOT, { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && entry.name !== "node_modules")
  .map((entry) => entry.name);

const nonEmptyText = (value: unknown) => typeof value === "string" && value.trim() !== "";
const texts = (value: unknown) => Array.isArray(value) && value.length > 0 && value.every(nonEmptyText);

/** What is wrong with a template's manifest, one line a problem (empty when it has the shape the loader expects). */
function manifestProblems(dirName: string, json: string): string[] {
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(json) as Record<string, unknown>;
  } catch (err) {
    return [`not JSON: ${(err as Error).message}`];
  }
  if (typeof m !== "object" || m === null || Array.isArray(m)) return ["not an object"];
  const problems: string[] = [];
  const unknown = Object.keys(m).filter((key) => !KEYS.includes(key) && !OPTIONAL_KEYS.includes(key));
  const missing = KEYS.filter((key) => !(key in m));
  if (unknown.length > 0) problems.push(`unknown fields: ${unknown.join(", ")}`);
  if (missing.length > 0) problems.push(`missing fields: ${missing.join(", ")}`);
  if (m.name !== dirName || !/^[a-z0-9-]+$/.test(dirName)) problems.push(`name ${JSON.stringify(m.name)} must be the directory's name, ${dirName}, in [a-z0-9-]`);
  for (const key of ["title", "description", "dev", "notes"]) if (key in m && !nonEmptyText(m[key])) problems.push(`${key} must be a non-empty string`);
  if ("stack" in m && !texts(m.stack)) problems.push("stack must be a non-empty list of strings");
  if ("examples" in m && !texts(m.examples)) problems.push("examples must be a non-empty list of strings");
  if ("port" in m && !(Number.isInteger(m.port) && (m.port as number) >= 1 && (m.port as number) <= 65535)) problems.push("port must be an integer from 1 to 65535");
  if ("install" in m && m.install !== null && !nonEmptyText(m.install)) problems.push("install must be null or a command");
  if ("devCache" in m && !(typeof m.devCache === "string" && /^node_modules\/[^\0]+$/.test(m.devCache) && nonEmptyText(m.install))) problems.push("devCache must be a path below node_modules/ of a template that installs");
  const checks = m.checks;
  if ("checks" in m && (typeof checks !== "object" || checks === null || Array.isArray(checks))) problems.push("checks must be an object");
  else if (checks) {
    for (const [kind, command] of Object.entries(checks)) {
      if (!CHECKS.includes(kind)) problems.push(`checks.${kind} is not one of ${CHECKS.join(", ")}`);
      if (!nonEmptyText(command)) problems.push(`checks.${kind} must be a command`);
    }
  }
  return problems;
}

interface LockedPackage {
  version?: string;
  resolved?: string;
  integrity?: string;
  inBundle?: boolean;
  link?: boolean;
  engines?: { node?: string } | string[];
}

/** Locked packages that do not come from the npm registry as a tarball with an integrity hash. */
function unregisteredPackages(lock: { packages?: Record<string, LockedPackage> }): string[] {
  return Object.entries(lock.packages ?? {})
    .filter(([path, p]) => path !== "" && !p.inBundle && !p.link)
    .filter(([, p]) => !p.resolved?.startsWith("https://registry.npmjs.org/") || !p.resolved.endsWith(".tgz") || !/^sha512-/.test(p.integrity ?? ""))
    .map(([path]) => path);
}

/** Locked packages whose `engines.node` excludes {@link NODE}. */
function tooNewForNode(lock: { packages?: Record<string, LockedPackage> }, satisfies: (version: string, range: string) => boolean): string[] {
  return Object.entries(lock.packages ?? {})
    .map(([path, p]) => [path || "(the project)", !Array.isArray(p.engines) ? p.engines?.node : undefined] as const)
    .filter(([, range]) => range !== undefined && !satisfies(NODE, range))
    .map(([path, range]) => `${path} needs node ${range}`);
}

describe("the checks themselves", () => {
  it("catch a manifest without a dev command, with extra fields or a bad port", () => {
    const good = JSON.parse(readFileSync(join(ROOT, templates[0]!, "kiln-template.json"), "utf8")) as Record<string, unknown>;
    expect(manifestProblems(templates[0]!, JSON.stringify(good))).toEqual([]);
    const { dev: _dev, ...withoutDev } = good;
    expect(manifestProblems(templates[0]!, JSON.stringify(withoutDev))).toEqual(["missing fields: dev"]);
    expect(manifestProblems("other", JSON.stringify({ ...good, port: "5173", extra: 1, checks: { test: "npm test" } }))).toEqual([
      "unknown fields: extra",
      `name ${JSON.stringify(good.name)} must be the directory's name, other, in [a-z0-9-]`,
      "port must be an integer from 1 to 65535",
      "checks.test is not one of typecheck, build, lint",
    ]);
  });

  it("catch a package locked from elsewhere or without integrity", () => {
    const lock = {
      packages: {
        "": {},
        "node_modules/a": { resolved: "https://registry.npmjs.org/a/-/a-1.0.0.tgz", integrity: "sha512-x" },
        "node_modules/b": { resolved: "https://example.com/b.tgz", integrity: "sha512-x" },
        "node_modules/c": { resolved: "https://registry.npmjs.org/c/-/c-1.0.0.tgz" },
        "node_modules/d": { version: "1.0.0" },
        "node_modules/a/node_modules/e": { inBundle: true },
      },
    };
    expect(unregisteredPackages(lock)).toEqual(["node_modules/b", "node_modules/c", "node_modules/d"]);
  });

  it.skipIf(semver === null)("catch a locked package that needs a newer Node", () => {
    const lock = { packages: { "": { engines: { node: ">=20" } }, "node_modules/a": { engines: { node: "^20.19.0 || >=22.12.0" } }, "node_modules/b": { engines: { node: ">=22" } } } };
    expect(tooNewForNode(lock, semver!.satisfies.bind(semver))).toEqual(["node_modules/b needs node >=22"]);
  });
});

describe.each(templates)("template %s", (name) => {
  const dir = join(ROOT, name);
  const manifestText = readFileSync(join(dir, "kiln-template.json"), "utf8");
  const manifest = JSON.parse(manifestText) as { dev: string; install: string | null; checks: Record<string, string> };
  const packageJson = existsSync(join(dir, "package.json"))
    ? (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { scripts?: Record<string, string>; engines?: { node?: string }; dependencies?: object; devDependencies?: object })
    : null;

  it("has a manifest of the shape Kiln loads", () => {
    expect(manifestProblems(name, manifestText)).toEqual([]);
  });

  it("runs npm scripts its package.json defines", () => {
    const commands = [manifest.dev, ...Object.values(manifest.checks)];
    for (const [, script] of commands.join("\n").matchAll(/\bnpm run ([\w:-]+)/g)) expect(packageJson?.scripts, `npm run ${script}`).toHaveProperty(script!);
  });

  it("installs from a lockfile of registry tarballs that matches package.json", () => {
    if (manifest.install === null) {
      expect(Object.keys({ ...packageJson?.dependencies, ...packageJson?.devDependencies }), "no install, so no dependencies").toEqual([]);
      return;
    }
    expect(existsSync(join(dir, "package-lock.json")), "package-lock.json").toBe(true);
    const lock = JSON.parse(readFileSync(join(dir, "package-lock.json"), "utf8")) as { lockfileVersion: number; packages: Record<string, LockedPackage & { dependencies?: object; devDependencies?: object }> };
    expect(lock.lockfileVersion).toBe(3);
    expect(unregisteredPackages(lock)).toEqual([]);
    // A lockfile out of step with package.json makes `npm ci` refuse to install.
    expect(lock.packages[""]?.dependencies ?? {}).toEqual(packageJson?.dependencies ?? {});
    expect(lock.packages[""]?.devDependencies ?? {}).toEqual(packageJson?.devDependencies ?? {});
  });

  const engines = semver ? `runs on Node ${NODE}: package.json and every locked package allow it` : `runs on Node ${NODE}: SKIPPED, the semver package is not in node_modules`;
  it.skipIf(semver === null)(engines, () => {
    const satisfies = semver!.satisfies.bind(semver);
    if (packageJson?.engines?.node) expect(satisfies(NODE, packageJson.engines.node), `engines.node ${packageJson.engines.node}`).toBe(true);
    if (!existsSync(join(dir, "package-lock.json"))) return;
    expect(tooNewForNode(JSON.parse(readFileSync(join(dir, "package-lock.json"), "utf8")), satisfies)).toEqual([]);
  });
});

it("has the three starters", () => {
  expect(templates).toEqual(expect.arrayContaining(["expo", "static", "vite-react"]));
});
