import type { AgentBackup, AgentFinisher, AgentSandbox, PendingBackups } from "../ports";
import type { Tool } from "../tool";
import { executeCommand } from "./commands";
import { attemptCompletion } from "./completion";
import { listFiles, readFile, replaceInFile, searchFiles, writeToFile } from "./files";

/** What the agent's tools act on. */
export interface ToolDeps {
  sandbox: AgentSandbox;
  backup: AgentBackup;
  backups: PendingBackups;
  finisher: AgentFinisher;
  commandTimeouts: { defaultTimeoutSeconds: number; maxTimeoutSeconds: number };
}

/** The one tool registry: every tool offered to the model is implemented here, nowhere else. */
export function createTools(deps: ToolDeps): Tool[] {
  return [
    writeToFile(deps.sandbox, deps.backups),
    readFile(deps.sandbox, deps.backup),
    replaceInFile(deps.sandbox, deps.backups),
    listFiles(deps.sandbox),
    searchFiles(deps.sandbox),
    executeCommand(deps.sandbox, deps.commandTimeouts),
    attemptCompletion(deps.backups, deps.finisher),
  ];
}
