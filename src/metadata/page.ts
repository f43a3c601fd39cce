// One page of a listing (tags, the catalog, referrers): items in lexical order after a marker,
// fetched one past the limit so the page knows whether more follow.

export interface Page<T> {
  readonly items: T[];
  /** True when there are more items after the last one returned. */
  readonly hasMore: boolean;
}

export interface PageRequest {
  /** At most this many items; undefined means all. */
  readonly limit?: number | undefined;
  /** Only items lexically after this one. */
  readonly after?: string | undefined;
}

/** The page of `items` (fetched with limit + 1 rows) for the limit asked for. */
export function toPage<T>(items: T[], limit: number | undefined): Page<T> {
  if (limit === undefined || items.length <= limit) return { items, hasMore: false };
  return { items: items.slice(0, limit), hasMore: true };
}
