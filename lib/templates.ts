import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { join, posix } from "node:path";
import { AppError, invalidArgument } from "./errors";
import { rootPath } from "./root";

/** The manifest of a starter project: `templates/<name>/kiln-template.json`. */
export interface TemplateManifest {
  /** The directory's name: lowercase letters, digits and dashes. */
  name: string;
  title: string;
  /** One line for the template's card. */
  description: string;
  stack: string[];
  /** The dev command, run from the project root with PORT set; the server listens on 0.0.0.0:$PORT. */
  dev: string;
  /** The port it listens on when PORT is unset. */
  port: number;
  /** How its dependencies install from the lockfile; null when it has none. */
  install: string | null;
  /**
   * A file under node_modules its dev server writes once it has prepared what it caches there (Vite's
   * dependency pre-bundle): the installation runs the dev server once until it exists, so every
   * workspace starts with that cache in the shared layer. Null: nothing to prepare.
   */
  devCache: string | null;
  /** The project's checks, each a command run from the project root. */
  checks: { typecheck?: string; build?: string; lint?: string };
  /** Markdown for the agent: layout, where to edit, what is installed, conventions. */
  notes: string;
  /** Prompts a user can start from. */
  examples: string[];
}

/** One file of a template, as a new project gets it. */
export interface TemplateFile {
  path: string;
  content: Buffer;
  mode: number;
}

/** A template ready to use: its manifest, its files, and the version its installed dependencies are keyed by. */
export interface Template {
  manifest: TemplateManifest;
  files: TemplateFile[];
  /**
   * 16 hex digits of sha256 over the lockfile, the install command, the dev cache and the platform: the
   * same version installs the same dependencies, so one installation serves every project of it. Null
   * without `install`.
   */
  dependencyVersion: string | null;
}

/** The template a project gets when its creator names none, unless KILN_DEFAULT_TEMPLATE says another. */
export const DEFAULT_TEMPLATE = "vite-react";
/** The name of "no starter": an empty project, the agent picks the stack. */
export const BLANK_TEMPLATE = "blank";

const MANIFEST = "kiln-template.json";
const LOCKFILE = "package-lock.json";
const NAME = /^[a-z0-9][a-z0-9-]{0,39}$/;
/** Never part of a template's files: installed dependencies and the manifest itself. */
const SKIPPED = new Set(["node_modules", MANIFEST]);
const TEMPLATES_DIR = rootPath("templates");

const BLANK: Template = {
  manifest: {
    name: BLANK_TEMPLATE,
    title: "Blank",
    description: "An empty project: the agent chooses a small stack for what you ask",
    stack: [],
    dev: "",
    port: 0,
    install: null,
    devCache: null,
    checks: {},
    notes: "",
    examples: ["A landing page for a neighbourhood bakery", "A small REST API with an in-memory todo list"],
  },
  files: [],
  dependencyVersion: null,
};

function text(name: string, field: string, value: unknown, max: number): string {
  if (typeof value !== "string" || value.trim() === "" || value.length > max) {
    throw new AppError("internal", `template ${name}: ${MANIFEST} field ${field} must be a non-empty string of at most ${max} characters`);
  }
  return value;
}

function texts(name: string, field: string, value: unknown, max: number): string[] {
  if (!Array.isArray(value)) throw new AppError("internal", `template ${name}: ${MANIFEST} field ${field} must be a list`);
  return value.map((item, index) => text(name, `${field}[${index}]`, item, max));
}

/** `devCache`, absent or a plain path below node_modules/ (the shared layer) of a template that installs. */
function devCacheOf(dirName: string, value: unknown, install: unknown): string | null {
  if (value === undefined || value === null) return null;
  const path = text(dirName, "devCache", value, 200);
  if (install === null || !/^node_modules(\/[A-Za-z0-9@._-]+)+$/.test(path) || path.split("/").some((part) => part === "." || part === "..")) {
    throw new AppError("internal", `template ${dirName}: devCache must be a path below node_modules/ of a template that installs (got ${JSON.stringify(path)})`);
  }
  return path;
}

/** A manifest checked field by field: a template that does not say how it runs is refused at startup, not at a user's first generation. */
export function parseManifest(dirName: string, json: string): TemplateManifest {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(json) as Record<string, unknown>;
  } catch (err) {
    throw new AppError("internal", `template ${dirName}: ${MANIFEST} is not JSON (${(err as Error).message})`);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new AppError("internal", `template ${dirName}: ${MANIFEST} must be an object`);
  if (raw.name !== dirName || !NAME.test(dirName)) throw new AppError("internal", `template ${dirName}: ${MANIFEST} must name its directory (got ${JSON.stringify(raw.name)})`);
  if (typeof raw.port !== "number" || !Number.isInteger(raw.port) || raw.port < 1 || raw.port > 65535) throw new AppError("internal", `template ${dirName}: port must be a port number`);
  const checks = raw.checks ?? {};
  if (typeof checks !== "object" || checks === null || Array.isArray(checks)) throw new AppError("internal", `template ${dirName}: checks must be an object`);
  const checked: TemplateManifest["checks"] = {};
  for (const [kind, command] of Object.entries(checks)) {
    if (kind !== "typecheck" && kind !== "build" && kind !== "lint") throw new AppError("internal", `template ${dirName}: unknown check ${JSON.stringify(kind)}`);
    checked[kind] = text(dirName, `checks.${kind}`, command, 1000);
  }
  return {
    name: dirName,
    title: text(dirName, "title", raw.title, 60),
    description: text(dirName, "description", raw.description, 200),
    stack: texts(dirName, "stack", raw.stack, 60),
    dev: text(dirName, "dev", raw.dev, 1000),
    port: raw.port,
    install: raw.install === null ? null : text(dirName, "install", raw.install, 1000),
    devCache: devCacheOf(dirName, raw.devCache, raw.install),
    checks: checked,
    notes: text(dirName, "notes", raw.notes, 20_000),
    examples: texts(dirName, "examples", raw.examples, 500),
  };
}

