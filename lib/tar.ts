const BLOCK = 512;

/** A regular file of a tar archive. */
export interface TarFile {
  name: string;
  content: Buffer;
}

function field(header: Buffer, start: number, length: number): string {
  const bytes = header.subarray(start, start + length);
  const end = bytes.indexOf(0);
  return bytes.subarray(0, end === -1 ? bytes.length : end).toString("utf8");
}

/** A numeric header field: octal digits (NUL or space ended), or GNU's base-256 for large values. */
function number(header: Buffer, start: number, length: number): number | undefined {
  const bytes = header.subarray(start, start + length);
  if (bytes[0]! & 0x80) {
    let value = bytes[0]! & 0x7f;
    for (const byte of bytes.subarray(1)) value = value * 256 + byte;
    return Number.isSafeInteger(value) ? value : undefined;
  }
  const text = bytes.toString("latin1").replace(/[\0 ]+$/, "").trim();
  return /^[0-7]+$/.test(text) ? parseInt(text, 8) : undefined;
}

/** Whether the header's checksum (the sum of its bytes, the checksum field read as spaces) holds. */
function checksumHolds(header: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]!;
  return number(header, 148, 8) === sum;
}

/** The `path` record of a pax extended header (`<length> <key>=<value>\n` records). */
function paxPath(content: Buffer): string | undefined {
  let path: string | undefined;
  for (let at = 0; at < content.length; ) {
    const space = content.indexOf(0x20, at);
    const length = space === -1 ? NaN : Number(content.subarray(at, space).toString("latin1"));
    if (!Number.isInteger(length) || length <= space - at || at + length > content.length) return undefined;
    const record = content.subarray(space + 1, at + length - 1).toString("utf8");
    if (record.startsWith("path=")) path = record.slice(5);
    at += length;
  }
  return path;
}

/**
 * The regular files of a tar archive (POSIX ustar, pax and GNU long names, as GNU and BusyBox tar
 * write them), in order; undefined for anything else: a bad checksum, a truncated entry, a link, a
 * directory or a device, bytes past the end. The archive comes from a sandbox: nothing in it is trusted.
 */
export function tarFiles(archive: Buffer): TarFile[] | undefined {
  const files: TarFile[] = [];
  let longName: string | undefined;
  for (let at = 0; ; ) {
    if (at + BLOCK > archive.length) return undefined;
    const header = archive.subarray(at, at + BLOCK);
    if (header.every((byte) => byte === 0)) {
      // The end: zero blocks to the end of the record, nothing else.
      return archive.subarray(at).every((byte) => byte === 0) && longName === undefined ? files : undefined;
    }
    if (!checksumHolds(header)) return undefined;
    const size = number(header, 124, 12);
    if (size === undefined) return undefined;
    const start = at + BLOCK;
    const end = start + size;
    if (end > archive.length) return undefined;
    const content = archive.subarray(start, end);
    at = start + Math.ceil(size / BLOCK) * BLOCK;
    const type = String.fromCharCode(header[156]!);
    if (type === "L") {
      longName = field(content, 0, content.length);
      continue;
    }
    if (type === "x") {
      longName = paxPath(content) ?? longName;
      continue;
    }
    if (type !== "0" && type !== "\0") return undefined;
    const ustar = header.subarray(257, 263).toString("latin1") === "ustar\0";
    const prefix = ustar ? field(header, 345, 155) : "";
    const name = longName ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
    longName = undefined;
    files.push({ name, content: Buffer.from(content) });
  }
}
