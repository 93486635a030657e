import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import { HeraldError, invalid } from '../errors.ts';
import type { Herald } from '../herald.ts';
import type { StackScope } from '../auth/caller.ts';
import { scopeTo } from './auth.ts';
import { branchOf } from '../contentful/entities.ts';
import { InvalidQuery } from '../contentful/errors.ts';
import { applyQuery, parseQuery } from '../contentful/query.ts';

/**
 * What every Contentful-dialect route shares: the space (stack) and environment (branch) a
 * request acts on, `X-Contentful-Version`, paging and collection bodies.
 */

/** Contentful's media type, on every response under /spaces/. */
export const CMA_TYPE = 'application/vnd.contentful.management.v1+json';

/** Contentful ids: letters, digits, `-`, `_` and `.`, at most 64. */
export const CONTENTFUL_ID = /^[A-Za-z0-9._-]{1,64}$/;

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Authenticates (`Authorization: Bearer <management token>`, or the admin token) and checks the
 * caller may act on space `spaceId` and, when given, environment `environmentId` (the branch
 * `main` for `master`). Another stack's token, an unknown space or environment: 404.
 */
export async function spaceScope(h: Herald, req: FastifyRequest, spaceId: string, environmentId?: string): Promise<StackScope> {
  const caller = await h.caller(req);
  return scopeTo(h.db, caller, spaceId, environmentId === undefined ? 'main' : branchOf(environmentId));
}

/** The `X-Contentful-Version` header as a number; null when absent. A 400 when it is not a whole number. */
export function versionHeader(req: FastifyRequest): number | null {
  const v = header(req, 'x-contentful-version');
  if (v === undefined || v === '') return null;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new HeraldError('bad_request', 'X-Contentful-Version must be a whole number.', { errors: { 'X-Contentful-Version': ['must be a whole number'] } });
  return n;
}

export function headerValue(req: FastifyRequest, name: string): string | undefined {
  return header(req, name);
}

/** Largest page; Contentful's default page is 100 too. */
export const MAX_LIMIT = 1000;
export const DEFAULT_LIMIT = 100;

export function paging(query: Record<string, unknown>): { skip: number; limit: number } {
  const num = (v: unknown, field: string, dflt: number, min: number, max: number) => {
    if (v === undefined || v === '') return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw invalid(field, `must be a whole number from ${min} to ${max}`);
    return n;
  };
  return { skip: num(query.skip, 'skip', 0, 0, Number.MAX_SAFE_INTEGER), limit: num(query.limit, 'limit', DEFAULT_LIMIT, 0, MAX_LIMIT) };
}

/**
 * A list searched by `sys` only (locales, environments, roles, tags): `sys.*` filters, `order`,
 * `select`, `skip`, `limit` (src/contentful/query.ts); any other parameter is a 400 InvalidQuery
 * naming it. Returns the page and the total.
 */
export function simpleList<T extends Record<string, any>>(query: Record<string, unknown>, items: T[]) {
  const parsed = parseQuery(query, { kind: 'Other', locales: { codes: [], default: '' } });
  return { ...applyQuery(items, parsed), page: { skip: parsed.skip, limit: parsed.limit } };
}

/** `skip` and `limit` of a list that takes nothing else; any other parameter is a 400 InvalidQuery naming it. */
export function pagingOnly(query: Record<string, unknown>): { skip: number; limit: number } {
  for (const k of Object.keys(query ?? {})) if (k !== 'skip' && k !== 'limit') throw new InvalidQuery(k, 'is not a parameter of this list (skip and limit page it)');
  return paging(query ?? {});
}

/**
 * Refuses the first query parameter of `req` not in `allowed` with a 400 InvalidQuery naming it
 * (`problem` says why). (`access_token` never reaches here: src/http/query-token.ts moves it to
 * the header or refuses it.)
 */
function refuseQuery(req: FastifyRequest, allowed: readonly string[], problem: string): void {
  for (const k of Object.keys((req.query ?? {}) as Record<string, unknown>)) {
    if (allowed.includes(k)) continue;
    throw new InvalidQuery(k, problem);
  }
}

/**
 * The preHandler of a single resource's GET (an entry, asset, content type, locale, tag,
 * environment, key, webhook, call, setting): Contentful's management API defines no query
 * parameter there (contentful-management sends a query only when given one), so any is a 400
 * naming it; before, `select` or a filter was ignored and the whole resource came back.
 */
export async function noQuery(req: FastifyRequest) {
  refuseQuery(req, [], 'is not a parameter of a single resource: the management API defines none here (search the collection with sys.id)');
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The query parameters a Contentful management write takes: Herald's own (entries' `auto_save`); see checkWriteQueries. */
    query?: readonly string[];
  }
}

/**
 * Gives every management write (PUT, POST, DELETE, PATCH under /spaces/) registered after it the
 * check `noQuery` makes on single GETs: Contentful's management API defines no query parameter on
 * its writes (contentful-management sends none; versions, content types and source environments go
 * in X-Contentful-* headers), so any is a 400 naming it rather than ignored. A route lists Herald's
 * own parameters in `config: { query: [...] }`. The catch-all `/spaces/*` is left to
 * answer its 404.
 */
export function checkWriteQueries(app: FastifyInstance): void {
  app.addHook('onRoute', (route: RouteOptions) => {
    const methods = [route.method].flat();
    if (!route.url.startsWith('/spaces/') || route.url.includes('*') || methods.every((m) => m === 'GET' || m === 'HEAD')) return;
    const allowed = route.config?.query ?? [];
    const problem = `is not a parameter of ${methods.join(', ')} ${route.url}: the management API defines none on writes`;
    const check = async (req: FastifyRequest) => refuseQuery(req, allowed, problem);
    route.preHandler = [check, ...[route.preHandler ?? []].flat()] as RouteOptions['preHandler'];
  });
}

/** Contentful's collection body. */
export function collection<T>(items: T[], page: { skip: number; limit: number }, total: number) {
  return { sys: { type: 'Array' }, total, skip: page.skip, limit: page.limit, items };
}

/** The body as an object; a 400 naming what to send when it is not one. */
export function objectBody(body: unknown, what: string): Record<string, unknown> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new HeraldError('bad_request', `The body must be a JSON object (${what}).`, { errors: { body: ['must be a JSON object'] } });
  return body as Record<string, unknown>;
}
