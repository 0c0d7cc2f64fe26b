/**
 * Preview links of Daytona sandboxes for browsers. A private sandbox's standard preview token also opens
 * its toolbox (commands, files), and a browser cannot send it as a header anyway: browsers get signed
 * preview URLs instead (`sandbox.getSignedPreviewUrl(port, ttl)`: one port, a TTL, revocable), and the
 * standard token never leaves the provider. Public sandboxes (KILN_DAYTONA_PUBLIC) get their plain link.
 * Every signed link is recorded in a label of its sandbox before it is handed out, so whichever Kiln
 * process stops the sandbox, after any number of restarts, finds and revokes it.
 */
import type { Sandbox } from "@daytonaio/sdk";
import { AppError } from "../../lib/errors";
import type { Logger } from "../../lib/log";
import { messageOf, statusOf } from "./daytona-errors";
import type { PreviewLink } from "./provider";

/** The bounds Daytona puts on a signed URL's TTL. */
export const SIGNED_TTL_SECONDS = { min: 60, max: 86_400 } as const;

/**
 * The sandbox label listing the signed links handed out for it and not revoked yet, as
 * `port/token/expiry seconds` separated by commas. It holds signed tokens only (each opens one port's
 * preview, which whoever can read labels could sign for themselves); never the standard token.
 */
export const SIGNED_LINKS_LABEL = "kiln.signed-previews";
/** The most links one sandbox's label lists: signing past it revokes the oldest, so none is left unrecorded. */
const MAX_RECORDED = 16;
/** What a signed token must look like to be recorded (and parsed back): nothing that could break the label's format. */
const TOKEN = /^[A-Za-z0-9_-]{1,200}$/;

/** A signed link whose token any process can revoke. */
interface RecordedLink {
  token: string;
  port: number;
  /** Epoch milliseconds. */
  expiresAt: number;
}

interface SignedLink extends RecordedLink {
  url: string;
}

/** The links a sandbox's label lists (malformed entries are skipped: the label is only ever Kiln's). */
function recordedIn(labels: Record<string, string> | undefined): RecordedLink[] {
  return (labels?.[SIGNED_LINKS_LABEL] ?? "").split(",").flatMap((entry) => {
    const [port, token, seconds] = entry.split("/");
    const link = { port: Number(port), token: token ?? "", expiresAt: Number(seconds) * 1000 };
    return Number.isInteger(link.port) && TOKEN.test(link.token) && Number.isFinite(link.expiresAt) ? [link] : [];
  });
}

/** A URL from Daytona, checked before a browser is sent there: http(s), no credentials in it. */
function checkedUrl(url: unknown): string {
  let parsed: URL;
  try {
    parsed = new URL(String(url));
  } catch {
    throw new AppError("internal", "Daytona answered a preview link that is not a URL");
  }
  if ((parsed.protocol !== "https:" && parsed.protocol !== "http:") || parsed.username !== "" || parsed.password !== "") {
    throw new AppError("internal", `Daytona answered a preview link Kiln will not hand out (${parsed.protocol}//${parsed.host})`);
  }
  return parsed.href;
}

/**
 * The signed links this provider handed out, per sandbox and port: reused while more than half their
 * TTL is left (each call would otherwise mint a new one), revoked when the sandbox is stopped or deleted.
 */
export class PreviewLinks {
  private readonly signed = new Map<string, Map<number, SignedLink>>();
  /** Per sandbox, the label change in progress: this process's label writes go one at a time. */
  private readonly writing = new Map<string, Promise<unknown>>();

