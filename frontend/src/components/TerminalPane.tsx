import { FitAddon } from "@xterm/addon-fit";
import { Terminal } from "@xterm/xterm";
import "@xterm/xterm/css/xterm.css";
import { useCallback, useEffect, useRef, useState } from "react";
import type { TerminalServerMessage, TerminalTicket } from "../../../workspace/contract";
import { isApiError } from "../api/errors";
import { useApi } from "../auth";

/** Characters of one input message: a long paste goes in pieces under the server's input limit (64 KiB by default). */
const INPUT_CHUNK = 8 * 1024;
/** The longest wait between two attempts to reattach after the socket dropped. */
const MAX_RETRY_MS = 10_000;

/** The terminal each project's tab was showing: switching tabs or reloading reattaches to it while it lives. */
const lastTerminal = new Map<string, string>();

type Phase = { kind: "connecting" } | { kind: "open" } | { kind: "retrying"; inMs: number } | { kind: "ended"; text: string } | { kind: "failed"; text: string };

function phaseText(phase: Phase): string {
  if (phase.kind === "connecting") return "Connecting to the sandbox…";
  if (phase.kind === "open") return "Connected: a shell in the project's sandbox";
  if (phase.kind === "retrying") return `Connection lost: reconnecting in ${Math.ceil(phase.inMs / 1000)} s…`;
  return phase.text;
}

function socketUrl(ticket: TerminalTicket): string {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${window.location.host}${ticket.socketPath}?ticket=${encodeURIComponent(ticket.ticket)}`;
}

/**
 * The Terminal tab: an xterm.js terminal on a shell in the project's live sandbox, over a WebSocket
 * opened with a single-use ticket. Keys, pastes and size changes go to the shell; its output (untrusted)
 * is only ever drawn by xterm.js. A dropped socket reattaches to the same live terminal (its scrollback
 * first), with backoff; "New terminal" opens another.
 */
export function TerminalPane({ projectId }: { projectId: string }) {
  const api = useApi();
  const host = useRef<HTMLDivElement>(null);
  const [phase, setPhase] = useState<Phase>({ kind: "connecting" });
  const [generation, setGeneration] = useState(0);

  const newTerminal = useCallback(() => {
    lastTerminal.delete(projectId);
    setGeneration((n) => n + 1);
  }, [projectId]);

  useEffect(() => {
    const term = new Terminal({ cursorBlink: true, scrollback: 5000, fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace", fontSize: 13 });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(host.current!);
    fit.fit();
    let socket: WebSocket | undefined;
    let disposed = false;
    let retryMs = 1000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const send = (message: object) => {
      if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
    };

    const retry = () => {
      if (disposed) return;
      setPhase({ kind: "retrying", inMs: retryMs });
      timer = setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
    };

    async function ticketFor(): Promise<TerminalTicket> {
      const known = lastTerminal.get(projectId);
      try {
        return await api.projects.openTerminal({ id: projectId, terminalId: known, rows: term.rows, cols: term.cols });
      } catch (err) {
        // The terminal it showed has ended since (idle, the sandbox stopped): a new one.
        if (known && isApiError(err) && err.code === "not_found") {
          lastTerminal.delete(projectId);
          term.reset();
          return api.projects.openTerminal({ id: projectId, rows: term.rows, cols: term.cols });
        }
        throw err;
      }
    }

    async function connect() {
      if (disposed) return;
      setPhase({ kind: "connecting" });
      let ticket: TerminalTicket;
      try {
        ticket = await ticketFor();
      } catch (err) {
        if (isApiError(err) && err.status < 500 && err.code !== "unavailable") return setPhase({ kind: "failed", text: err.message });
        return retry();
      }
      if (disposed) return;
      const reattaching = lastTerminal.get(projectId) === ticket.terminalId;
      lastTerminal.set(projectId, ticket.terminalId);
      const ws = new WebSocket(socketUrl(ticket));
      socket = ws;
      let settled = false;
      ws.onopen = () => {
        retryMs = 1000;
        // A reattach redraws from the scrollback; the size may have changed meanwhile.
        if (reattaching) term.reset();
        setPhase({ kind: "open" });
        send({ type: "resize", rows: term.rows, cols: term.cols });
        term.focus();
      };
      ws.onmessage = (event) => {
        const message = JSON.parse(String(event.data)) as TerminalServerMessage;
        if (message.type === "output" && typeof message.data === "string") term.write(message.data);
        else if (message.type === "exit") {
          settled = true;
          lastTerminal.delete(projectId);
          setPhase({ kind: "ended", text: `The shell ended${message.exitCode === null || message.exitCode === undefined ? "" : ` (exit code ${message.exitCode})`}.` });
        } else if (message.type === "closed") {
          settled = true;
          if (message.reason !== "replaced") lastTerminal.delete(projectId);
          setPhase({ kind: "ended", text: message.message ?? "The terminal was closed." });
        }
      };
      ws.onclose = () => {
        if (socket === ws && !settled && !disposed) retry();
      };
    }

    const input = term.onData((data) => {
      for (let at = 0; at < data.length; at += INPUT_CHUNK) send({ type: "input", data: data.slice(at, at + INPUT_CHUNK) });
    });
    const resize = term.onResize(({ rows, cols }) => send({ type: "resize", rows, cols }));
    const observer = new ResizeObserver(() => fit.fit());
    observer.observe(host.current!);
    void connect();
    return () => {
      disposed = true;
      clearTimeout(timer);
      observer.disconnect();
      input.dispose();
      resize.dispose();
      socket?.close();
      term.dispose();
    };
  }, [api, projectId, generation]);

  return (
    <div className="terminal-pane" data-testid="terminal-pane" style={{ display: "flex", flexDirection: "column", gap: 8, height: "100%", minHeight: 420 }}>
      <div className="logs-head">
        <span className="logs-state" role="status" data-testid="terminal-status" data-phase={phase.kind}>
          {phaseText(phase)}
        </span>
        <span className="spacer" />
        {(phase.kind === "ended" || phase.kind === "failed") && (
          <button className="btn btn-small" onClick={() => setGeneration((n) => n + 1)} data-testid="terminal-reconnect">
            Open again
          </button>
        )}
        <button className="btn btn-small" onClick={newTerminal} data-testid="terminal-new">
          New terminal
        </button>
      </div>
      <div className="terminal-host" ref={host} data-testid="terminal-host" aria-label="Terminal" style={{ flex: 1, minHeight: 380, background: "#000", padding: 6, borderRadius: 6 }} />
    </div>
  );
}
