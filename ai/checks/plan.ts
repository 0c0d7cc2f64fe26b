import type { TemplateManifest } from "../../lib/templates";

/** A check that runs as a command in the project's root. */
export interface StaticCheck {
  kind: "typecheck" | "build" | "lint";
  command: string;
}

const KINDS = ["typecheck", "build", "lint"] as const;

/**
 * The project's static checks: its template's (the manifest names them), else what its package.json
 * offers (`typecheck`, `build` and `lint` scripts; `tsc --noEmit` where a tsconfig.json and an installed
 * TypeScript exist). `npx --no-install` never fetches a compiler the project does not have.
 */
export function plannedChecks(project: { manifest: TemplateManifest | null; files: string[]; packageJson: string | null; hasLocalTsc: boolean }): StaticCheck[] {
  if (project.manifest && Object.keys(project.manifest.checks).length > 0) {
    return KINDS.flatMap((kind) => (project.manifest!.checks[kind] ? [{ kind, command: project.manifest!.checks[kind]! }] : []));
  }
  let scripts: Record<string, unknown> = {};
  try {
    const parsed = project.packageJson === null ? null : (JSON.parse(project.packageJson) as { scripts?: unknown });
    if (parsed && typeof parsed.scripts === "object" && parsed.scripts !== null) scripts = parsed.scripts as Record<string, unknown>;
  } catch {
    // An unreadable package.json has no scripts to run; the dev server check reports the file.
  }
  const checks: StaticCheck[] = [];
  if (typeof scripts.typecheck === "string") checks.push({ kind: "typecheck", command: "npm run typecheck --silent" });
  else if (project.files.includes("tsconfig.json") && project.hasLocalTsc) checks.push({ kind: "typecheck", command: "npx --no-install tsc --noEmit" });
  if (typeof scripts.build === "string") checks.push({ kind: "build", command: "npm run build --silent" });
  if (typeof scripts.lint === "string") checks.push({ kind: "lint", command: "npm run lint --silent" });
  return checks;
}
