import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkApp } from "./encore-rules";
import { generateEncoreStubs } from "./gen-encore-clients";

const repo = fileURLToPath(new URL("..", import.meta.url));
const sample = fileURLToPath(new URL("./__tests__/client-stubs/app", import.meta.url));
const expected = fileURLToPath(new URL("./__tests__/client-stubs/expected", import.meta.url));

function filesUnder(dir: string, keep: (name: string) => boolean): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return entry === "node_modules" ? [] : filesUnder(path, keep);
    return keep(entry) ? [path] : [];
  });
}

/** Blank lines and trailing spaces are template whitespace, not what the stubs declare. */
const normalize = (text: string) =>
  text
    .split("\n")
    .map((line) => line.trimEnd())
    .filter((line) => line !== "")
    .join("\n");

/** Compiles the app as tsconfig.json does (every .ts file, `~encore/*` → encore.gen); returns the errors. */
function compile(app: string): string[] {
  const program = ts.createProgram(
    filesUnder(app, (name) => name.endsWith(".ts")),
    {
      lib: ["lib.es2022.d.ts"],
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ES2022,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      types: ["node"],
      typeRoots: [join(repo, "node_modules", "@types")],
      paths: { "~encore/*": [join(app, "encore.gen", "*")] },
      strict: true,
      isolatedModules: true,
      skipLibCheck: true,
      noEmit: true,
    },
  );
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file ? `${relative(app, d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1} ` : "";
    return `${where}TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, " ")}`;
  });
}

describe("the encore.gen stubs", () => {
  let app: string;
  let written: string[];

  beforeAll(() => {
    // A copy outside the tree, so the generated encore.gen leaves nothing behind; node_modules is linked
    // so `encore.dev` resolves from it as it does from the repo.
    app = join(mkdtempSync(join(tmpdir(), "kiln-stubs-")), "app");
    cpSync(sample, app, { recursive: true });
    symlinkSync(join(repo, "node_modules"), join(app, "node_modules"));
    written = generateEncoreStubs(app);
  });
  afterAll(() => rmSync(join(app, ".."), { recursive: true, force: true }));

  it("are what Encore's templates render for the sample app: authData in CallOpts, the raw endpoint's client", () => {
    expect(checkApp(sample).violations).toEqual([]);
    const want = filesUnder(expected, (name) => name.endsWith(".d.ts")).map((f) => relative(expected, f)).sort();
    expect(written.map((f) => relative("encore.gen", f)).sort()).toEqual(want);
    for (const file of want) {
      const got = readFileSync(join(app, "encore.gen", file), "utf8");
      expect(normalize(got), file).toBe(normalize(readFileSync(join(expected, file), "utf8")));
    }
  });

  it("type-check the sample's calls and reject each wrong authData (every @ts-expect-error is used)", () => {
    expect(compile(app)).toEqual([]);
  });

  it("without authData merged into CallOpts, the wrong calls would pass: the type test has teeth", () => {
    rmSync(join(app, "encore.gen", "internal", "auth", "auth.d.ts"));
    try {
      const unused = compile(app).filter((e) => e.includes("TS2578")).map((e) => e.split(" ")[0]);
      // The directives over the wrong-authData calls go unused; the raw endpoint's wrong body still fails.
      const calls = "caller/encore-calls.ts";
      const lines = readFileSync(join(app, calls), "utf8").split("\n");
      const overAuthData = lines.flatMap((line, i) => (line.includes("@ts-expect-error") && lines[i + 1]!.includes("authData") ? [`${calls}:${i + 1}`] : []));
      expect(overAuthData).toHaveLength(3);
      expect(unused).toEqual(overAuthData);
    } finally {
      generateEncoreStubs(app);
    }
  });
});
