/**
 * One command that says what each path of a batch read is and returns the small files' bytes, as a
 * tar archive: a few processes for the whole batch (a test, one `stat`, one `tar`), where a loop over
 * the files spawns three per file (which made 300 files cost a second inside the sandbox).
 */
import { tarFiles } from "../../lib/tar";
import { pathWord, type PathKind } from "./daytona-scripts";

/** What an archive read can say: the kinds, or nothing (the caller then reads the files one by one). */
export type ArchiveRead = PathKind[] | undefined;

/**
 * Prints one line per path, in order: `f <size>`, `d`, `o` (a FIFO, a device: never read) or `n`
 * (nothing there); then `t <base64>`: a tar of the regular files of at most `inlineBytes`, in order,
 * while their sum stays within `budgetBytes`; then `x <status>`, tar's exit status. The archive's bytes
 * are capped at what the sizes measured allow (a file growing meanwhile cannot make the output
 * larger: the cut archive fails to parse); a file that changed while tar read it makes tar fail.
 */
export function archiveReadScript(paths: string[], inlineBytes: number, budgetBytes: number): string {
  return [
    "set -o pipefail",
    `ps=(${paths.map(pathWord).join(" ")})`,
    "ks=() fs=()",
    'for p in "${ps[@]}"; do',
    '  if [ -f "$p" ]; then ks+=(f); fs+=("$p"); elif [ -d "$p" ]; then ks+=(d); elif [ -e "$p" ]; then ks+=(o); else ks+=(n); fi',
    "done",
    "ss=()",
    'if [ ${#fs[@]} -gt 0 ]; then mapfile -t ss < <(stat -L -c %s -- "${fs[@]}" 2>/dev/null); fi',
    // A file gone or changed in between: the caller falls back to reading the files one by one.
    '[ ${#ss[@]} -eq ${#fs[@]} ] || exit 3',
    `left=${Math.floor(budgetBytes)} cap=20480 sel=() j=0`,
    'for k in "${ks[@]}"; do',
    '  if [ "$k" = f ]; then s=${ss[j]}; p=${fs[j]}; j=$((j + 1)); echo "f $s"',
    `    if [ "$s" -le ${Math.floor(inlineBytes)} ] && [ "$s" -le "$left" ]; then left=$((left - s)); sel+=("$p"); cap=$((cap + s + 1536 + \${#p})); fi`,
    '  else echo "$k"; fi',
    "done",
    'printf "t "',
    'if [ ${#sel[@]} -gt 0 ]; then tar -chf - -- "${sel[@]}" 2>/dev/null | head -c "$cap" | base64 -w0; st=$?; else st=0; fi',
    'printf "\\nx %s\\n" "$st"',
  ].join("\n");
}

/** Parses what {@link archiveReadScript} printed for `paths` (the shell words it was given); undefined when anything is off. */
export function parseArchiveRead(output: string, paths: string[]): ArchiveRead {
  const lines = output.split("\n");
  if (lines.length < paths.length + 2) return undefined;
  const status = lines[paths.length + 1];
  const archive = lines[paths.length]!;
  if (status !== "x 0" || !archive.startsWith("t ") || lines.slice(paths.length + 2).some((line) => line !== "")) return undefined;
  const kinds: PathKind[] = [];
  for (const line of lines.slice(0, paths.length)) {
    const file = /^f (\d+)$/.exec(line);
    if (file) kinds.push({ kind: "file", size: Number(file[1]) });
    else if (line === "d" || line === "o" || line === "n") kinds.push({ kind: line === "d" ? "dir" : line === "o" ? "other" : "missing" });
    else return undefined;
  }
  const encoded = archive.slice(2);
  if (encoded === "") return kinds;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded)) return undefined;
  const files = tarFiles(Buffer.from(encoded, "base64"));
  if (!files) return undefined;
  // The archive holds, in order, the first regular files that fit: each must be the path it stands for.
  let next = 0;
  for (let index = 0; index < kinds.length && next < files.length; index++) {
    const kind = kinds[index]!;
    if (kind.kind !== "file") continue;
    const { name, content } = files[next]!;
    if (stripDot(name) !== stripDot(paths[index] === "" ? "." : `./${paths[index]}`)) continue;
    kinds[index] = { kind: "file", size: content.length, content };
    next++;
  }
  return next === files.length ? kinds : undefined;
}

function stripDot(name: string): string {
  return name.replace(/^(\.\/)+/, "");
}
