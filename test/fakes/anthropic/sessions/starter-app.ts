import { lastToolResults, text, toolUse, type ScriptFunction, type Turn } from "../script";
import { HELLO_PAGE_HEADING, sessionPosition, shaOf } from "./hello-app";

/**
 * A scripted agent session that works like a real model on the vite-react template: the starter is
 * already running (its preview is up before this session's first answer), so it reads the app shell,
 * adds a component (with a type error), runs the template's typecheck, reads the error, fixes it with
 * replace_in_file, checks again, puts the component into the page and completes; Vite's hot reload shows
 * every step. A follow-up edits the page and completes again. Stateless, like hello-app.
 */

const BUGGY_GREETING = `export function Greeting({ name }: { name: string }) {
  const words = ["Hello", "from", name];
  return <h1 className="text-4xl font-bold tracking-tight text-balance sm:text-5xl">{word.join(" ")}</h1>;
}
`;

const APP = `import { Greeting } from "./components/Greeting";

export default function App() {
  return (
    <main className="mx-auto flex min-h-svh max-w-3xl flex-col justify-center gap-4 px-6 py-16">
      <Greeting name="Kiln" />
      <p className="text-lg text-slate-600">Built by a scripted agent on the vite-react template, live in a sandbox.</p>
    </main>
  );
}
`;

const TYPECHECK = "npx tsc --noEmit -p tsconfig.json";

function firstBuild(step: number, last: ReturnType<typeof lastToolResults>): Turn {
  switch (step) {
    case 0:
      return { content: [text("The starter is already live. I'll read the app shell before changing it."), toolUse("read_file", { path: "src/App.tsx" })] };
    case 1:
      return { content: [text("A greeting component first."), toolUse("write_to_file", { path: "src/components/Greeting.tsx", content: BUGGY_GREETING })] };
    case 2:
      return { content: [text("Checking the types."), toolUse("execute_command", { command: TYPECHECK })] };
    case 3:
      return { content: [text("A typo in the component: reading it."), toolUse("read_file", { path: "src/components/Greeting.tsx" })] };
    case 4:
      return {
        content: [
          toolUse("replace_in_file", { path: "src/components/Greeting.tsx", old: '{word.join(" ")}', new: '{words.join(" ")}', expected_sha256: shaOf(last[0]?.text) }),
        ],
      };
    case 5:
      return { content: [text("Now the page itself."), toolUse("write_to_file", { path: "src/App.tsx", content: APP })] };
    case 6:
      return { content: [toolUse("execute_command", { command: `${TYPECHECK} && echo types ok` })] };
    default:
      return { content: [text("The page is ready."), toolUse("attempt_completion", { summary: `A page saying ${HELLO_PAGE_HEADING}, made from the vite-react starter.` })] };
  }
}

function followUp(step: number, last: ReturnType<typeof lastToolResults>, prompt: string): Turn {
  switch (step) {
    case 0:
      return { content: [text("Reading the page before changing it."), toolUse("read_file", { path: "src/App.tsx" })] };
    case 1:
      return {
        content: [
          toolUse("replace_in_file", {
            path: "src/App.tsx",
            old: "live in a sandbox.</p>",
            new: `live in a sandbox.</p>\n      <p className="text-slate-500">Follow-up: ${prompt.replace(/[<>&{}"]/g, "")}</p>`,
            expected_sha256: shaOf(last[0]?.text),
          }),
        ],
      };
    default:
      return { content: [toolUse("attempt_completion", { summary: "Updated the page as asked." })] };
  }
}

/** The session, as a script for the fake Messages API. */
export const starterAppSession: ScriptFunction = (request) => {
  const { step, followUp: isFollowUp, prompt } = sessionPosition(request);
  const last = lastToolResults(request);
  return isFollowUp ? followUp(step, last, prompt) : firstBuild(step, last);
};
