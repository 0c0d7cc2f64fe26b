/**
 * Splitting text, JSON and bytes into pieces the way a real network and model stream them,
 * so clients are exercised on arbitrary boundaries. Seeded, so a failing split can be replayed.
 */

/** A random integer in [0, maxExclusive). */
export type Random = (maxExclusive: number) => number;

/** A deterministic Random (mulberry32) for `seed`. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return (maxExclusive) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const unit = ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
    return Math.floor(unit * maxExclusive);
  };
}

/** Splits text into pieces of 1–12 characters, like `text_delta` chunks. */
export function splitText(value: string, random: Random): string[] {
  return cutString(value, randomCuts(value.length, 12, random));
}

/**
 * Splits a JSON document (as produced by JSON.stringify, without whitespace) the way
 * `input_json_delta` may arrive: an empty first piece, a cut inside every object key,
 * a cut inside every escape sequence, and random cuts in between.
 */
export function splitJsonAwkwardly(json: string, random: Random): string[] {
  const cuts = randomCuts(json.length, 16, random);
  let i = 0;
  while (i < json.length) {
    if (json[i] !== '"') {
      i++;
      continue;
    }
    const start = i++;
    while (json[i] !== '"') {
      if (json[i] === "\\") {
        cuts.add(i + 1);
        if (json[i + 1] === "u") cuts.add(i + 4);
        i += 2;
      } else {
        i++;
      }
    }
    i++;
    if (json[i] === ":") cuts.add(start + 1 + Math.ceil((i - start - 2) / 2));
  }
  return ["", ...cutString(json, cuts)];
}

/** Splits bytes into pieces of 1–64 bytes; cuts may fall inside multi-byte UTF-8 characters. */
export function splitBytes(bytes: Buffer, random: Random): Buffer[] {
  const ends = [...sortedInside(randomCuts(bytes.length, 64, random), bytes.length), bytes.length];
  return ends.map((end, k) => bytes.subarray(k === 0 ? 0 : ends[k - 1], end));
}

function randomCuts(length: number, maxStep: number, random: Random): Set<number> {
  const cuts = new Set<number>();
  for (let at = 1 + random(maxStep); at < length; at += 1 + random(maxStep)) cuts.add(at);
  return cuts;
}

/** Cuts `value` at `cuts`, skipping any that would separate a surrogate pair. */
function cutString(value: string, cuts: Set<number>): string[] {
  const ends = sortedInside(cuts, value.length).filter((at) => !isLowSurrogate(value.charCodeAt(at)));
  ends.push(value.length);
  return ends.map((end, k) => value.slice(k === 0 ? 0 : ends[k - 1], end));
}

function sortedInside(cuts: Set<number>, length: number): number[] {
  return [...cuts].filter((at) => at > 0 && at < length).sort((a, b) => a - b);
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
