import type { IncomingMessage, ServerResponse } from "node:http";
import { AppError, toErrorBody } from "../lib/errors";
import type { AuthData } from "../lib/routes";
import { requireText } from "../lib/validate";
import type { VfsApi } from "../vfs/contract";

/**
 * Serves a project's thumbnail as PNG to its owner (the vfs checks ownership: another user's project is
 * `not_found`). Browsers keep it and revalidate with its content hash as ETag, so an unchanged
 * thumbnail costs a 304; it is private to the signed-in user and never sniffed as anything but a PNG.
 */
export async function serveThumbnail(vfs: Pick<VfsApi, "thumbnail">, req: IncomingMessage, res: ServerResponse, params: Record<string, string>, auth?: AuthData): Promise<void> {
  try {
    if (!auth) throw new AppError("unauthenticated", "missing Authorization header (expected: Bearer <token>)");
    const projectId = requireText("id", params.id, { min: 1, max: 100 });
    const thumbnail = await vfs.thumbnail({ projectId }, auth);
    const etag = `"${thumbnail.sha256}"`;
    const headers = { etag, "cache-control": "private, no-cache", "last-modified": new Date(thumbnail.updatedAt).toUTCString(), "x-content-type-options": "nosniff" };
    if (req.headers["if-none-match"]?.split(/\s*,\s*/).includes(etag)) {
      res.writeHead(304, headers).end();
      return;
    }
    const png = Buffer.from(thumbnail.pngBase64, "base64");
    res.writeHead(200, { ...headers, "content-type": "image/png", "content-length": png.length }).end(png);
  } catch (err) {
    const { status, body } = toErrorBody(err);
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  }
}
