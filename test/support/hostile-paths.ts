import { safeRelativePath } from "../../lib/paths";

/**
 * Paths every project path gate must refuse, each with why: the one battery of lib/paths.test.ts, the
 * provider suite (every file method of every provider) and test/hostile.test.ts (the agent's tools and
 * the vfs over HTTP).
 */
export const HOSTILE_PATHS: Array<[why: string, path: string]> = [
  ["absolute", "/etc/passwd"],
  ["absolute root", "/"],
  ["parent", ".."],
  ["parent escape", "../outside.txt"],
  ["deep escape", "a/b/../../../etc/passwd"],
  ["dot-dot inside", "a/../b.txt"],
  ["trailing dot-dot", "src/.."],
  ["dot-dot after dot", "./../x"],
  ["NUL byte", "a.txt\0.png"],
  ["backslash escape", "..\\..\\windows"],
  ["backslash separator", "src\\index.ts"],
  ["newline", "a\nb.txt"],
  ["carriage return", "a\rb"],
  ["escape character", "a\u001b[31m.txt"],
  ["DEL", "a\u007f"],
  ["C1 control", "a\u0085b"],
  ["C1 control sequence introducer", "a\u009b2J.txt"],
  ["tab", "a\tb.txt"],
  ["vertical tab", "a\u000bb"],
  ["form feed", "a\fb"],
  ["bell", "a\u0007.txt"],
  ["backspace", "secret\b\b\b\b\b\bpublic.txt"],
  ["unit separator", "a\u001fb"],
  ["trailing newline", "a.txt\n"],
  ["leading dash", "-rf"],
  ["lone dash", "-"],
  ["dash segment", "src/--help"],
  ["dash after dot", "./-n"],
  ["empty", ""],
  ["root dot", "."],
  ["only slashes", "./"],
  ["encoded dot-dot", "%2e%2e/secret"],
  ["encoded upper", "%2E%2E%2Fetc%2Fpasswd"],
  ["double encoded", "%252e%252e/x"],
  ["encoded slash prefix", "%2fetc/passwd"],
  ["encoded NUL", "a%00b"],
  ["encoded backslash", "..%5cwin"],
  ["encoded slash after dots", "..%2fx.txt"],
  ["encoded dash", "%2drf"],
  ["one dot leader", "\u2024\u2024/etc"],
  ["two dot leader", "\u2025/etc"],
  ["fullwidth full stop", "\uff0e\uff0e/etc"],
  ["division slash", "..\u2215etc"],
  ["fullwidth solidus", "a\uff0fb"],
  ["fraction slash", "a\u2044b"],
  ["fullwidth reverse solidus", "a\uff3cb"],
  ["home", "~"],
  ["home path", "~/.ssh/id_rsa"],
  ["other home", "~root/.bashrc"],
  ["windows drive", "C:/Windows"],
  ["bidi override", "evil\u202etxt.exe"],
  ["zero-width space", "a\u200b.txt"],
  ["lone surrogate", "a\ud800b"],
  ["too long path", `${"abcdefgh/".repeat(456)}x`],
  ["too long segment", `${"a".repeat(256)}.txt`],
  ["too long multibyte segment", "é".repeat(128)],
];

/** Whether `path` names the project root itself (`""`, `.`, `./`): refused as a file, fine as a directory or cwd. */
export function namesRoot(path: string): boolean {
  try {
    return safeRelativePath("path", path, { allowRoot: true }) === "";
  } catch {
    return false;
  }
}
