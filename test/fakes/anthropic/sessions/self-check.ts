import { text, toolUse, type ScriptFunction, type Turn } from "../script";
import { sessionPosition } from "./hello-app";

/** A mistake a model makes, what Kiln's check must say about it, and the fix. */
export interface CheckFault {
  /** The files that carry the mistake (written first). */
  broken: Record<string, string>;
  /** The files that fix it. */
  fixed: Record<string, string>;
  /** What the refused completion's report must name. */
  reported: RegExp;
}

const app = (body: string, before = "") => `${before}export default function App() {
${body}
}
`;
const page = (inner: string) => `  return (
    <main className="mx-auto max-w-3xl px-6 py-16">
      <h1 className="text-4xl font-bold">Weekend tasks</h1>
${inner}
    </main>
  );`;

const WORKING_APP = app(page(`      <ul className="mt-6 list-disc pl-6"><li>Water the plants</li><li>Call grandma</li></ul>`));

/** The faults of issue 14's tests, on the vite-react template (and a plain Node server for the crash). */
export const FAULTS: Record<string, CheckFault> = {
  typeError: {
    broken: { "src/App.tsx": app(`  const count: number = "three";\n${page(`      <p>{count} tasks left</p>`)}`) },
    fixed: { "src/App.tsx": WORKING_APP },
    reported: /Typecheck \(npx tsc --noEmit -p tsconfig\.json\):\n- src\/App\.tsx:2:9 TS2322: Type 'string' is not assignable to type 'number'/,
  },
  buildError: {
    broken: { "src/App.tsx": app(page(`      <ul><li>Water the plants</li></ul>`), `import { TaskList } from "./components/TaskList";\n`) },
    fixed: { "src/App.tsx": WORKING_APP },
    reported: /Build \(npm run build\):\n- src\/App\.tsx:1:\d+ \[UNRESOLVED_IMPORT\] Could not resolve '\.\/components\/TaskList'/,
  },
  exceptionAtLoad: {
    broken: { "src/App.tsx": app(`  const tasks = (window as unknown as { savedTasks: string[] }).savedTasks;\n${page(`      <ul>{tasks.map((t) => <li key={t}>{t}</li>)}</ul>`)}`) },
    fixed: { "src/App.tsx": WORKING_APP },
    reported: /Browser \(\/\):\n- uncaught TypeError: Cannot read properties of undefined \(reading 'map'\)/,
  },
  consoleError: {
    broken: { "src/App.tsx": app(`  useEffect(() => console.error("Could not load the saved tasks"), []);\n${page(`      <p>No tasks yet</p>`)}`, `import { useEffect } from "react";\n`) },
    fixed: { "src/App.tsx": WORKING_APP },
    reported: /- console\.error: Could not load the saved tasks/,
  },
  missingAsset: {
    broken: { "src/App.tsx": app(page(`      <img src="/hero-plants.png" alt="Plants on a windowsill" width="320" height="200" />`)) },
    fixed: { "src/App.tsx": WORKING_APP },
    reported: /- missing file: \/hero-plants\.png \(the image request got the app's HTML page/,
  },
  blankPage: {
    broken: { "src/App.tsx": app("  return null;") },
    fixed: { "src/App.tsx": WORKING_APP },
    reported: /- the page is blank/,
  },
  devServerCrash: {
    broken: {
      "package.json": JSON.stringify({ name: "tasks", private: true, scripts: { dev: "node server.js" } }, null, 2),
      "server.js": `const port = Number(process.env.PROT);\nif (!port) throw new Error("no port to listen on: PROT is not set");\n`,
    },
    fixed: {
      "server.js": `require("node:http").createServer((req, res) => { res.writeHead(200, { "content-type": "text/html" }); res.end("<h1>Weekend tasks</h1>"); }).listen(Number(process.env.PORT), "0.0.0.0");\n`,
    },
    reported: /Dev server \(the project's dev command\):[\s\S]*no port to listen on: PROT is not set/,
  },
};

const writes = (files: Record<string, string>) => Object.entries(files).map(([path, content]) => toolUse("write_to_file", { path, content }));

/**
 * A model that makes one mistake, calls attempt_completion, reads Kiln's report, fixes the mistake and
 * completes. With `fixes: false` it never fixes and keeps trying to complete (the gate must end it).
 */
export function selfCheckSession(fault: CheckFault, options: { fixes: boolean } = { fixes: true }): ScriptFunction {
  return (request) => {
    const { step } = sessionPosition(request);
    const complete: Turn = { content: [toolUse("attempt_completion", { summary: "A weekend task list." })] };
    if (step === 0) return { content: [text("Building the task list."), ...writes(fault.broken)] };
    if (step === 1 || !options.fixes) return complete;
    if (step === 2) return { content: [text("The check found a problem; fixing it."), ...writes(fault.fixed)] };
    return complete;
  };
}
