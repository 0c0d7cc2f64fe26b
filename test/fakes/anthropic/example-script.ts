/**
 * An example Script module for cli.ts (also used by its test): a tool call, then a closing text.
 */
import { text, toolUse, type Script } from "./script";

const script: Script = [
  { content: [text("Let me look at the project."), toolUse("list_files", { path: "." })] },
  { content: [text("All done.")] },
];

export default script;
