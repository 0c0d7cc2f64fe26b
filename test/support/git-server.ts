import { execFileSync, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";

/** A git smart-HTTP server (git's own `http-backend`) for tests: anyone clones, a push (or any request for a `private-*` repository) needs the token. */
export interface TestGitServer {
  /** `http://<address>:<port>`: repositories are `<url>/<name>.git`. */
  url: string;
  /** Where the bare repositories live (`<root>/<name>.git`). */
  root: string;
  /** The same server on the host's loopback (`http://127.0.0.1:<port>`), which no sandbox reaches. */
  loopbackUrl: string;
  /** Every `Authorization` header the server was sent. */
  authorizations: string[];
  /** Makes a bare repository of one commit on `main` from the files `write` puts in a work tree; its URL. */
  createRepository(name: string, write: (workTree: string) => void): string;
  /** An empty bare repository to push to; its URL. */
  emptyRepository(name: string): string;
  /** `git` run on a bare repository, its output. */
  git(name: string, ...args: string[]): string;
  close(): Promise<void>;
}

/**
 * The host's first non-loopback IPv4 address. A local sandbox reaches the host only there: its network
 * has the host's loopback disabled, as it must (databases and Kiln's API listen on 127.0.0.1).
 */
export function hostAddress(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  throw new Error("this machine has no non-loopback IPv4 address for a sandbox to reach the test git server on");
}

const GIT_ENV = { GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null", HOME: "/nonexistent", PATH: process.env.PATH ?? "/usr/bin:/bin" };

/** Starts the server on the host's non-loopback address; `token` is the password a push must give. */
export async function startGitServer(token: string): Promise<TestGitServer> {
  const root = await mkdtemp(join(tmpdir(), "kiln-git-"));
  const authorizations: string[] = [];
  const expected = (header: string) => {
    const [scheme, encoded] = header.split(" ");
    return scheme === "Basic" && Buffer.from(encoded ?? "", "base64").toString().split(":").slice(1).join(":") === token;
  };
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://git");
    const header = req.headers.authorization;
    if (header) authorizations.push(header);
    const push = url.searchParams.get("service") === "git-receive-pack" || url.pathname.endsWith("/git-receive-pack");
    const isPrivate = url.pathname.startsWith("/private-");
    if ((push || isPrivate) && !(header && expected(header))) {
      res.writeHead(401, { "WWW-Authenticate": 'Basic realm="test"' }).end();
      return;
    }
    const cgi = spawn("git", ["http-backend"], {
      env: {
        ...GIT_ENV,
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: "1",
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: req.method ?? "GET",
        CONTENT_TYPE: req.headers["content-type"] ?? "",
        ...(req.headers["content-encoding"] ? { HTTP_CONTENT_ENCODING: String(req.headers["content-encoding"]) } : {}),
        ...(push ? { REMOTE_USER: "pusher" } : {}),
        REMOTE_ADDR: req.socket.remoteAddress ?? "",
      },
    });
    req.pipe(cgi.stdin);
    let head = Buffer.alloc(0);
    let headDone = false;
    cgi.stdout.on("data", (chunk: Buffer) => {
      if (headDone) return void res.write(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      headDone = true;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString().split("\r\n")) {
        const colon = line.indexOf(":");
        const [key, value] = [line.slice(0, colon).trim(), line.slice(colon + 1).trim()];
        if (key.toLowerCase() === "status") status = Number.parseInt(value, 10);
        else headers[key] = value;
      }
      res.writeHead(status, headers);
      res.write(head.subarray(end + 4));
    });
    cgi.on("close", () => res.end());
  };
  const server: Server = createServer(handle);
  const loopback: Server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, hostAddress(), resolve));
  await new Promise<void>((resolve) => loopback.listen(0, "127.0.0.1", resolve));
  const { address, port } = server.address() as AddressInfo;

  const git = (name: string, ...args: string[]) => execFileSync("git", [`--git-dir=${join(root, `${name}.git`)}`, ...args], { env: GIT_ENV }).toString();
  return {
    url: `http://${address}:${port}`,
    loopbackUrl: `http://127.0.0.1:${(loopback.address() as AddressInfo).port}`,
    root,
    authorizations,
    git,
    createRepository(name, write) {
      const work = join(root, `${name}.work`);
      execFileSync("git", ["init", "-q", "-b", "main", work], { env: GIT_ENV });
      write(work);
      const inWork = (...args: string[]) => execFileSync("git", ["-C", work, ...args], { env: { ...GIT_ENV, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" } });
      inWork("add", "-A", "-f", ".");
      inWork("commit", "-q", "-m", "initial");
      execFileSync("git", ["clone", "-q", "--bare", work, join(root, `${name}.git`)], { env: GIT_ENV });
      return `http://${address}:${port}/${name}.git`;
    },
    emptyRepository(name) {
      execFileSync("git", ["init", "-q", "--bare", "-b", "main", join(root, `${name}.git`)], { env: GIT_ENV });
      return `http://${address}:${port}/${name}.git`;
    },
    async close() {
      await Promise.all([server, loopback].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
      await rm(root, { recursive: true, force: true });
    },
  };
}
