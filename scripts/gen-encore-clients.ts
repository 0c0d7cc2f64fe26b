/**
 * Writes the `encore.gen` stubs that `encore run` would generate (`~encore/clients` and `~encore/auth`),
 * so `tsc` can type-check every cross-service call against the endpoints' own signatures. The folder is
 * git-ignored: the Encore CLI replaces it with the real thing.
 *
 * The declarations follow the Encore CLI's catalog templates (encoredev/encore
 * `tsparser/src/builder/templates/catalog/{clients,auth}`), for what Kiln uses:
 * - every endpoint but `api.static` gets a client, `api.raw` ones included (typed as their handler: Node's
 *   request and response), each as `WithCallOpts<typeof handler>`, plus a `Client` class and `ref()`;
 * - the auth module widens `encore.dev/api`'s (empty) `CallOpts` with `authData?: AuthData`, where
 *   AuthData is what the auth handler resolves to (`null` with no handler), so a call passing the wrong
 *   `{ authData }` fails to type-check. Without it `CallOpts` is `{}` and any object passes.
 * Encore writes the auth module as `.ts` with a body; a stub only needs its declarations, so it is `.d.ts`.
 * Stream endpoints are not covered (Kiln has none, and scripts/encore-rules.ts does not detect them).
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { checkApp, type AppReport } from "./encore-rules";

/** A JS identifier for a service name, as `~encore/clients` exports it (`user-profile` → `user_profile`). */
export function serviceIdent(service: string): string {
  return service.replace(/-/g, "_");
}

/** The specifier Encore writes: relative to the generated file, with the source's `.ts` swapped for `.js`. */
function importSpecifier(fromFile: string, toFile: string): string {
  const path = relative(dirname(fromFile), toFile).replace(/\.ts$/, ".js");
  return JSON.stringify(path.startsWith(".") ? path : `./${path}`);
}

const CLIENT_HEADER = [
  `import { CallOpts } from "encore.dev/api";`,
  ``,
  `type Parameters<T> = T extends (...args: infer P) => unknown ? P : never;`,
  `type WithCallOpts<T extends (...args: any) => any> = (`,
  `  ...args: [...Parameters<T>, opts?: CallOpts]`,
  `) => ReturnType<T>;`,
];

/** `encore.gen/internal/clients/<service>/endpoints.d.ts`: one typed function per endpoint, and the Client class. */
function serviceClient(root: string, file: string, endpoints: AppReport["endpoints"]): string {
  const blocks = endpoints.map(({ name, file: source }) =>
    [
      `import { ${name} as ${name}_handler } from ${importSpecifier(file, join(root, source))};`,
      `type ${name}_Type = WithCallOpts<typeof ${name}_handler>;`,
      `declare const ${name}: ${name}_Type;`,
      `export { ${name} };`,
    ].join("\n"),
  );
  const members = endpoints.map(({ name }) => `  readonly ${name}: ${name}_Type;`);
  const client = [`export class Client {`, `  private constructor();`, ...members, `}`].join("\n");
  return [CLIENT_HEADER.join("\n"), ...blocks, client, `export declare function ref(): Client;`].join("\n\n") + "\n";
}

/** `encore.gen/internal/auth/auth.d.ts`: AuthData, getAuthData, and `authData` merged into CallOpts. */
function authModule(root: string, file: string, handlers: AppReport["authHandlers"]): string {
  const imports = handlers.map((h) => `import { ${h.name} as _auth_${h.name} } from ${importSpecifier(file, join(root, h.file))};`);
  const authData = handlers.length
    ? handlers.map((h) => `Awaited<ReturnType<typeof _auth_${h.name}>>`).join("\n  | ")
    : "null";
  const parts = [
    ...(imports.length ? [imports.join("\n")] : []),
    `export type AuthData = ${authData};`,
    `export declare function getAuthData(): AuthData | null;`,
    [`declare module "encore.dev/api" {`, `  interface CallOpts {`, `    authData?: AuthData;`, `  }`, `}`].join("\n"),
  ];
  return parts.join("\n\n") + "\n";
}

/** Every stub file for an app, as paths relative to `encore.gen` and their text. */
export function renderEncoreStubs(root: string, report: AppReport): Map<string, string> {
  const out = join(root, "encore.gen");
  const files = new Map<string, string>();
  const services = [...new Set(report.services)].sort();
  for (const service of services) {
    const file = join(out, "internal", "clients", service, "endpoints.d.ts");
    files.set(relative(out, file), serviceClient(root, file, report.endpoints.filter((e) => e.service === service)));
  }
  files.set(
    join("clients", "index.d.ts"),
    services.map((s) => `export * as ${serviceIdent(s)} from "../internal/clients/${s}/endpoints";\n`).join(""),
  );
  const auth = join(out, "internal", "auth", "auth.d.ts");
  files.set(relative(out, auth), authModule(root, auth, report.authHandlers));
  files.set(join("auth", "index.d.ts"), `export { type AuthData, getAuthData } from "../internal/auth/auth";\n`);
  return files;
}

/** Regenerates `<root>/encore.gen` from the app's endpoints; returns the files written. */
export function generateEncoreStubs(root: string): string[] {
  const out = join(root, "encore.gen");
  const files = renderEncoreStubs(root, checkApp(root));
  rmSync(out, { recursive: true, force: true });
  for (const [path, text] of files) {
    mkdirSync(dirname(join(out, path)), { recursive: true });
    writeFileSync(join(out, path), text);
  }
  return [...files.keys()].map((path) => join("encore.gen", path));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
  for (const file of generateEncoreStubs(root)) process.stdout.write(`wrote ${file}\n`);
}
