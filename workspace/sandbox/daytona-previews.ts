/**
 * Preview links of Daytona sandboxes for browsers. A private sandbox's standard preview token also opens
 * its toolbox (commands, files), and a browser cannot send it as a header anyway: browsers get signed
 * preview URLs instead (`sandbox.getSignedPreviewUrl(port, ttl)`: one port, a TTL, revocable), and the
 * standard token never leaves the provider. Public sandboxes (KILN_DAYTONA_PUBLIC) get their plain link.
 * Every signed link is recorded in a label of its sandbox before it is handed out, so whichever Kiln
 * process stops the sandbox, after any number of restarts, finds and revokes it. The share gateway's
 * links are signed apart from the owner's (its audience): revoking a share link revokes them, so a
 * visitor who read one (the app sees it in its Host header) loses the preview with the share link,
 * while the owner's dashboard keeps its own.
 */
import type { Sandbox } from "@daytonaio/sdk";
import { AppError } from "../../lib/errors";
import type { Logger } from "../../lib/log";
import type { PreviewAudience, RevokedPreviewLinks } from "../contract";
import { messageOf, statusOf } from "./daytona-errors";
import type { PreviewLink } from "./provider";

/** The bounds Daytona puts on a signed URL's TTL. */
export const SIGNED_TTL_SECONDS = { min: 60, max: 86_400 } as const;

/**
 * The sandbox label listing the signed links handed out for it and not revoked yet, as
 * `port/token/expiry seconds` (the owner's) or `port/token/expiry seconds/s` (the share gateway's) or
 * `.../r` (revoked by Kiln, not yet by Daytona: never handed out again), separated by commas. It holds
 * signed tokens only (each opens one port's preview, which whoever can read labels could sign for
 * themselves); never the standard token.
 */
export const SIGNED_LINKS_LABEL = "kiln.signed-previews";
/** The most links one sandbox's label lists: signing past it revokes the oldest, so none is left unrecorded. */
const MAX_RECORDED = 16;
/** What a signed token must look like to be recorded (and parsed back): nothing that could break the label's format. */
const TOKEN = /^[A-Za-z0-9_-]{1,200}$/;

/** Who a recorded link is for; `retired` when Kiln revoked it and Daytona has not yet (revoking it failed). */
type Holder = PreviewAudience | "retired";
const SUFFIX: Record<Holder, string> = { owner: "", share: "/s", retired: "/r" };
const HOLDER: Record<string, Holder> = { "": "owner", s: "share", r: "retired" };

/** A signed link whose token any process can revoke. */
interface RecordedLink {
  token: string;
  port: number;
  /** Epoch milliseconds. */
  expiresAt: number;
  holder: Holder;
}

interface SignedLink extends RecordedLink {
  url: string;
}

