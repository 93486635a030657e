import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HeraldError } from '../errors.ts';

/**
 * No silent answers: a request to the Contentstack API (`/v3/...`, reads and writes) with a query
 * parameter its route does not implement is refused with a 422 naming the parameter, instead of
 * answering as if it had been applied (a client asking for `include[]` or `only[BASE][]` must not
 * get full, unresolved entries back and believe them filtered; a delete with `?locale=` must not
 * delete every locale). What a route implements is what its schema's `querystring` lists
 * (`properties`, plus `patternProperties` for bracketed names such as `only[BASE][]`), so the API
 * description and this check cannot disagree. A route with no `querystring` takes none.
 */
export function unsupportedParams(
  names: string[],
  schema: { properties?: Record<string, unknown>; patternProperties?: Record<string, unknown> } | undefined,
): string[] {
  // Most requests send none: no Set or RegExp made for them.
  if (names.length === 0) return names;
  const known = new Set(Object.keys(schema?.properties ?? {}));
  const patterns = Object.keys(schema?.patternProperties ?? {}).map((p) => new RegExp(p));
  return names.filter((n) => !known.has(n) && !patterns.some((p) => p.test(n)));
}

/** Query parameter names of a request (fastify's parser keeps `include[]` and `only[BASE][]` as they were sent). */
function paramNames(req: FastifyRequest): string[] {
  const q = req.query;
  return q && typeof q === 'object' ? Object.keys(q) : [];
}

type QuerySchema = { properties?: Record<string, unknown>; patternProperties?: Record<string, unknown> };

/** The 422 naming each of `unknown`, refused on `where` (`GET /v3/assets/:uid`). */
export function unsupportedError(unknown: string[], where: string): HeraldError {
  const errors = Object.fromEntries(unknown.map((n) => [n, [`is not a parameter Herald implements on ${where}`]]));
  return new HeraldError(
    'validation_failed',
    `Query parameter${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `'${n}'`).join(', ')} ${unknown.length > 1 ? 'are' : 'is'} not supported on ${where}.`,
    { errors },
  );
}

/** Refuses the parameters of `req` that `schema` does not list (a route that serves two shapes checks the one it answers). */
export function checkParams(req: FastifyRequest, schema: QuerySchema | undefined, where: string): void {
  const unknown = unsupportedParams(paramNames(req), schema);
  if (unknown.length > 0) throw unsupportedError(unknown, where);
}

/** Registers the check on every Contentstack route registered after it. */
export function registerQueryCheck(app: FastifyInstance): void {
  // A callback hook, not an async one: an async hook costs a promise and its turn per request.
  app.addHook('preValidation', (req, _reply, done) => {
    // No route matched (routeOptions.url unset): the not-found handler answers 404.
    if (!req.url.startsWith('/v3/') || !req.routeOptions.url) return done();
    const schema = (req.routeOptions.schema as { querystring?: QuerySchema } | undefined)?.querystring;
    try {
      checkParams(req, schema, `${req.method} ${req.routeOptions.url}`);
    } catch (err) {
      return done(err as Error);
    }
    done();
  });
}
