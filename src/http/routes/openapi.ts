import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import type { Herald } from '../../herald.ts';
import { buildOpenApi, type JsonSchema, type RouteInfo, type RouteSchema } from '../../ops/openapi.ts';
import { TAGS } from '../schemas.ts';

/**
 * GET /v3/openapi.json: the OpenAPI 3 description of every route this server registered, built
 * from their schemas (src/ops/openapi.ts). GET /docs: a page that renders it, self-contained (no
 * script, style or font from anywhere else).
 */

const registered = new WeakMap<FastifyInstance, RouteInfo[]>();

/**
 * Records every route registered on `app` from now on (call it before any route). Also makes an
 * empty whole-number query parameter (`?limit=`) count as absent, as the handlers always treated
 * it, before the schema would refuse '' as a number.
 */
export function collectRoutes(app: FastifyInstance): void {
  const routes: RouteInfo[] = [];
  registered.set(app, routes);
  app.addHook('onRoute', (route: RouteOptions) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url, schema: route.schema as RouteSchema | undefined });
    const numeric = wholeNumberParams(route.schema?.querystring as JsonSchema | undefined);
    if (numeric.length > 0) {
      const dropEmpty = async (req: FastifyRequest) => {
        const q = req.query as Record<string, unknown>;
        for (const name of numeric) if (q[name] === '') delete q[name];
      };
      route.preValidation = [...[route.preValidation ?? []].flat(), dropEmpty] as RouteOptions['preValidation'];
    }
  });
}

function wholeNumberParams(querystring: JsonSchema | undefined): string[] {
  const props = (querystring?.properties ?? {}) as Record<string, JsonSchema>;
  return Object.keys(props).filter((k) => props[k]!.type === 'integer' || props[k]!.type === 'number');
}

const TAG_DESCRIPTIONS: Record<string, string> = {
  [TAGS.stacks]: 'Stacks (admin token) and their management tokens.',
  [TAGS.events]: 'The event log: every change, in order.',
  [TAGS.webhooks]:
    'Webhook definitions, Contentstack shapes. Every payload carries `actor` ({type: admin | management_token, uid, name}); update and ' +
    'auto_save events also carry `changes` ({paths, fields: [{path, old, new}], truncated}). Conditions: equals, in, regexp and not over ' +
    'event properties (sys.id, content_type, branch, environment, locale, created_by, updated_by, actor.uid, actor.name, actor.type), and ' +
    '{"changed": ["title", "seo.*"]} (an update changed a field under one of these paths). POST /v3/webhooks/preview dry-runs a webhook; ' +
    'POST /v3/webhooks/{uid}/test with {channel, uid?} sends a test event; GET /v3/webhooks/schemas and GET /v3/asyncapi.json describe every payload. ' +
    'Formats (`format`): contentstack (default), contentful, and cloudevents (CloudEvents 1.0 over HTTP; `format_options: {"mode": "binary"}` ' +
    '(ce-* headers, the body is the payload; the default) or `{"mode": "structured"}` (application/cloudevents+json)).',
  [TAGS.executions]:
    'Executions and attempts of a webhook; manual retry. POST /v3/webhooks/{uid}/replay with {from, to, mode} replays a range (mode "failed": ' +
    'executions that failed for good, sent again; mode "events": the events the webhook matches now, as new executions), in order per entity, as a ' +
    'job followed at GET /v3/webhooks/{uid}/replays/{job} ({uid, state: running | done, total, done, succeeded, failed}).',
  [TAGS.environments]: 'Publishing environments.',
  [TAGS.locales]: 'Locales of a stack.',
  [TAGS.branches]: 'Branches (the `branch` header selects one).',
  [TAGS.contentTypes]: 'Content types and their schemas.',
  [TAGS.entries]: 'Entries: versions, locales, publishing, archiving, auto-save.',
  [TAGS.assets]: 'Assets: uploads, files, publishing, archiving.',
  [TAGS.bulk]:
    'Publish, unpublish or delete many entries and assets in one job: each item gets the events a single call would make, then the job ' +
    'gets one event per environment (channels jobs.environments.publish.completed, jobs.environments.{environment}.unpublish.completed, ' +
    'jobs.delete.completed) listing every item and its outcome.',
  [TAGS.contentful]: "Contentful's webhook and content API over the same store.",
  [TAGS.delivery]: 'Published content, read with delivery tokens (Contentstack CDA) and their management.',
  [TAGS.operations]: 'Health, readiness, metrics and this description.',
  [TAGS.web]: 'The web app.',
};

const VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export default function openapiRoutes(app: FastifyInstance, _h: Herald) {
  let doc: string | undefined;
  const describe = () => {
    // Built on first request: every route is registered by then.
    doc ??= JSON.stringify(
      buildOpenApi(registered.get(app) ?? [], { version: VERSION, tags: Object.entries(TAG_DESCRIPTIONS).map(([name, description]) => ({ name, description })) }),
    );
    return doc;
  };
  app.get(
    '/v3/openapi.json',
    { config: { rateLimit: false }, schema: { summary: 'This API, described in OpenAPI 3', tags: [TAGS.operations], security: [] } as RouteSchema },
    async (_req, reply) => reply.header('content-type', 'application/json; charset=utf-8').send(describe()),
  );
  app.get(
    '/docs',
    {
      config: { rateLimit: false },
      schema: { summary: 'A page to browse this API', tags: [TAGS.operations], security: [], success: { status: 200, description: 'HTML', contentType: 'text/html' } } as RouteSchema,
    },
    async (_req, reply) =>
      reply
        .header('content-type', 'text/html; charset=utf-8')
        .header('content-security-policy', `default-src 'none'; connect-src 'self'; style-src '${STYLE_HASH}'; script-src '${SCRIPT_HASH}'`)
        .header('x-content-type-options', 'nosniff')
        .send(PAGE),
  );
}