/** Every regular file below `dir` (relative POSIX paths, sorted), symlinks refused: a template is plain files. */
function filesOf(name: string, dir: string, prefix = ""): TemplateFile[] {
  const files: TemplateFile[] = [];
  for (const entry of readdirSync(join(dir, prefix), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const relative = prefix ? posix.join(prefix, entry.name) : entry.name;
    if (prefix === "" && SKIPPED.has(entry.name)) continue;
    if (entry.name === "node_modules") continue;
    if (entry.isDirectory()) files.push(...filesOf(name, dir, relative));
    else if (entry.isFile()) {
      const stats = lstatSync(join(dir, relative));
      files.push({ path: relative, content: readFileSync(join(dir, relative)), mode: stats.mode & 0o777 });
    } else throw new AppError("internal", `template ${name}: ${relative} is not a regular file`);
  }
  return files;
}

/** The template in `dir`, read and checked (at startup: a few small files). */
export function loadTemplate(dir: string, name: string): Template {
  const manifest = parseManifest(name, readFileSync(join(dir, MANIFEST), "utf8"));
  const files = filesOf(name, dir);
  let dependencyVersion: string | null = null;
  if (manifest.install !== null) {
    const lockfile = files.find((file) => file.path === LOCKFILE);
    if (!lockfile) throw new AppError("internal", `template ${name}: it installs dependencies but has no ${LOCKFILE}`);
    dependencyVersion = createHash("sha256")
      .update(lockfile.content)
      .update(`\0${manifest.install}\0${process.platform}-${process.arch}\0node${process.versions.node.split(".")[0]}`)
      .update(manifest.devCache ? `\0${manifest.dev}\0${manifest.devCache}` : "")
      .digest("hex")
      .slice(0, 16);
  }
  return { manifest, files, dependencyVersion };
}

/** The templates a project can start from, by name; {@link BLANK_TEMPLATE} among them. */
export class TemplateCatalog {
  private constructor(
    private readonly byName: ReadonlyMap<string, Template>,
    /** The template a project gets when its creator names none. */
    readonly defaultName: string,
  ) {
    if (!byName.has(defaultName)) throw new AppError("internal", `the default template ${JSON.stringify(defaultName)} is not one of ${[...byName.keys()].join(", ")}`);
  }

  /** Every template under `dir` (the repository's templates/ by default), plus the blank one. */
  static load(dir: string = TEMPLATES_DIR, defaultName: string = DEFAULT_TEMPLATE): TemplateCatalog {
    const names = readdirSync(dir, { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
    const templates = names.map((name) => loadTemplate(join(dir, name), name));
    return new TemplateCatalog(new Map([...templates.map((t) => [t.manifest.name, t] as const), [BLANK_TEMPLATE, BLANK]]), defaultName);
  }

  /** The repository's templates, read once per process, with `defaultName` as the default. */
  static shared(defaultName: string = DEFAULT_TEMPLATE): TemplateCatalog {
    const files = (sharedFiles ??= TemplateCatalog.load());
    return files.defaultName === defaultName ? files : new TemplateCatalog(files.byName, defaultName);
  }

  /** Names in the order a person picks from: the default first, blank last. */
  names(): string[] {
    const rest = [...this.byName.keys()].filter((name) => name !== this.defaultName && name !== BLANK_TEMPLATE).sort();
    return [this.defaultName, ...rest, ...(this.defaultName === BLANK_TEMPLATE ? [] : [BLANK_TEMPLATE])];
  }

  /** Every template, in {@link names} order. */
  all(): Template[] {
    return this.names().map((name) => this.byName.get(name)!);
  }

  /** The template called `name`, or undefined. */
  find(name: string): Template | undefined {
    return this.byName.get(name);
  }

  /** The template a request names (the default when it names none); an unknown name is a 400 listing the valid ones. */
  resolve(field: string, name: unknown): Template {
    if (name === undefined || name === null) return this.byName.get(this.defaultName)!;
    const found = typeof name === "string" ? this.byName.get(name) : undefined;
    if (!found) throw invalidArgument(field, `${JSON.stringify(name)} is not a template; choose one of ${this.names().join(", ")}`);
    return found;
  }
}

let sharedFiles: TemplateCatalog | undefined;

/** Whether `template` is one a project starts from with files and a dev server (every one but blank). */
export function hasStarter(template: Template): boolean {
  return template.manifest.name !== BLANK_TEMPLATE;
}
