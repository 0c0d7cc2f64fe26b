/** A UTF-16 surrogate without its pair: not encodable as UTF-8, and refused by Postgres `jsonb`. */
export const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, "g");

/** `text` with every lone surrogate replaced by U+FFFD (what `String.prototype.toWellFormed` does, past ES2022). */
export function wellFormed(text: string): string {
  return text.replace(LONE_SURROGATES, "\ufffd");
}

/**
 * `text` as Postgres can store it: `text` and `jsonb` refuse U+0000 and a lone surrogate, and a model
 * (or the code it runs) can produce both; each is shown as U+FFFD instead.
 */
export function storable(text: string): string {
  return wellFormed(text).replace(/\u0000/g, "\ufffd");
}
