import { Type, type TSchema } from '@sinclair/typebox';
import { invalid } from '../errors.ts';
import type { RouteSchema } from '../ops/openapi.ts';

/**
 * Route schemas shared by the route modules. Each route declares a fastify `schema`: its path
 * parameters, query string and (for JSON bodies) the body's envelope, which fastify validates
 * before the handler runs, plus a `summary` and `tags`. The OpenAPI description
 * (/v3/openapi.json, src/ops/openapi.ts) is built from these same schemas, so it cannot drift
 * from what is validated.
 *
 * What a schema checks is the shape a client can see at a glance (a whole number, one of a few
 * words, `{ "webhook": { ... } }`); the detailed rules of a body stay in the handlers' validators,
 * which name every wrong field at once. So body envelopes leave their root untyped (an array or a
 * string body reaches the validator, which names the envelope field), a body's scalar fields are
 * untyped (see `Field`), and a GET under /v3 refuses query parameters its schema does not list,
 * with a 422 naming them (src/http/query-check.ts): a parameter Contentstack defines is either
 * implemented or refused, never silently ignored.
 */

/** A path parameter or a plain text query parameter. */
export const Text = (description: string, extra: object = {}) => Type.String({ description, ...extra });

/** A whole-number query parameter in [minimum, maximum]. (An empty value counts as absent: src/ops/openapi.ts.) */
export const Whole = (description: string, minimum: number, maximum?: number) =>
  Type.Integer({ description, minimum, ...(maximum === undefined ? {} : { maximum }) });

/**
 * Reads a whole-number query parameter (the value a `Whole` schema documents): `dflt` when absent
 * or empty, else a whole number in [min, max] or a 422 naming `field`.
 */
export function wholeQuery<D extends number | undefined>(value: string | undefined, field: string, dflt: D, max: number, min = 0): number | D {
  if (value === undefined || value === '') return dflt;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw invalid(field, `must be a whole number from ${min} to ${max}`);
  return n;
}

/** A true/false query parameter; absent or empty is false. */
export const Flag = (description: string) => Type.String({ description, enum: ['true', 'false', ''] });

/** Path parameters, all required text. */
export function Params(params: Record<string, string>) {
  return Type.Object(Object.fromEntries(Object.entries(params).map(([name, description]) => [name, Text(description)])));
}

/** A query string: the listed parameters, all optional; others are allowed (and ignored). */
export function Query(props: Record<string, TSchema>, patterns: Record<string, TSchema> = {}) {
  return Type.Object(
    Object.fromEntries(Object.entries(props).map(([k, v]) => [k, Type.Optional(v)])),
    { additionalProperties: true, ...(Object.keys(patterns).length ? { patternProperties: patterns } : {}) },
  );
}

/** Text or a list of texts (a repeated parameter such as `include[]`). */
export const Texts = (description: string) => Type.Union([Type.String(), Type.Array(Type.String())], { description });

/**
 * `only[BASE][]=title`, `except[BASE][]=tags`, `only[author][]=name` (src/content/query-params.ts):
 * a pattern, since the bracket names a field. Matches PROJECTION_PARAM there.
 */
export const PROJECTION = { '^(only|except)\\[[^\\]]+\\](\\[\\])?$': Texts('only[BASE][]: keep these fields (and uid); except[BASE][]: drop them; [a reference field uid] for included entries') };

/**
 * A parameter Contentstack defines whose effect Herald always has (e.g. `include_publish_details`:
 * Herald always includes publish_details): `true` or absent; `false` is refused by name (see checkAlways).
 */
export function checkAlways(q: Record<string, unknown>, names: string[]): void {
  for (const n of names) {
    const v = q[n];
    if (v !== undefined && v !== '' && v !== 'true') throw invalid(n, 'Herald always does this; only true is accepted');
  }
}

export const Always = (description: string) => Type.String({ description: `${description} (Herald always does; only true is accepted)` });

