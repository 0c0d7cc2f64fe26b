import { formatDiagnostic, type Diagnostic } from "../contract";

export { formatDiagnostic, type Diagnostic };

/** A project file as the tools print it: absolute inside the sandbox, or relative to the project. */
function projectPath(raw: string): string {
  return raw
    .trim()
    .replace(/^file:\/\//, "")
    .replace(/^.*?\/(?:workspace|project)\//, "")
    .replace(/^\.\//, "");
}

// tsc (plain and --pretty), eslint --format unix, and most compilers: `file(1,2): …`, `file:1:2 - …`, `file:1:2: …`.
const TSC_PLAIN = /^(.+?)\((\d+),(\d+)\): (?:error|warning) (TS\d+: .*)$/;
const COLON_FORM = /^(.+?\.[A-Za-z0-9]+):(\d+):(\d+)(?: - |: ?)(?:error )?(.*\S.*)$/;
// rolldown / Vite 8 and other miette-style reports: `[CODE] message` then `╭─[ file:line:col ]`.
const FRAME_HEADER = /╭─\[\s*(.+?):(\d+):(\d+)\s*\]/;
const CODED_MESSAGE = /^\s*(\[[A-Za-z0-9_:.-]+\].*\S)\s*$/;
// eslint's stylish format: the file on its own line, then `  3:5  error  message  rule`.
const STYLISH_ENTRY = /^\s+(\d+):(\d+)\s+error\s+(.+?)(?:\s{2,}\S+)?\s*$/;
const STYLISH_FILE = /^(\/\S+|[\w.-]+\/\S+)\s*$/;

/**
 * Reads the errors out of a check's output: tsc, eslint, Vite/rolldown and anything printing
 * `file:line:col message`. Entries come in the order printed, without duplicates; output the parser
 * does not understand yields nothing (the caller then reports the output's tail instead).
 */
export function parseDiagnostics(output: string): Diagnostic[] {
  const found: Diagnostic[] = [];
  const seen = new Set<string>();
  const add = (d: Diagnostic) => {
    const key = `${d.file ?? ""}:${d.line ?? ""}:${d.column ?? ""}:${d.message}`;
    if (seen.has(key)) return;
    seen.add(key);
    found.push(d);
  };
  const lines = output.replace(/\x1b\[[0-9;]*m/g, "").split(/\r?\n/);
  let stylishFile: string | undefined;
  let lastCoded: string | undefined;
  for (const line of lines) {
    let m = TSC_PLAIN.exec(line);
    if (m) {
      add({ file: projectPath(m[1]!), line: Number(m[2]), column: Number(m[3]), message: m[4]!.trim() });
      continue;
    }
    m = FRAME_HEADER.exec(line);
    if (m) {
      add({ file: projectPath(m[1]!), line: Number(m[2]), column: Number(m[3]), message: lastCoded ?? "error" });
      lastCoded = undefined;
      continue;
    }
    m = CODED_MESSAGE.exec(line);
    if (m) {
      lastCoded = m[1];
      continue;
    }
    m = STYLISH_ENTRY.exec(line);
    if (m && stylishFile) {
      add({ file: stylishFile, line: Number(m[1]), column: Number(m[2]), message: m[3]!.trim() });
      continue;
    }
    m = COLON_FORM.exec(line);
    if (m && !/^\s*at\s/.test(line) && !/^https?:/.test(m[1]!)) {
      add({ file: projectPath(m[1]!), line: Number(m[2]), column: Number(m[3]), message: m[4]!.trim() });
      continue;
    }
    m = STYLISH_FILE.exec(line);
    stylishFile = m ? projectPath(m[1]!) : line.trim() === "" ? undefined : stylishFile;
  }
  return found;
}
