/**
 * Preview links of Daytona sandboxes for browsers. A private sandbox's standard preview token also opens
 * its toolbox (commands, files), and a browser cannot send it as a header anyway: browsers get signed
 * preview URLs instead (`sandbox.getSignedPreviewUrl(port, ttl)`: one port, a TTL, revocable), and the
 * standard token never leaves the provider. Public sandboxes (KILN_DAYTONA_PUBLIC) get their plain link.
 */
import type { Sandbox } from "@daytonaio/sdk";
import { AppError } from "../../lib/errors";
import type { Logger } from "../../lib/log";
import { messageOf } from "./daytona-errors";
import type { PreviewLink } from "./provider";

/** The bounds Daytona puts on a signed URL's TTL. */
export const SIGNED_TTL_SECONDS = { min: 60, max: 86_400 } as const;

interface SignedLink {
  url: string;
  token: string;
  port: number;
  expiresAt: number;
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

  constructor(
    private readonly ttlSeconds: number,
    private readonly log: Logger,
  ) {
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < SIGNED_TTL_SECONDS.min || ttlSeconds > SIGNED_TTL_SECONDS.max) {
      throw new AppError("invalid_argument", `previewTtlSeconds: must be a whole number from ${SIGNED_TTL_SECONDS.min} to ${SIGNED_TTL_SECONDS.max}`);
    }
  }

  /** A signed link to `port` of the sandbox, valid for at least half the TTL. */
  async signedLink(sandbox: Sandbox, port: number): Promise<PreviewLink & { expiresAt: string }> {
    const now = Date.now();
    const cached = this.signed.get(sandbox.id)?.get(port);
    if (cached && cached.expiresAt - now > (this.ttlSeconds * 1000) / 2) return { url: cached.url, expiresAt: new Date(cached.expiresAt).toISOString() };
    const answer = await sandbox.getSignedPreviewUrl(port, this.ttlSeconds);
    if (typeof answer?.token !== "string" || answer.token === "") throw new AppError("internal", "Daytona answered a signed preview link without its token");
    const link: SignedLink = { url: checkedUrl(answer.url), token: answer.token, port, expiresAt: now + this.ttlSeconds * 1000 };
    const byPort = this.signed.get(sandbox.id) ?? new Map<number, SignedLink>();
    byPort.set(port, link);
    this.signed.set(sandbox.id, byPort);
    return { url: link.url, expiresAt: new Date(link.expiresAt).toISOString() };
  }

  /** The plain link of a public sandbox's port (no token: anyone with the URL may open it). */
  async publicLink(sandbox: Sandbox, port: number): Promise<PreviewLink> {
    return { url: checkedUrl((await sandbox.getPreviewLink(port)).url) };
  }

  /** Revokes every link handed out for the sandbox that has not expired yet (best effort: each failure is logged). */
  async revokeAll(sandbox: Sandbox): Promise<void> {
    const byPort = this.signed.get(sandbox.id);
    this.signed.delete(sandbox.id);
    const now = Date.now();
    for (const link of byPort?.values() ?? []) {
      if (link.expiresAt <= now) continue;
      await sandbox.expireSignedPreviewUrl(link.port, link.token).catch((err: unknown) => {
        this.log.warn("revoking a signed preview link failed", { sandboxId: sandbox.id, port: link.port, reason: messageOf(err) });
      });
    }
  }

  /** Forgets a sandbox that no longer exists. */
  forget(sandboxId: string): void {
    this.signed.delete(sandboxId);
  }
}
