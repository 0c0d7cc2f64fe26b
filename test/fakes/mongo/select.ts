import type { Doc } from "./bson-values.js";
import { compileFilter } from "./query.js";
import { compileSort } from "./sort.js";

/** Which documents a read or write command operates on. */
export interface Selection {
  filter?: unknown;
  sort?: unknown;
  skip?: number;
  /** Maximum number of documents; 0 or undefined means no limit. */
  limit?: number;
}

/** The documents matching `filter`, ordered by `sort`, then windowed by `skip` and `limit`. */
export function selectDocuments(docs: Iterable<Doc>, { filter = {}, sort, skip = 0, limit = 0 }: Selection): Doc[] {
  const matches = compileFilter(filter);
  const sorter = sort === undefined ? undefined : compileSort(sort);
  let selected = [...docs].filter(matches);
  if (sorter) selected = sorter(selected);
  return selected.slice(skip, limit > 0 ? skip + limit : undefined);
}
