import type { Doc } from "../bson-values.js";
import { CommandError } from "../errors.js";
import { adminCommands } from "./admin.js";
import { catalogCommands } from "./catalog.js";
import type { CommandContext, CommandHandler } from "./context.js";
import { readCommands } from "./read.js";
import { writeCommands } from "./write.js";

const COMMANDS: Record<string, CommandHandler> = { ...adminCommands, ...readCommands, ...writeCommands, ...catalogCommands };

/** A command's name: the first field of the command document. */
export function commandName(command: Doc): string {
  return Object.keys(command)[0] ?? "";
}

/**
 * Runs a command and always returns a reply document: failures become `{ok: 0, ...}` replies,
 * unexpected exceptions included (as InternalError), so a bug in the fake is visible to the test.
 */
export function runCommand(command: Doc, context: CommandContext): Doc {
  const name = commandName(command);
  try {
    const handler = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
    if (!handler) throw new CommandError("CommandNotFound", `no such command: '${name}'`);
    return handler(command, context);
  } catch (error) {
    if (error instanceof CommandError) return error.toReply();
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    return new CommandError("InternalError", `fake MongoDB server failed on ${name}: ${message}`).toReply();
  }
}
