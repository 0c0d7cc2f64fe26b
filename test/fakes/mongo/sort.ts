import { compareValues, isPlainDocument, type Doc } from "./bson-values.js";
import { badValue, notSupported } from "./errors.js";
import { toInteger } from "./numbers.js";
import { splitPath, valuesAlongPath } from "./paths.js";

/** Sorts documents without modifying the input array. */
export type DocumentSorter = (docs: readonly Doc[]) => Doc[];

interface SortKey {
  segments: string[];
  direction: 1 | -1;
}

/**
 * Compiles a sort specification such as `{a: 1, "b.c": -1}`. As in MongoDB, an array field
 * sorts by its smallest element ascending and its largest element descending; ties keep
 * insertion order.
 */
export function compileSort(spec: unknown): DocumentSorter {
  if (!isPlainDocument(spec)) throw badValue("sort specification must be an object");
  const keys = Object.entries(spec).map(([path, direction]): SortKey => {
    if (path.startsWith("$") || isPlainDocument(direction)) throw notSupported(`sort by ${path} ${JSON.stringify(direction)}`);
    const order = toInteger(direction);
    if (order !== 1 && order !== -1) throw badValue(`sort key ordering must be 1 (for ascending) or -1 (for descending): ${path}`);
    return { segments: splitPath(path), direction: order };
  });
  if (keys.length === 0) return (docs) => [...docs];
  return (docs) =>
    docs
      .map((doc) => ({ doc, values: keys.map((key) => sortValue(doc, key)) }))
      .sort((a, b) => {
        for (const [i, key] of keys.entries()) {
          const order = compareValues(a.values[i], b.values[i]) * key.direction;
          if (order !== 0) return order;
        }
        return 0;
      })
      .map(({ doc }) => doc);
}

function sortValue(doc: Doc, { segments, direction }: SortKey): unknown {
  const candidates = valuesAlongPath(doc, segments).flatMap((value) =>
    Array.isArray(value) ? (value.length > 0 ? value : [undefined]) : [value],
  );
  return candidates.reduce((best, value) => (compareValues(value, best) * direction < 0 ? value : best));
}
