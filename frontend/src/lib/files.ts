import type { FileInfo } from "../../../vfs/contract";

/** A file's bytes from the vfs's base64. */
export function decodeBase64(b64: string): Uint8Array {
  const binary = atob(b64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** The text of a file, or null when it is binary (a NUL byte, or not valid UTF-8). */
export function textOf(bytes: Uint8Array): string | null {
  const head = bytes.subarray(0, 8000);
  if (head.includes(0)) return null;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

const IMAGE_TYPES: Record<string, string> = { png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg", gif: "image/gif", webp: "image/webp", ico: "image/x-icon", svg: "image/svg+xml" };

export function imageType(path: string): string | null {
  return IMAGE_TYPES[path.split(".").pop()?.toLowerCase() ?? ""] ?? null;
}

const LANGUAGES: Record<string, string> = {
  js: "javascript", mjs: "javascript", cjs: "javascript", jsx: "javascript",
  ts: "typescript", tsx: "typescript", mts: "typescript",
  json: "json", css: "css", scss: "css", html: "xml", htm: "xml", xml: "xml", svg: "xml", vue: "xml",
  md: "markdown", markdown: "markdown", sh: "bash", bash: "bash", py: "python", yml: "yaml", yaml: "yaml",
};

/** The highlight.js language of a path, or null for plain text. */
export function languageOf(path: string): string | null {
  const name = path.split("/").pop() ?? "";
  if (name === "Dockerfile" || name === "Makefile") return "bash";
  return LANGUAGES[name.split(".").pop()?.toLowerCase() ?? ""] ?? null;
}

/** A directory of the file tree. */
export interface TreeDir {
  name: string;
  path: string;
  dirs: TreeDir[];
  files: FileInfo[];
}

/** Folds a flat listing into directories, directories first, each sorted by name. */
export function buildTree(files: FileInfo[]): TreeDir {
  const root: TreeDir = { name: "", path: "", dirs: [], files: [] };
  for (const file of files) {
    const parts = file.path.split("/");
    let dir = root;
    for (const part of parts.slice(0, -1)) {
      let child = dir.dirs.find((d) => d.name === part);
      if (!child) {
        child = { name: part, path: dir.path ? `${dir.path}/${part}` : part, dirs: [], files: [] };
        dir.dirs.push(child);
      }
      dir = child;
    }
    dir.files.push(file);
  }
  const sort = (dir: TreeDir) => {
    dir.dirs.sort((a, b) => a.name.localeCompare(b.name));
    dir.files.sort((a, b) => a.path.localeCompare(b.path));
    dir.dirs.forEach(sort);
  };
  sort(root);
  return root;
}

/** The file to open first: a README, an index page, or the first file. */
export function defaultFile(files: FileInfo[]): string | null {
  const prefer = ["index.html", "src/App.tsx", "src/main.tsx", "server.js", "README.md", "package.json"];
  for (const path of prefer) if (files.some((f) => f.path === path)) return path;
  return files[0]?.path ?? null;
}
