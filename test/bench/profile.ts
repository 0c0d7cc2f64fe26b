/** Where a V8 CPU profile (`node --cpu-prof`) spent its time, by function (self time). */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/** One function's share of the samples. */
export interface ProfileEntry {
  name: string;
  /** The file (relative to the repository or node_modules) and line. */
  where: string;
  percent: number;
}

/** The `top` functions by self time; idle time and garbage collection are kept as V8 names them. */
export function summarizeProfile(profile: { nodes: ProfileNode[]; samples?: number[] }, top: number): ProfileEntry[] {
  const hits = new Map<number, number>();
  for (const id of profile.samples ?? []) hits.set(id, (hits.get(id) ?? 0) + 1);
  const byFunction = new Map<string, { name: string; where: string; count: number }>();
  let total = 0;
  for (const node of profile.nodes) {
    const count = hits.get(node.id) ?? node.hitCount ?? 0;
    if (count === 0) continue;
    total += count;
    const { functionName, url, lineNumber } = node.callFrame;
    const file = url.replace(/^file:\/\//, "").replace(/^.*\/node_modules\//, "node_modules/").replace(/^.*\/work\/main\//, "");
    const where = file ? `${file}:${lineNumber + 1}` : "(native)";
    const key = `${functionName}@${where}`;
    const entry = byFunction.get(key) ?? { name: functionName || "(anonymous)", where, count: 0 };
    entry.count += count;
    byFunction.set(key, entry);
  }
  return [...byFunction.values()]
    .sort((a, b) => b.count - a.count)
    .slice(0, top)
    .map((e) => ({ name: e.name, where: e.where, percent: (100 * e.count) / Math.max(1, total) }));
}