/** The links a sandbox's label lists (malformed entries are skipped: the label is only ever Kiln's). */
function recordedIn(labels: Record<string, string> | undefined): RecordedLink[] {
  return (labels?.[SIGNED_LINKS_LABEL] ?? "").split(",").flatMap((entry) => {
    const [port, token, seconds, holder] = entry.split("/");
    const link = { port: Number(port), token: token ?? "", expiresAt: Number(seconds) * 1000, holder: HOLDER[holder ?? ""] };
    return Number.isInteger(link.port) && TOKEN.test(link.token) && Number.isFinite(link.expiresAt) && link.holder ? [{ ...link, holder: link.holder }] : [];
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

/** A remembered link's key within its sandbox: one link per audience and port. */
function keyOf(audience: PreviewAudience, port: number): string {
  return `${audience}:${port}`;
}

/**
 * The signed links this provider handed out, per sandbox, audience and port: reused while more than half
 * their TTL is left and the sandbox's label still lists them (each call would otherwise mint a new one;
 * another process may have revoked one), revoked when the sandbox is stopped or deleted, and the share
 * gateway's when a share link is revoked.
 */
export class PreviewLinks {
  private readonly signed = new Map<string, Map<string, SignedLink>>();
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
    const value = kept.map((link) => `${link.port}/${link.token}/${Math.ceil(link.expiresAt / 1000)}${SUFFIX[link.holder]}`).join(",");
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

  /** Whether the sandbox's label (read now) still lists `link` for its audience: another process may have revoked it. */
  private async stillListed(sandbox: Sandbox, link: SignedLink): Promise<boolean> {
    await sandbox.refreshData();
    return recordedIn(sandbox.labels).some((recorded) => recorded.token === link.token && recorded.holder === link.holder);
  }

  /**
   * A signed link to `port` of the sandbox for `audience`, valid for at least half the TTL. A new one is
   * recorded in the sandbox's label before it is handed out; one that cannot be recorded is revoked and
   * not handed out. Retired links the label lists are revoked again on the way.
   */
  async signedLink(sandbox: Sandbox, port: number, audience: PreviewAudience): Promise<PreviewLink & { expiresAt: string }> {
    return this.serially(sandbox.id, async () => {
      const now = Date.now();
      const byKey = this.signed.get(sandbox.id) ?? new Map<string, SignedLink>();
      const cached = byKey.get(keyOf(audience, port));
      if (cached && cached.expiresAt - now > (this.ttlSeconds * 1000) / 2 && (await this.stillListed(sandbox, cached))) {
        return { url: cached.url, expiresAt: new Date(cached.expiresAt).toISOString() };
      }
      const answer = await sandbox.getSignedPreviewUrl(port, this.ttlSeconds);
      if (typeof answer?.token !== "string" || !TOKEN.test(answer.token)) throw new AppError("internal", "Daytona answered a signed preview link without a token Kiln can record");
      const link: SignedLink = { url: checkedUrl(answer.url), token: answer.token, port, expiresAt: now + this.ttlSeconds * 1000, holder: audience };
      try {
        await this.rewrite(sandbox, async (recorded) => [...(await this.expireEach(sandbox, recorded, (holder) => holder === "retired")).kept, link]);
      } catch (err) {
        await this.expire(sandbox, link);
        throw new AppError("unavailable", `Daytona: the signed preview link could not be recorded on sandbox ${sandbox.id}, so it was revoked again: ${messageOf(err)}`);
      }
      byKey.set(keyOf(audience, port), link);
      this.signed.set(sandbox.id, byKey);
      return { url: link.url, expiresAt: new Date(link.expiresAt).toISOString() };
    });
  }

  /** Revokes the links of `recorded` whose holder `chosen` picks: the others are kept, and those Daytona did not revoke, as retired. */
  private async expireEach(sandbox: Sandbox, recorded: RecordedLink[], chosen: (holder: Holder) => boolean): Promise<RevokedPreviewLinks & { kept: RecordedLink[] }> {
    const kept: RecordedLink[] = [];
    let revoked = 0;
    for (const link of recorded) {
      if (!chosen(link.holder)) kept.push(link);
      else if (await this.expire(sandbox, link)) revoked++;
      else kept.push({ ...link, holder: "retired" });
    }
    return { kept, revoked, pending: kept.filter((link) => link.holder === "retired").length };
  }

  /** The plain link of a public sandbox's port (no token: anyone with the URL may open it). */
  async publicLink(sandbox: Sandbox, port: number): Promise<PreviewLink> {
    return { url: checkedUrl((await sandbox.getPreviewLink(port)).url) };
  }

  /**
   * Revokes every signed link of the sandbox that has not expired yet (when it stops): those its label
   * lists (handed out by any Kiln process) and those this process remembers. Best effort: a link that
   * could not be revoked is logged and stays listed as retired, for the next stop to try again.
   */
  async revokeAll(sandbox: Sandbox): Promise<void> {
    await this.revokeWhere(sandbox, () => true).catch((err: unknown) =>
      this.log.warn("reading or clearing the signed preview links of a sandbox failed", { sandboxId: sandbox.id, reason: messageOf(err) }),
    );
  }

  /**
   * Revokes the signed links handed out for `audience` (and the retired ones), by any Kiln process; the
   * next link asked for is a new one. What Daytona did not revoke now is counted as pending, listed as
   * retired and tried again at the next link minted, the next revoke or the next stop; when the label
   * cannot be read, the links this process remembers are still revoked and the call fails.
   */
  async revoke(sandbox: Sandbox, audience: PreviewAudience): Promise<RevokedPreviewLinks> {
    return this.revokeWhere(sandbox, (holder) => holder === audience || holder === "retired");
  }

  private async revokeWhere(sandbox: Sandbox, chosen: (holder: Holder) => boolean): Promise<RevokedPreviewLinks> {
    const byKey = this.signed.get(sandbox.id);
    const remembered = [...(byKey?.entries() ?? [])].filter(([, link]) => chosen(link.holder));
    for (const [key] of remembered) byKey!.delete(key);
    const unexpired = () => remembered.map(([, link]) => link).filter((link) => link.expiresAt > Date.now());
    return this.serially(sandbox.id, async () => {
      let count: RevokedPreviewLinks = { revoked: 0, pending: 0 };
      try {
        await this.rewrite(sandbox, async (recorded) => {
          const tokens = new Set(recorded.map((link) => link.token));
          const { kept, ...counted } = await this.expireEach(sandbox, [...recorded, ...unexpired().filter((link) => !tokens.has(link.token))], chosen);
          count = counted;
          return kept;
        });
        return count;
      } catch (err) {
        // The label could not be read or written: what this process remembers is still revoked.
        await this.expireEach(sandbox, unexpired(), () => true);
        throw new AppError("unavailable", `Daytona: the signed preview links of sandbox ${sandbox.id} could not be read or cleared: ${messageOf(err)}`);
      }
    });
  }

  /** Forgets a sandbox that no longer exists (its links went with it). */
  forget(sandboxId: string): void {
    this.signed.delete(sandboxId);
  }
}
