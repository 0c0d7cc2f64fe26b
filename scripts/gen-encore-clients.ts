/**
 * Writes the `encore.gen` stubs that `encore run` would generate (`~encore/clients` and `~encore/auth`),
 * so `tsc` can type-check every cross-service call against the endpoints' own signatures. The folder is
 * git-ignored: the Encore CLI replaces it with the real thing.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { checkApp } from "./encore-rules";

const CALL_OPTS = `import { CallOpts } from "encore.dev/api";

type Parameters<T> = T extends (...args: infer P) => unknown ? P : never;
type WithCallOpts<T extends (...args: any) => any> = (
  ...args: [...Parameters<T>, opts?: CallOpts]
) => ReturnType<T>;
`;

function importPath(from: string, to: string): string {
  const path = relative(dirname(from), to).replace(/\.ts$/, "");
  return path.startsWith(".") ? path : `./${path}`;
}

/** Regenerates `<root>/encore.gen` from the app's endpoints; returns the files written. */
export function generateEncoreStubs(root: string): string[] {
  const report = checkApp(root);
  const out = join(root, "encore.gen");
  rmSync(out, { recursive: true, force: true });
  const written: string[] = [];
  const write = (file: string, text: string) => {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    written.push(relative(root, file));
  };

  const services = [...new Set(report.services)].sort();
  for (const service of services) {
    const file = join(out, "internal", "clients", service, "endpoints.d.ts");
    const endpoints = report.endpoints.filter((e) => e.service === service && !e.raw);
    const lines = endpoints.flatMap((e) => [
      `import { ${e.name} as ${e.name}_handler } from "${importPath(file, join(root, e.file))}";`,
      `declare const ${e.name}: WithCallOpts<typeof ${e.name}_handler>;`,
      `export { ${e.name} };`,
    ]);
    write(file, `${CALL_OPTS}\n${lines.join("\n")}\n`);
  }
  const clients = join(out, "clients", "index.d.ts");
  write(
    clients,
    services.map((s) => `export * as ${s.replace(/-/g, "_")} from "${importPath(clients, join(out, "internal", "clients", s, "endpoints.d.ts")).replace(/\.d$/, "")}";`).join("\n") + "\n",
  );
  const handler = report.authHandlers[0];
  if (handler) {
    const auth = join(out, "auth", "index.d.ts");
    write(
      auth,
      `import { ${handler.name} } from "${importPath(auth, join(root, handler.file))}";\n` +
        `type AuthData = NonNullable<Awaited<ReturnType<typeof ${handler.name}>>>;\n` +
        `export declare function getAuthData(): AuthData | null;\n`,
    );
  }
  return written;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
  for (const file of generateEncoreStubs(root)) process.stdout.write(`wrote ${file}\n`);
}
