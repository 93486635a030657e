/**
 * The OpenAPI 3 description of Herald's HTTP API (/v3/openapi.json), built from the routes the
 * server registers and the fastify schemas that validate them (src/http/schemas.ts): there is no
 * hand-kept copy to drift. A route without a schema is still listed (so a test can see it lacks a
 * summary), with its path parameters as plain strings.
 *
 * Everything here is pure: routes in, a document out.
 */

/** One registered route as the onRoute hook saw it. */
export interface RouteInfo {
  method: string;
  /** fastify's pattern: `/v3/webhooks/:uid`, `/spaces/*`. */
  url: string;
  schema?: RouteSchema;
}

/** The parts of a fastify route schema the description reads (fastify ignores the extra keys). */
export interface RouteSchema {
  summary?: string;
  description?: string;
  tags?: string[];
  params?: JsonSchema;
  querystring?: JsonSchema;
  headers?: JsonSchema;
  body?: JsonSchema;
  response?: Record<string, JsonSchema>;
  /** OpenAPI security requirements; absent: the default for the path (see `securityFor`). */
  security?: Array<Record<string, string[]>>;
  /** Media types the body may come in; `multipart/form-data` is described by `multipart`. */
  consumes?: string[];
  /** A multipart form's parts (documentation: the handler checks the parts as they stream in). */
  multipart?: JsonSchema;
  /** What a successful call answers, when it has no response schema (default 200, JSON). */
  success?: { status: number; description: string; contentType?: string };
}

export type JsonSchema = Record<string, unknown>;

/** Methods an OpenAPI 3.0 path item can hold (fastify's `all` registers more, e.g. PROPFIND). */
export const OPENAPI_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** `/v3/webhooks/:uid` -> `/v3/webhooks/{uid}`; a trailing `*` is the parameter `{path}`. */
export function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}').replace(/\*$/, '{path}');
}

/** Path parameter names of a fastify pattern, in order. */
function pathParams(url: string): string[] {
  const names = [...url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!);
  if (url.endsWith('*')) names.push('path');
  return names;
}

/**
 * A JSON Schema (TypeBox) as an OpenAPI 3.0 Schema Object: `const` becomes a one-value `enum`
 * (3.0 has no `const`), TypeBox's symbol keys and `$id`/`$schema` are dropped.
 */
export function toOpenApiSchema(schema: unknown): JsonSchema {
  const plain = JSON.parse(JSON.stringify(schema ?? {})) as unknown;
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (!node || typeof node !== 'object') return node;
    const out: JsonSchema = {};
    for (const [k, v] of Object.entries(node)) {
      if (k === '$id' || k === '$schema') continue;
      if (k === 'const') out.enum = [v];
      else if (k === 'properties' || k === 'patternProperties') out[k] = Object.fromEntries(Object.entries(v as JsonSchema).map(([p, s]) => [p, walk(s)]));
      else out[k] = walk(v);
    }
    return out;
  };
  return walk(plain) as JsonSchema;
}

/** Security by path, unless the route's schema says otherwise. */
export function securityFor(method: string, url: string): Array<Record<string, string[]>> {
  if (url.startsWith('/spaces/')) return [{ contentful_token: [] }];
  if (url === '/metrics') return [{ metrics_token: [] }, {}];
  if (url === '/v3/stacks' && method === 'POST') return [{ authtoken: [] }];
  if (url.startsWith('/v3/stacks/management_tokens') && method !== 'GET') return [{ api_key: [], authtoken: [] }];
  if (url.startsWith('/v3/') && url !== '/v3/openapi.json') return [{ api_key: [], management_token: [] }, { api_key: [], authtoken: [] }];
  return [];
}

function parametersOf(route: RouteInfo): JsonSchema[] {
  const params: JsonSchema[] = [];
  const declared = (route.schema?.params?.properties ?? {}) as Record<string, JsonSchema>;
  for (const name of pathParams(route.url)) {
    const schema = declared[name === 'path' ? '*' : name] ?? { type: 'string' };
    const { description, ...rest } = toOpenApiSchema(schema);
    params.push({ in: 'path', name, required: true, ...(description ? { description } : {}), schema: rest });
  }
  for (const [where, source] of [
    ['query', route.schema?.querystring],
    ['header', route.schema?.headers],
  ] as const) {
    const props = (source?.properties ?? {}) as Record<string, JsonSchema>;
    const required = new Set((source?.required ?? []) as string[]);
    for (const [name, s] of Object.entries(props)) {
      const { description, ...rest } = toOpenApiSchema(s);
      params.push({ in: where, name, required: required.has(name), ...(description ? { description } : {}), schema: rest });
    }
  }
  return params;
}

function requestBodyOf(route: RouteInfo, jsonTypes: string[]): JsonSchema | undefined {
  const s = route.schema;
  if (!s) return undefined;
  const content: JsonSchema = {};
  if (s.body) for (const type of jsonTypes) content[type] = { schema: toOpenApiSchema(s.body) };
  if (s.multipart) content['multipart/form-data'] = { schema: toOpenApiSchema(s.multipart) };
  if (Object.keys(content).length === 0) return undefined;
  const required = Array.isArray(s.body?.required) && (s.body!.required as unknown[]).length > 0;
  return { required: required || Boolean(s.multipart && !s.body), content };
}

