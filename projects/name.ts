/** The longest name derived from a prompt, in characters (a name may be up to 100). */
const DERIVED_MAX = 48;
const WORDS_MAX = 6;
/** Words a prompt opens with that say nothing about the app: "Build me a …", "Please create an …". */
const LEAD = /^(?:(?:please|can|could|you|i|i'd|id|would|like|want|need|to|let's|lets|build|create|make|write|generate|code|design|me|us|a|an|the|some|simple|small|little|quick|basic|new)\b[\s,]*)+/i;

/**
 * A project name from its first prompt: its first sentence without the "build me a" opening, up to six
 * words, capitalised — "Build me a todo list with dark mode. It should…" → "Todo list with dark mode".
 * "Untitled project" when nothing is left.
 */
export function nameFromPrompt(prompt: string): string {
  const sentence = prompt.trim().split(/[\n.!?;:]/)[0] ?? "";
  const words = sentence.replace(/<[^>]*>/g, " ").replace(LEAD, "").replace(/["“”`*_#<>[\]{}()]/g, "").split(/\s+/).filter(Boolean);
  let name = words.slice(0, WORDS_MAX).join(" ").replace(/[,\s-]+$/, "");
  if (name.length > DERIVED_MAX) name = `${name.slice(0, DERIVED_MAX).replace(/\s+\S*$/, "")}…`;
  return name ? name[0]!.toUpperCase() + name.slice(1) : "Untitled project";
}
