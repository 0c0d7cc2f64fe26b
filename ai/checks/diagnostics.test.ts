import { describe, expect, it } from "vitest";
import { formatDiagnostic, parseDiagnostics } from "./diagnostics";

describe("parseDiagnostics", () => {
  it("reads tsc's plain and pretty errors", () => {
    const plain = "src/Bad.tsx(3,15): error TS2552: Cannot find name 'word'. Did you mean 'words'?\nsrc/App.tsx(10,3): error TS2322: Type 'number' is not assignable to type 'string'.";
    expect(parseDiagnostics(plain).map(formatDiagnostic)).toEqual([
      "src/Bad.tsx:3:15 TS2552: Cannot find name 'word'. Did you mean 'words'?",
      "src/App.tsx:10:3 TS2322: Type 'number' is not assignable to type 'string'.",
    ]);
    expect(parseDiagnostics("\x1b[96msrc/App.tsx\x1b[0m:\x1b[93m4\x1b[0m:\x1b[93m7\x1b[0m - \x1b[91merror\x1b[0m TS2304: Cannot find name 'x'.")).toEqual([
      { file: "src/App.tsx", line: 4, column: 7, message: "TS2304: Cannot find name 'x'." },
    ]);
  });

  it("reads Vite 8 (rolldown) build errors with their frame header", () => {
    const output = `vite v8.4.0 building client environment for production...
✗ Build failed in 42ms
error during build:
Build failed with 1 error:

[UNRESOLVED_IMPORT] Could not resolve './missing.css' in src/main.tsx
   ╭─[ src/main.tsx:7:8 ]
   │
 7 │ import "./missing.css";
───╯

    at aggregateBindingErrorsIntoJsError (file:///workspace/node_modules/rolldown/dist/shared/error.mjs:110:18)`;
    expect(parseDiagnostics(output)).toEqual([{ file: "src/main.tsx", line: 7, column: 8, message: "[UNRESOLVED_IMPORT] Could not resolve './missing.css' in src/main.tsx" }]);
  });

  it("reads eslint's stylish format and strips the sandbox's project directory", () => {
    const output = "\n/workspace/src/App.tsx\n  3:10  error  'x' is assigned a value but never used  no-unused-vars\n  8:1   error  Unexpected console statement  no-console\n\n✖ 2 problems";
    expect(parseDiagnostics(output).map(formatDiagnostic)).toEqual(["src/App.tsx:3:10 'x' is assigned a value but never used", "src/App.tsx:8:1 Unexpected console statement"]);
    expect(parseDiagnostics("/home/daytona/project/src/a.ts:2:5: error: Expected ';'")[0]).toMatchObject({ file: "src/a.ts", line: 2, column: 5 });
  });

  it("yields nothing for output without places, and ignores stack frames and URLs", () => {
    expect(parseDiagnostics("npm ERR! Missing script: build\n")).toEqual([]);
    expect(parseDiagnostics("    at render (file:///workspace/node_modules/react/index.js:1:2)\nhttp://localhost:5173/src/App.tsx:3:4 fetched")).toEqual([]);
  });
});