function responsesOf(route: RouteInfo, errorRef: string): JsonSchema {
  const out: JsonSchema = {};
  const declared = route.schema?.response;
  if (declared) {
    for (const [status, schema] of Object.entries(declared)) {
      const { description, ...rest } = toOpenApiSchema(schema);
      out[status] = { description: description ?? (status.startsWith('2') ? 'Success' : 'Failure'), content: { 'application/json': { schema: rest } } };
    }
  } else {
    const ok = route.schema?.success ?? { status: 200, description: 'Success' };
    out[String(ok.status)] = {
      description: ok.description,
      ...(ok.status === 204 ? {} : { content: { [ok.contentType ?? 'application/json']: { schema: ok.contentType && !ok.contentType.includes('json') ? { type: 'string' } : { type: 'object' } } } }),
    };
  }
  out['4XX'] ??= { $ref: errorRef };
  out['5XX'] ??= { $ref: errorRef };
  return out;
}

function operationId(method: string, url: string): string {
  const words = openApiPath(url)
    .replace(/[{}]/g, '')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean);
  return [method.toLowerCase(), ...words.map((w) => w[0]!.toUpperCase() + w.slice(1))].join('');
}

export interface DescribeOptions {
  version: string;
  /** Tag names and their descriptions, in the order the page lists them. */
  tags: Array<{ name: string; description: string }>;
}

/** The OpenAPI 3.0 document for `routes`. */
export function buildOpenApi(routes: RouteInfo[], opts: DescribeOptions): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  const cmaTypes = ['application/json', 'application/vnd.contentful.management.v1+json'];
  for (const route of routes) {
    const method = route.method.toLowerCase();
    if (!(OPENAPI_METHODS as readonly string[]).includes(method)) continue;
    const path = openApiPath(route.url);
    const contentful = route.url.startsWith('/spaces/');
    const s = route.schema ?? {};
    const op: JsonSchema = {
      operationId: operationId(method, route.url),
      ...(s.summary ? { summary: method === 'head' ? `${s.summary} (headers only)` : s.summary } : {}),
      ...(s.description ? { description: s.description } : {}),
      tags: s.tags ?? [contentful ? 'Contentful dialect' : 'Other'],
      parameters: parametersOf(route),
      responses: responsesOf(route, contentful ? '#/components/responses/ContentfulError' : '#/components/responses/Error'),
      security: s.security ?? securityFor(route.method, route.url),
    };
    const body = requestBodyOf(route, contentful ? cmaTypes : ['application/json']);
    if (body && method !== 'get' && method !== 'head') op.requestBody = body;
    // Delivery and management routes share paths (told apart by credential): one operation.
    const same = paths[path]?.[method];
    if (same) {
      same.description = [same.description, `With a delivery token (api_key + access_token): ${s.summary ?? ''}`].filter(Boolean).join('\n\n');
      same.security = [...(same.security as unknown[]), ...(op.security as unknown[])];
      continue;
    }
    (paths[path] ??= {})[method] = op;
  }
  const sorted = Object.fromEntries(Object.keys(paths).sort().map((p) => [p, paths[p]]));
  return {
    openapi: '3.0.3',
    info: {
      title: 'Herald',
      version: opts.version,
      description:
        "Herald's HTTP API: a Contentstack-compatible Content Management API (/v3), webhooks with their activity log, " +
        "Contentful's webhook and content API (/spaces), and operations endpoints. Generated from the schemas that validate requests.",
    },
    servers: [{ url: '/' }],
    tags: opts.tags,
    paths: sorted,
    components: {
      securitySchemes: {
        api_key: { type: 'apiKey', in: 'header', name: 'api_key', description: "The stack's API key (Contentstack)." },
        management_token: { type: 'apiKey', in: 'header', name: 'authorization', description: "A stack's management token (Contentstack)." },
        authtoken: { type: 'apiKey', in: 'header', name: 'authtoken', description: 'The admin token: creates stacks, acts on every stack.' },
        access_token: { type: 'apiKey', in: 'header', name: 'access_token', description: 'A delivery token (Contentstack CDA): reads what is published to its environments.' },
        contentful_token: { type: 'http', scheme: 'bearer', description: "Contentful dialect: `Authorization: Bearer <management token>`." },
        metrics_token: { type: 'http', scheme: 'bearer', description: 'Required by GET /metrics when HERALD_METRICS_TOKEN is set.' },
      },
      schemas: {
        Error: {
          type: 'object',
          description: "Contentstack's error shape, plus Herald's stable `code`.",
          required: ['error_message', 'error_code', 'errors', 'code'],
          properties: {
            error_message: { type: 'string', description: 'what went wrong, naming the first field' },
            error_code: { type: 'integer', description: "Contentstack's number for this kind of error" },
            errors: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } }, description: 'problems by field, e.g. { "webhook.name": ["is required"] }' },
            code: { type: 'string', description: "Herald's stable error code: validation_failed, not_found, unauthorized, ..." },
          },
        },
        ContentfulError: {
          type: 'object',
          description: "Contentful's error shape.",
          properties: {
            sys: { type: 'object', properties: { type: { type: 'string', enum: ['Error'] }, id: { type: 'string', description: 'NotFound, ValidationFailed, VersionMismatch, AccessTokenInvalid, ...' } } },
            message: { type: 'string' },
            details: { type: 'object' },
          },
        },
      },
      responses: {
        Error: { description: 'A client error (4xx) or an unavailable store (503)', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
        ContentfulError: {
          description: 'An error, in the Contentful shape',
          content: { 'application/vnd.contentful.management.v1+json': { schema: { $ref: '#/components/schemas/ContentfulError' } } },
        },
      },
    },
  };
}
