import type { Doc } from "../bson-values.js";
import type { CursorRegistry } from "../cursors.js";
import type { Store } from "../store.js";

/** What a command handler can see and change. */
export interface CommandContext {
  readonly store: Store;
  readonly cursors: CursorRegistry;
  /** The database the command was sent to (`$db`). */
  readonly databaseName: string;
  readonly connectionId: number;
}

/** Runs one command and returns its reply; failures are thrown as CommandError. */
export type CommandHandler = (command: Doc, context: CommandContext) => Doc;