/** Paging of a Contentstack list: skip, limit (1..max), include_count. */
export function Paging(max: number, dflt = max) {
  return {
    skip: Whole('items to skip (default 0)', 0),
    limit: Whole(`items per page, at most ${max} (default ${dflt})`, 1, max),
    include_count: Flag('add `count`, the total number of items'),
    count: Flag('answer only the total number of items: `{"<items>": N}`'),
  };
}

/**
 * A JSON body `{ "<field>": { ... } }`: the envelope Contentstack's API wraps every resource in.
 * The schema checks the envelope is an object when present; whether it must be present is the
 * handler's to say (after authentication: a request with another stack's token gets its 404
 * whatever its body), and the description says so.
 */
export function Envelope(field: string, description: string, opts: { required?: boolean } = {}) {
  const needed = opts.required !== false;
  return Type.Unsafe<Record<string, unknown>>({
    description: needed ? `{ "${field}": { ... } } (required)` : `{ "${field}": { ... } } (optional)`,
    properties: { [field]: Type.Object({}, { description, additionalProperties: true }) },
    additionalProperties: true,
  });
}

/**
 * A body field, described but untyped: fastify's validator coerces types (a number sent for a
 * string would pass as text), so a body's scalar fields are checked by the handler, which refuses
 * the wrong type by name.
 */
export const Field = (description: string) => Type.Unsafe<unknown>({ description });

/** A JSON body with the listed top-level fields (root untyped, as envelopes; presence is the handler's to check). */
export function Body(properties: Record<string, TSchema>) {
  return Type.Unsafe<Record<string, unknown>>({ properties, additionalProperties: true });
}

/** Route tags (the sections of the API description). */
export const TAGS = {
  stacks: 'Stacks and tokens',
  events: 'Events',
  webhooks: 'Webhooks',
  executions: 'Activity log',
  environments: 'Environments',
  locales: 'Locales',
  branches: 'Branches',
  contentTypes: 'Content types',
  entries: 'Entries',
  assets: 'Assets',
  bulk: 'Bulk operations and scheduled publishing',
  operations: 'Operations',
  web: 'Web app',
  contentful: 'Contentful dialect',
  delivery: 'Delivery API (published content)',
} as const;

/** Route options carrying a route's schema: its summary, tag, and the parts fastify validates. */
export function doc(tag: string, summary: string, parts: Omit<RouteSchema, 'summary' | 'tags'> = {}): { schema: RouteSchema } {
  return { schema: { summary, tags: [tag], ...parts } };
}

/** What a create answers. */
export const CREATED = { status: 201, description: 'Created' } as const;

/** Path parameters used across the Contentstack routes. */
export const UID = Params({ uid: 'the uid' });

/** Filtering and sorting of a Contentstack list (checked by the handler: src/content/read-query.ts). */
export const LIST_QUERY = {
  query: Text('a JSON filter, e.g. {"title": "Hello"} or {"price": {"$gt": 10}}'),
  asc: Text('field to sort by, ascending'),
  desc: Text('field to sort by, descending'),
};

/** What each path parameter of the Contentful dialect holds. */
const CONTENTFUL_PARAMS: Record<string, string> = {
  space: "the space id: a stack's API key",
  env: 'the environment id (`master` is the branch main, any other id the branch of that name)',
  id: 'the id',
  call: 'the call id (an attempt)',
  locale: 'the locale code',
};

/**
 * Route options of a Contentful-dialect route: its path parameters (from `url`), summary and
 * success status. Bodies and queries are checked by the handlers, which answer in Contentful's
 * error shape.
 */
export function contentfulDoc(url: string, summary: string, success?: RouteSchema['success']): { schema: RouteSchema } {
  const names = [...url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!);
  const params = Params(Object.fromEntries(names.map((n) => [n, CONTENTFUL_PARAMS[n] ?? n])));
  return doc(TAGS.contentful, summary, { params, ...(success ? { success } : {}) });
}

/** What a Contentful delete answers. */
export const NO_CONTENT = { status: 204, description: 'Done, no content' } as const;
