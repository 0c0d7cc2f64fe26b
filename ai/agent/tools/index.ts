import type { CompletionGate } from "../../checks/report";
import type { AgentBackup, AgentChecker, AgentSandbox, PendingBackups } from "../ports";
import type { Tool } from "../tool";
import { executeCommand } from "./commands";
import { attemptCompletion, checkApp, type CompletionDeps } from "./completion";
import { listFiles, readFile, replaceInFile, searchFiles, writeToFile } from "./files";

/** What the agent's tools act on. */
export interface ToolDeps {
  sandbox: AgentSandbox;
  backup: AgentBackup;
  backups: PendingBackups;
  checker: AgentChecker;
  gate: CompletionGate;
  onPassed: CompletionDeps["onPassed"];
  commandTimeouts: { defaultTimeoutSeconds: number; maxTimeoutSeconds: number };
}

/** The one tool registry: every tool offered to the model is implemented here, nowhere else. */
export function createTools(deps: ToolDeps): Tool[] {
  const completion: CompletionDeps = { backups: deps.backups, checker: deps.checker, gate: deps.gate, onPassed: deps.onPassed };
  return [
    writeToFile(deps.sandbox, deps.backups),
    readFile(deps.sandbox, deps.backup),
    replaceInFile(deps.sandbox, deps.backups),
    listFiles(deps.sandbox),
    searchFiles(deps.sandbox),
    executeCommand(deps.sandbox, deps.commandTimeouts),
    checkApp(completion),
    attemptCompletion(completion),
  ];
}
