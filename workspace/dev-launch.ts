import { shellQuote } from "../lib/paths";

/** `npm run <script>` or `npm start`, exactly: the forms the templates, the stack detection and the agent name. */
const NPM_SCRIPT = /^npm (?:run ([A-Za-z0-9][A-Za-z0-9:._-]*)|(start))$/;

/**
 * What a sandbox runs for a dev command. The dev command itself (`npm run dev`) stays what templates,
 * stack detection and the workspace record compare; only its launch changes: a plain `npm run <script>`
 * or `npm start` runs the script from `packageJson` the way npm would (in `sh`, with the project's
 * `node_modules/.bin` first on PATH and `npm_lifecycle_event` set) without npm's own start-up, which costs
 * a sandbox about 0.4 s before the dev server begins. Any other command, arguments after the script,
 * a script with a `pre`/`post` hook, or one package.json lacks or cannot say, runs as given.
 */
export function devLaunch(command: string, packageJson: string | null): string {
  const match = NPM_SCRIPT.exec(command.trim());
  if (!match || packageJson === null) return command;
  const name = match[1] ?? match[2]!;
  let scripts: unknown;
  try {
    scripts = (JSON.parse(packageJson) as { scripts?: unknown }).scripts;
  } catch {
    return command;
  }
  if (typeof scripts !== "object" || scripts === null) return command;
  const table = scripts as Record<string, unknown>;
  const script = table[name];
  if (typeof script !== "string" || script.trim() === "" || script.includes("\0") || `pre${name}` in table || `post${name}` in table) return command;
  return `PATH="$PWD/node_modules/.bin:$PATH" npm_lifecycle_event=${shellQuote(name)} exec sh -c ${shellQuote(script)}`;
}
