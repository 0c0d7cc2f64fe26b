/** A UTF-16 surrogate without its pair: not encodable as UTF-8, and refused by Postgres `jsonb`. */
export const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, "g");

/** `text` with every lone surrogate replaced by U+FFFD (what `String.prototype.toWellFormed` does, past ES2022). */
export function wellFormed(text: string): string {
  return text.replace(LONE_SURROGATES, "\ufffd");
}
