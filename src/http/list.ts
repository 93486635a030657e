import { parseReferenceParams, project } from '../content/query-params.ts';
import { matchesQuery, MAX_LIMIT, type Paging as PagingValue, parsePaging, parseQuery, parseSort, sortDocs } from '../content/read-query.ts';
import { LIST_QUERY, Paging, PROJECTION, Query } from './schemas.ts';
import type { TSchema } from '@sinclair/typebox';

/** The query string of a Contentstack list answered by `presentList`, plus the route's own parameters. */
export function ListQuery(extra: Record<string, TSchema> = {}) {
  return Query({ ...Paging(MAX_LIMIT), ...LIST_QUERY, ...extra }, PROJECTION);
}

/**
 * The answer of a Contentstack list, from the whole list in memory: `query` filter, `asc`/`desc`,
 * `only[BASE][]`/`except[BASE][]`, `skip`/`limit`; `count=true` answers `{ <name>: N }` and
 * `include_count=true` adds `count`, as Contentstack's.
 */
export function presentList(name: string, items: readonly object[], q: Record<string, unknown>): Record<string, unknown> {
  const all = items as Array<Record<string, unknown>>;
  const paging = parsePaging(q);
  const filter = parseQuery(q.query);
  const params = parseReferenceParams(q);
  let docs = filter ? all.filter((d) => matchesQuery(d, filter)) : all;
  if (q.asc !== undefined || q.desc !== undefined) docs = sortDocs(docs, parseSort(q));
  return listBody(name, docs.slice(paging.skip, paging.skip + paging.limit).map((d) => project(structuredClone(d), params.only.get('BASE'), params.except.get('BASE'))), docs.length, paging);
}

/** `{ <name>: items }`, with `count` when asked; `{ <name>: total }` for `count=true`. */
export function listBody(name: string, items: unknown[], total: number, paging: PagingValue): Record<string, unknown> {
  if (paging.count) return { [name]: total };
  return paging.includeCount ? { [name]: items, count: total } : { [name]: items };
}