  constructor(
    private readonly ttlSeconds: number,
    private readonly log: Logger,
  ) {
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < SIGNED_TTL_SECONDS.min || ttlSeconds > SIGNED_TTL_SECONDS.max) {
      throw new AppError("invalid_argument", `previewTtlSeconds: must be a whole number from ${SIGNED_TTL_SECONDS.min} to ${SIGNED_TTL_SECONDS.max}`);
    }
  }

  /** Runs `work` after the sandbox's previous label change in this process has ended. */
  private serially<T>(sandboxId: string, work: () => Promise<T>): Promise<T> {
    const run = (this.writing.get(sandboxId) ?? Promise.resolve()).catch(() => undefined).then(work);
    this.writing.set(sandboxId, run);
    void run.finally(() => this.writing.get(sandboxId) === run && this.writing.delete(sandboxId)).catch(() => undefined);
    return run;
  }

  /**
   * Rewrites the sandbox's label from a fresh read of its labels: `change` gets the unexpired links it
   * lists and says which to keep. Links past {@link MAX_RECORDED} are revoked (oldest first).
   */
  private async rewrite(sandbox: Sandbox, change: (recorded: RecordedLink[]) => Promise<RecordedLink[]>): Promise<void> {
    await sandbox.refreshData();
    const now = Date.now();
    const before = sandbox.labels?.[SIGNED_LINKS_LABEL];
    const kept = await change(recordedIn(sandbox.labels).filter((link) => link.expiresAt > now));
    for (const extra of kept.splice(0, Math.max(0, kept.length - MAX_RECORDED))) await this.expire(sandbox, extra);
    const value = kept.map((link) => `${link.port}/${link.token}/${Math.ceil(link.expiresAt / 1000)}`).join(",");
    if (value === (before ?? "")) return;
    const { [SIGNED_LINKS_LABEL]: _old, ...others } = sandbox.labels ?? {};
    await sandbox.setLabels(value === "" ? others : { ...others, [SIGNED_LINKS_LABEL]: value });
  }

  /** Revokes one signed link; true when it no longer opens anything (one Daytona does not know is as good as revoked). */
  private async expire(sandbox: Sandbox, link: RecordedLink): Promise<boolean> {
    try {
      await sandbox.expireSignedPreviewUrl(link.port, link.token);
      return true;
    } catch (err) {
      if (statusOf(err) === 404) return true;
      this.log.warn("revoking a signed preview link failed", { sandboxId: sandbox.id, port: link.port, reason: messageOf(err) });
      return false;
    }
  }

  /**
   * A signed link to `port` of the sandbox, valid for at least half the TTL. A new one is recorded in
   * the sandbox's label before it is handed out; one that cannot be recorded is revoked and not handed out.
   */
  async signedLink(sandbox: Sandbox, port: number): Promise<PreviewLink & { expiresAt: string }> {
    return this.serially(sandbox.id, async () => {
      const now = Date.now();
      const cached = this.signed.get(sandbox.id)?.get(port);
      if (cached && cached.expiresAt - now > (this.ttlSeconds * 1000) / 2) return { url: cached.url, expiresAt: new Date(cached.expiresAt).toISOString() };
      const answer = await sandbox.getSignedPreviewUrl(port, this.ttlSeconds);
      if (typeof answer?.token !== "string" || !TOKEN.test(answer.token)) throw new AppError("internal", "Daytona answered a signed preview link without a token Kiln can record");
      const link: SignedLink = { url: checkedUrl(answer.url), token: answer.token, port, expiresAt: now + this.ttlSeconds * 1000 };
      try {
        await this.rewrite(sandbox, async (recorded) => [...recorded, link]);
      } catch (err) {
        await this.expire(sandbox, link);
        throw new AppError("unavailable", `Daytona: the signed preview link could not be recorded on sandbox ${sandbox.id}, so it was revoked again: ${messageOf(err)}`);
      }
      const byPort = this.signed.get(sandbox.id) ?? new Map<number, SignedLink>();
      byPort.set(port, link);
      this.signed.set(sandbox.id, byPort);
      return { url: link.url, expiresAt: new Date(link.expiresAt).toISOString() };
    });
  }

  /** The plain link of a public sandbox's port (no token: anyone with the URL may open it). */
  async publicLink(sandbox: Sandbox, port: number): Promise<PreviewLink> {
    return { url: checkedUrl((await sandbox.getPreviewLink(port)).url) };
  }

  /**
   * Revokes every signed link of the sandbox that has not expired yet: those its label lists (handed out
   * by any Kiln process) and those this process remembers. Best effort: a link that could not be revoked
   * is logged and stays listed, for the next stop to try again.
   */
  async revokeAll(sandbox: Sandbox): Promise<void> {
    const remembered = [...(this.signed.get(sandbox.id)?.values() ?? [])];
    this.signed.delete(sandbox.id);
    await this.serially(sandbox.id, async () => {
      try {
        await this.rewrite(sandbox, async (recorded) => {
          const tokens = new Set(recorded.map((link) => link.token));
          const unrevoked: RecordedLink[] = [];
          for (const link of [...recorded, ...remembered.filter((link) => !tokens.has(link.token) && link.expiresAt > Date.now())]) {
            if (!(await this.expire(sandbox, link))) unrevoked.push(link);
          }
          return unrevoked;
        });
      } catch (err) {
        // The label could not be read or written: what this process remembers is still revoked.
        this.log.warn("reading or clearing the signed preview links of a sandbox failed", { sandboxId: sandbox.id, reason: messageOf(err) });
        for (const link of remembered) if (link.expiresAt > Date.now()) await this.expire(sandbox, link);
      }
    });
  }

  /** Forgets a sandbox that no longer exists (its links went with it). */
  forget(sandboxId: string): void {
    this.signed.delete(sandboxId);
  }
}
