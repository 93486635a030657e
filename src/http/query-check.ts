import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HeraldError } from '../errors.ts';

/**
 * No silent answers: a read of the Contentstack API (`GET /v3/...`) with a query parameter its route
 * does not implement is refused with a 422 naming the parameter, instead of answering as if it had
 * been applied (a client asking for `include[]` or `only[BASE][]` must not get full, unresolved
 * entries back and believe them filtered). What a route implements is what its schema's
 * `querystring` lists (`properties`, plus `patternProperties` for bracketed names such as
 * `only[BASE][]`), so the API description and this check cannot disagree.
 */
export function unsupportedParams(
  names: string[],
  schema: { properties?: Record<string, unknown>; patternProperties?: Record<string, unknown> } | undefined,
): string[] {
  const known = new Set(Object.keys(schema?.properties ?? {}));
  const patterns = Object.keys(schema?.patternProperties ?? {}).map((p) => new RegExp(p));
  return names.filter((n) => !known.has(n) && !patterns.some((p) => p.test(n)));
}

/** Query parameter names of a request (fastify's parser keeps `include[]` and `only[BASE][]` as they were sent). */
function paramNames(req: FastifyRequest): string[] {
  const q = req.query;
  return q && typeof q === 'object' ? Object.keys(q) : [];
}

/** Registers the check on every Contentstack read route registered after it. */
export function registerQueryCheck(app: FastifyInstance): void {
  app.addHook('preValidation', async (req) => {
    // No route matched (routeOptions.url unset): the not-found handler answers 404.
    if (req.method !== 'GET' || !req.url.startsWith('/v3/') || !req.routeOptions.url) return;
    const schema = (req.routeOptions.schema as { querystring?: { properties?: Record<string, unknown>; patternProperties?: Record<string, unknown> } } | undefined)?.querystring;
    const unknown = unsupportedParams(paramNames(req), schema);
    if (unknown.length === 0) return;
    const errors = Object.fromEntries(unknown.map((n) => [n, [`is not a parameter Herald implements on GET ${req.routeOptions.url}`]]));
    throw new HeraldError(
      'validation_failed',
      `Query parameter${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `'${n}'`).join(', ')} ${unknown.length > 1 ? 'are' : 'is'} not supported on GET ${req.routeOptions.url}.`,
      { errors },
    );
  });
}
