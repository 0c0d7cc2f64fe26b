/** multipart/form-data as the Daytona SDK sends it (bulk upload) and expects it back (bulk download). */

/** One part of a multipart body. */
export interface MultipartPart {
  name: string;
  filename?: string;
  contentType?: string;
  data: Buffer;
}

/** The boundary named by a `Content-Type: multipart/...; boundary=...` header. */
function boundaryOf(contentType: string | undefined): string {
  const match = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? "");
  if (!match) throw new Error(`not a multipart body: Content-Type ${JSON.stringify(contentType)}`);
  return match[1] ?? match[2];
}

/** A header parameter (`name="x"`) of a Content-Disposition line. */
function parameter(disposition: string, key: string): string | undefined {
  const match = new RegExp(`(?:^|;)\\s*${key}="((?:[^"\\\\]|\\\\.)*)"`, "i").exec(disposition);
  return match ? match[1].replace(/\\(.)/g, "$1") : undefined;
}

/** Splits a whole multipart body into its parts (binary-safe; the body was de-chunked by node:http). */
export function parseMultipart(body: Buffer, contentType: string | undefined): MultipartPart[] {
  const delimiter = Buffer.from(`--${boundaryOf(contentType)}`);
  const parts: MultipartPart[] = [];
  let at = body.indexOf(delimiter);
  while (at !== -1) {
    const afterDelimiter = at + delimiter.length;
    if (body.subarray(afterDelimiter, afterDelimiter + 2).toString("latin1") === "--") break;
    const next = body.indexOf(delimiter, afterDelimiter);
    if (next === -1) throw new Error("multipart body ends without its closing delimiter");
    const raw = body.subarray(afterDelimiter + 2, next - 2);
    const headerEnd = raw.indexOf("\r\n\r\n");
    if (headerEnd === -1) throw new Error("multipart part without a header block");
    const headers = raw.subarray(0, headerEnd).toString("utf8").split("\r\n");
    const header = (name: string) => headers.find((line) => line.toLowerCase().startsWith(`${name}:`))?.slice(name.length + 1).trim();
    const disposition = header("content-disposition") ?? "";
    parts.push({
      name: parameter(disposition, "name") ?? "",
      filename: parameter(disposition, "filename"),
      contentType: header("content-type"),
      data: raw.subarray(headerEnd + 4),
    });
    at = next;
  }
  return parts;
}

/** RFC 2231/5987 percent-encoding of a parameter value's UTF-8 bytes (attr-chars stay as they are). */
function extendedValue(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * A multipart/form-data body of `parts` and its Content-Type header. With `extendedFilenames`, a
 * filename that is not plain ASCII is written as Go's mime.FormatMediaType writes it (Daytona's daemon):
 * `filename*=utf-8''<percent-encoded>` and no plain `filename`.
 */
export function buildMultipart(parts: MultipartPart[], options: { extendedFilenames?: boolean } = {}): { body: Buffer; contentType: string } {
  const boundary = "DAYTONA-FILE-BOUNDARY";
  const quote = (value: string) => value.replace(/(["\\])/g, "\\$1");
  const filenameParam = (filename: string) =>
    options.extendedFilenames && /[^\x20-\x7e]/.test(filename) ? `; filename*=utf-8''${extendedValue(filename)}` : `; filename="${quote(filename)}"`;
  const chunks = parts.flatMap((part) => [
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="${quote(part.name)}"` +
        (part.filename === undefined ? "" : filenameParam(part.filename)) +
        `\r\nContent-Type: ${part.contentType ?? "application/octet-stream"}\r\nContent-Length: ${part.data.length}\r\n\r\n`,
    ),
    part.data,
    Buffer.from("\r\n"),
  ]);
  return { body: Buffer.concat([...chunks, Buffer.from(`--${boundary}--\r\n`)]), contentType: `multipart/form-data; boundary=${boundary}` };
}
