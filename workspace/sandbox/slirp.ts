import { spawn, type ChildProcess } from "node:child_process";
import { connect } from "node:net";
import type { Readable, Writable } from "node:stream";
import { AppError } from "../../lib/errors";

/** How long slirp4netns may take to bring the sandbox's interface up. */
const READY_TIMEOUT_MS = 10_000;
const API_TIMEOUT_MS = 5000;
/** The nameserver slirp4netns answers on inside the sandbox (it forwards to the host's resolver). */
export const SANDBOX_NAMESERVER = "10.0.2.3";

/**
 * A sandbox's private network: slirp4netns attached to its network namespace, with outbound TCP/UDP
 * through a user-mode stack, the host's loopback unreachable (`--disable-host-loopback`), and previews
 * reaching the host only through the port forwards added here. slirp4netns runs sandboxed itself
 * (`--enable-sandbox`, `--enable-seccomp`) and exits with the server (`--exit-fd`).
 */
export class SandboxNetwork {
  private readonly forwards = new Map<number, Promise<void>>();

  private constructor(
    private readonly child: ChildProcess,
    private readonly apiSocket: string,
    private readonly bindAddress: string,
  ) {}

  /** Attaches slirp4netns to the network namespace of `pid` (a process of the sandbox) and waits until the interface is up. */
  static async attach(slirp: string, pid: number, apiSocket: string, bindAddress: string): Promise<SandboxNetwork> {
    const args = [
      ...["--configure", "--mtu=65520", "--disable-host-loopback", "--enable-sandbox", "--enable-seccomp"],
      ...["--ready-fd=3", "--exit-fd=4", `--api-socket=${apiSocket}`, `--userns-path=/proc/${pid}/ns/user`, "--netns-type=path", `/proc/${pid}/ns/net`, "tap0"],
    ];
    const child = spawn(slirp, args, { env: { PATH: "/usr/bin:/bin" }, stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] });
    let stderr = "";
    (child.stderr as Readable).on("data", (chunk: Buffer) => {
      if (stderr.length < 4000) stderr += chunk.toString("utf8");
    });
    (child.stdio[4] as Writable).on("error", () => {});
    const network = new SandboxNetwork(child, apiSocket, bindAddress);
    const ready = new Promise<void>((resolve, reject) => {
      const fail = (why: string) => reject(new AppError("unavailable", `the sandbox's network could not be set up: ${why}${stderr.trim() ? ` (${stderr.trim().split("\n").pop()})` : ""}`));
      (child.stdio[3] as Readable).once("data", () => resolve());
      child.once("error", (err) => fail(err.message));
      child.once("exit", (code) => fail(`slirp4netns exited with ${code}`));
      setTimeout(() => fail(`slirp4netns was not ready within ${READY_TIMEOUT_MS / 1000} s`), READY_TIMEOUT_MS).unref();
    });
    try {
      await ready;
    } catch (err) {
      network.close();
      throw err;
    }
    return network;
  }

  /**
   * Forwards `port` of the host (on the bind address) to the same port inside the sandbox, once. Refused
   * when the host port is taken by another program: a preview must never show someone else's server.
   */
  forward(port: number): Promise<void> {
    let added = this.forwards.get(port);
    if (!added) {
      added = this.api({ execute: "add_hostfwd", arguments: { proto: "tcp", host_addr: this.bindAddress, host_port: port, guest_port: port } }).then((reply) => {
        if (reply.error !== undefined) {
          throw new AppError("unavailable", `port ${port} of ${this.bindAddress} cannot be forwarded to the sandbox: another program on this machine is using it`, { port });
        }
      });
      added.catch(() => this.forwards.delete(port));
      this.forwards.set(port, added);
    }
    return added;
  }

  private api(request: object): Promise<{ error?: unknown; return?: unknown }> {
    return new Promise((resolve, reject) => {
      const socket = connect(this.apiSocket);
      let reply = "";
      const fail = (why: string) => {
        socket.destroy();
        reject(new AppError("unavailable", `the sandbox's network did not answer: ${why}`));
      };
      socket.setTimeout(API_TIMEOUT_MS, () => fail("timed out"));
      socket.on("connect", () => socket.end(JSON.stringify(request)));
      socket.on("data", (chunk) => (reply += chunk.toString("utf8")));
      socket.on("error", (err) => fail(err.message));
      socket.on("end", () => {
        try {
          resolve(JSON.parse(reply) as { error?: unknown; return?: unknown });
        } catch {
          fail("a reply that is not JSON");
        }
      });
    });
  }

  /** Stops slirp4netns (its forwards close with it). */
  close(): void {
    (this.child.stdio[4] as Writable).destroy();
    this.child.kill("SIGKILL");
  }
}
