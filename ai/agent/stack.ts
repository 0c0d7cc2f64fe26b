/** What Kiln detected about how a project runs. */
export interface Stack {
  packageManager: "npm" | "pnpm" | "yarn" | "bun" | null;
  framework: string;
  installCommand: string | null;
  devCommand: string | null;
  port: number | null;
}

const LOCKFILES: [string, Stack["packageManager"]][] = [
  ["pnpm-lock.yaml", "pnpm"],
  ["yarn.lock", "yarn"],
  ["bun.lockb", "bun"],
  ["bun.lock", "bun"],
  ["package-lock.json", "npm"],
];

/** Frameworks by dependency, in order of precedence, with their dev servers' default ports. */
const FRAMEWORKS: [dependency: string, framework: string, port: number][] = [
  ["next", "next", 3000],
  ["astro", "astro", 4321],
  ["@sveltejs/kit", "sveltekit", 5173],
  ["nuxt", "nuxt", 3000],
  ["vite", "vite", 5173],
  ["react-scripts", "create-react-app", 3000],
  ["express", "express", 3000],
  ["fastify", "fastify", 3000],
];

interface PackageJson {
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

function explicitPort(script: string): number | null {
  const match = /(?:--port[= ]|-p )(\d{2,5})\b/.exec(script) ?? /\bPORT=(\d{2,5})\b/.exec(script);
  return match ? Number(match[1]) : null;
}

/**
 * Detects package manager, framework, dev command and port from the project's file list and its
 * package.json (null when there is none: a static site, served by a plain HTTP server).
 */
export function detectStack(files: string[], packageJsonText: string | null): Stack {
  const present = new Set(files);
  if (packageJsonText === null) {
    const hasIndex = present.has("index.html");
    return {
      packageManager: null,
      framework: hasIndex ? "static" : "unknown",
      installCommand: null,
      devCommand: hasIndex ? 'python3 -m http.server "$PORT" --bind 0.0.0.0' : null,
      port: null,
    };
  }
  let pkg: PackageJson;
  try {
    pkg = JSON.parse(packageJsonText) as PackageJson;
  } catch {
    return { packageManager: "npm", framework: "unknown", installCommand: "npm install", devCommand: null, port: null };
  }
  const packageManager = LOCKFILES.find(([file]) => present.has(file))?.[1] ?? "npm";
  const dependencies = { ...pkg.dependencies, ...pkg.devDependencies };
  const known = FRAMEWORKS.find(([dependency]) => dependency in dependencies);
  const script = pkg.scripts?.dev !== undefined ? "dev" : pkg.scripts?.start !== undefined ? "start" : null;
  const run = packageManager === "npm" && script === "start" ? "npm start" : script ? `${packageManager} run ${script}` : null;
  const port = (script && explicitPort(pkg.scripts![script]!)) ?? known?.[2] ?? null;
  return {
    packageManager,
    framework: known?.[1] ?? "node",
    installCommand: `${packageManager} install`,
    devCommand: run,
    port,
  };
}
