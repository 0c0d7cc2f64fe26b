import { invalidArgument } from "../../lib/errors";

/** The largest terminal side Kiln accepts, in rows or columns. */
export const MAX_TERMINAL_SIDE = 1000;

/** Refuses a terminal size that is not a whole number of rows and columns from 1 to {@link MAX_TERMINAL_SIDE}. */
export function checkTerminalSize(rows: unknown, cols: unknown): { rows: number; cols: number } {
  for (const [field, value] of [["rows", rows], ["cols", cols]] as const) {
    if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > MAX_TERMINAL_SIDE) {
      throw invalidArgument(field, `must be a whole number from 1 to ${MAX_TERMINAL_SIDE}, got ${JSON.stringify(value)}`);
    }
  }
  return { rows: rows as number, cols: cols as number };
}

/** The environment a local terminal's shell adds to the sandbox's: a real terminal type, and history kept out of the project (it is backed up). */
export const TERMINAL_ENV: Record<string, string> = { TERM: "xterm-256color", HISTFILE: "/tmp/.bash_history" };

/**
 * The command line of a local terminal, run by the toolbox like any command (same namespaces, user,
 * network and limits) with its stdin and a size pipe on fd 4. util-linux `script` puts an interactive
 * bash on a pseudo-terminal; each "rows cols" line on fd 4 is applied with `stty` to the terminal of
 * script's child (the size loop and script are this shell's children). With a pipe for stdin, script
 * outlives its child until that pipe ends, so the child's last act is to end script (after a moment for
 * its last output to be copied), and the bash's exit status is handed back through a file.
 * Only the two checked integers are written into it.
 */
export function terminalCommand(rows: number, cols: number): string {
  const size = checkTerminalSize(rows, cols);
  return [
    "shell=$$",
    "status=$(mktemp)",
    "exec 2>/dev/null",
    "( while read -r rows cols; do",
    '    for child in $(cat "/proc/$shell/task/$shell/children"); do',
    '      for pty in $(cat "/proc/$child/task/$child/children"); do',
    '        tty=$(readlink "/proc/$pty/fd/0")',
    '        case "$tty" in /dev/pts/*) stty -F "$tty" rows "$rows" cols "$cols" ;; esac',
    "      done",
    "    done",
    "  done ) <&4 4<&- >/dev/null &",
    `script -qfc "stty rows ${size.rows} cols ${size.cols}; bash -il; echo \\$? > $status; sleep 0.2; kill -KILL \\$PPID" /dev/null 4<&-`,
    'exit "$(cat "$status" || echo 1)"',
  ].join("\n");
}