const STYLE = `
body { font: 15px/1.45 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f7f8fa; }
header { background: #1d2330; color: #fff; padding: 16px 24px; }
header h1 { margin: 0; font-size: 20px; } header p { margin: 4px 0 0; opacity: .8; }
main { max-width: 1100px; margin: 0 auto; padding: 16px 24px 48px; }
input { width: 100%; padding: 8px 10px; font: inherit; border: 1px solid #c9ced8; border-radius: 6px; box-sizing: border-box; }
h2 { margin: 28px 0 4px; font-size: 17px; } h2 + p { margin: 0 0 8px; color: #5b6475; }
details { background: #fff; border: 1px solid #e1e4ea; border-radius: 6px; margin: 6px 0; }
summary { cursor: pointer; padding: 8px 12px; display: flex; gap: 12px; align-items: baseline; }
.m { font: 600 12px ui-monospace, monospace; text-transform: uppercase; min-width: 56px; text-align: center; border-radius: 4px; padding: 2px 6px; color: #fff; background: #5b6475; }
.get { background: #2f7d4f; } .post { background: #2456a6; } .put { background: #9a6a00; } .delete { background: #a83232; } .patch { background: #6b3fa0; }
.p { font-family: ui-monospace, monospace; } .s { color: #5b6475; }
.body { padding: 4px 14px 12px; border-top: 1px solid #eef0f4; }
table { border-collapse: collapse; width: 100%; margin: 6px 0; } td, th { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eef0f4; vertical-align: top; }
pre { background: #f3f4f7; padding: 8px; border-radius: 4px; overflow: auto; font-size: 13px; }
h4 { margin: 12px 0 4px; font-size: 14px; }
`;

const SCRIPT = `
(async () => {
  const doc = await (await fetch('/v3/openapi.json')).json();
  const main = document.querySelector('main');
  const el = (tag, props = {}, ...kids) => { const e = document.createElement(tag); Object.assign(e, props); for (const k of kids) e.append(k); return e; };
  const code = (v) => el('pre', { textContent: JSON.stringify(v, null, 2) });
  const resolve = (x) => (x && x.$ref ? x.$ref.split('/').slice(1).reduce((o, k) => o[k], doc) : x);
  document.querySelector('header p').textContent = 'OpenAPI ' + doc.openapi + ' · version ' + doc.info.version + ' · ' + doc.info.description;
  const ops = [];
  for (const [path, item] of Object.entries(doc.paths)) for (const [method, op] of Object.entries(item)) if (method !== 'head') ops.push({ path, method, op });
  const render = (filter) => {
    for (const n of [...main.querySelectorAll('section')]) n.remove();
    for (const tag of doc.tags.concat([{ name: 'Other', description: '' }])) {
      const mine = ops.filter((o) => (o.op.tags || ['Other'])[0] === tag.name && (!filter || (o.method + ' ' + o.path + ' ' + (o.op.summary || '')).toLowerCase().includes(filter)));
      if (!mine.length) continue;
      const section = el('section', {}, el('h2', { textContent: tag.name }), el('p', { textContent: tag.description }));
      for (const { path, method, op } of mine) {
        const body = el('div', { className: 'body' });
        if (op.description) body.append(el('p', { textContent: op.description }));
        if (op.parameters && op.parameters.length) {
          const t = el('table', {}, el('tr', {}, ...['name', 'in', 'required', 'schema', 'description'].map((h) => el('th', { textContent: h }))));
          for (const p of op.parameters) t.append(el('tr', {}, ...[p.name, p.in, p.required ? 'yes' : '', JSON.stringify(p.schema), p.description || ''].map((v) => el('td', { textContent: v }))));
          body.append(el('h4', { textContent: 'Parameters' }), t);
        }
        if (op.requestBody) for (const [type, c] of Object.entries(op.requestBody.content)) body.append(el('h4', { textContent: 'Body (' + type + ')' }), code(c.schema));
        body.append(el('h4', { textContent: 'Responses' }));
        for (const [status, r0] of Object.entries(op.responses)) {
          const r = resolve(r0);
          body.append(el('div', { textContent: status + ': ' + r.description }));
          const c = r.content && Object.values(r.content)[0];
          if (c && c.schema && (c.schema.properties || c.schema.$ref)) body.append(code(resolve(c.schema)));
        }
        body.append(el('h4', { textContent: 'Authorization' }), el('div', { textContent: (op.security || []).map((s) => Object.keys(s).join(' + ') || 'none').join(' or ') || 'none' }));
        section.append(el('details', {}, el('summary', {}, el('span', { className: 'm ' + method, textContent: method }), el('span', { className: 'p', textContent: path }), el('span', { className: 's', textContent: op.summary || '' })), body));
      }
      main.append(section);
    }
  };
  render('');
  document.querySelector('input').addEventListener('input', (e) => render(e.target.value.trim().toLowerCase()));
})();
`;

const hash = (text: string) => `sha256-${createHash('sha256').update(text).digest('base64')}`;
const STYLE_HASH = hash(STYLE);
const SCRIPT_HASH = hash(SCRIPT);

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Herald API</title><style>${STYLE}</style></head>
<body><header><h1>Herald API</h1><p>Loading /v3/openapi.json…</p></header>
<main><p><input type="search" placeholder="Filter: method, path or words" aria-label="Filter operations"></p>
<p><a href="/v3/openapi.json">/v3/openapi.json</a> is the machine-readable document.</p></main>
<script>${SCRIPT}</script></body></html>`;
