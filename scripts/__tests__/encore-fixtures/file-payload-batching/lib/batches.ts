/** The fixture's batching helper: calls made inside its callbacks are allowed. */
export async function inBatches<T, R>(items: T[], send: (batch: T[]) => Promise<R>): Promise<R[]> {
  return [await send(items)];
}
