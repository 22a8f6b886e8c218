/** Lists across pages: the query types of the session and how it follows a collection's pages. */
import { OskError } from '../errors.js';

type QueryValue = string | number | boolean | undefined | null | readonly (string | number | boolean)[];
export type Query = Record<string, QueryValue>;

export interface ListOptions {
  query?: Query;
  /** Ask for pages of this size (`limit`); the service's own default page size otherwise. */
  pageSize?: number;
  microversion?: string | null;
  /** The marker value of an item (default: its `id`, else `uuid`). */
  markerOf?: (item: unknown) => string | undefined;
}

const MAX_PAGES = 1000;

/**
 * Every item of a collection, across pages. Follows, in this order: the `next` link in
 * `<key>_links` (nova, neutron, cinder) or `links` (keystone), glance's `next`, and otherwise,
 * when `pageSize` was asked and a page came back full, `marker` = the last item. Only the
 * query of a next link is used, on our own endpoint: services behind a proxy often put their
 * internal host name in it.
 *
 * `getPage` fetches one page with the query given; `what` names the call in messages.
 */
export async function listPages<T>(
  getPage: (query: Query) => Promise<Record<string, unknown> | undefined>,
  what: string,
  key: string,
  opts: ListOptions,
): Promise<T[]> {
  const markerOf =
    opts.markerOf ??
    ((it: unknown) => {
      const o = it as { id?: unknown; uuid?: unknown };
      return typeof o?.id === 'string' ? o.id : typeof o?.uuid === 'string' ? o.uuid : undefined;
    });
  const items: T[] = [];
  const seen = new Set<string>();
  let query: Query = { ...opts.query, ...(opts.pageSize ? { limit: opts.pageSize } : {}) };
  for (let page = 0; page < MAX_PAGES; page++) {
    const body = await getPage(query);
    // A missing key is an error, not an empty list: "not found" would make an ensure… pattern
    // create a duplicate.
    const got = body?.[key];
    if (!Array.isArray(got))
      throw new OskError(`${what}: the answer has no "${key}" list (got ${JSON.stringify(body)?.slice(0, 200)})`);
    const pageItems = got as T[];
    let fresh = 0;
    for (const it of pageItems) {
      const id = markerOf(it);
      if (id !== undefined) {
        // A service that ignores marker would return the same page forever.
        if (seen.has(id)) continue;
        seen.add(id);
      }
      items.push(it);
      fresh++;
    }
    if (fresh === 0) break;
    const next = nextLinkQuery(body, key);
    if (next) {
      query = { ...query, ...next };
      continue;
    }
    const last = pageItems.length > 0 ? markerOf(pageItems[pageItems.length - 1]) : undefined;
    if (opts.pageSize && pageItems.length >= opts.pageSize && last) {
      query = { ...query, marker: last };
      continue;
    }
    break;
  }
  return items;
}

/** The query of the next page from a list answer, or undefined on the last page. */
function nextLinkQuery(body: Record<string, unknown> | undefined, key: string): Query | undefined {
  if (!body) return undefined;
  let href: string | undefined;
  const links = body[`${key}_links`] ?? body.links;
  if (Array.isArray(links)) {
    const next = links.find((l: unknown) => (l as { rel?: unknown })?.rel === 'next') as { href?: unknown } | undefined;
    if (typeof next?.href === 'string') href = next.href;
  } else if (links && typeof links === 'object' && typeof (links as { next?: unknown }).next === 'string') {
    href = (links as { next: string }).next;
  }
  if (!href && typeof body.next === 'string') href = body.next; // glance
  if (!href) return undefined;
  const params = new URL(href, 'http://next.invalid').searchParams;
  const q: Record<string, string | string[]> = {};
  for (const k of new Set(params.keys())) {
    const all = params.getAll(k);
    q[k] = all.length === 1 ? all[0]! : all;
  }
  return Object.keys(q).length ? q : undefined;
}
