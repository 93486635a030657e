import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { OPENAPI_METHODS, openApiPath, toOpenApiSchema } from '../../src/ops/openapi.ts';
import type { TestHerald } from '../helpers/herald.ts';
import { routeKey, startHeraldWithRoutes, type Route } from '../trust/helpers/routes.ts';
import { browserAvailability, launch, newPage } from '../web/helpers/browser.ts';
import { validateOpenApi } from './helpers/openapi.ts';

describe('the OpenAPI validator (test helper)', () => {
  it('finds the problems it is meant to find', () => {
    const broken = {
      openapi: '3.1.0',
      info: { title: 'x' },
      tags: [{ name: 'a' }],
      paths: {
        'things/{id}': {
          get: { operationId: 'one', tags: ['b'], parameters: [{ in: 'body', name: 'x', schema: {} }], responses: {} },
          post: {
            operationId: 'one',
            parameters: [{ in: 'path', name: 'other', schema: { type: 'string' } }],
            requestBody: { content: { 'application/json': {} } },
            responses: { 200: { description: 'ok', content: { 'application/json': { schema: { type: ['string', 'null'], const: 'x', properties: { l: { type: 'array' } } } } } }, 999: { description: 'x' }, 400: { $ref: '#/components/responses/Nope' } },
            security: [{ ghost: [] }],
          },
        },
      },
    };
    const problems = validateOpenApi(broken).join('\n');
    for (const expected of [
      /\/openapi: must be 3\.0\.x/,
      /\/info: needs a title and a version/,
      /: must start with \//,
      /get: needs at least one response/,
      /bad in body/,
      /duplicate operationId one/,
      /path parameter other is not in the path/,
      /post: no path parameter for \{id\}/,
      /requestBody\/content\/application\/json: needs a schema/,
      /responses\/999: is not a status code/,
      /\$ref #\/components\/responses\/Nope does not resolve/,
      /names undeclared scheme ghost/,
      /undeclared tag b/,
      /type \["string","null"\] is not an OpenAPI 3\.0 type/,
      /const is not OpenAPI 3\.0/,
      /properties\/l: an array schema needs items/,
    ]) {
      assert.match(problems, expected);
    }
  });

  it('turns TypeBox schemas into OpenAPI 3.0 schemas', () => {
    assert.deepEqual(toOpenApiSchema({ $id: 'x', type: 'object', properties: { s: { const: 'ready', type: 'string' } } }), {
      type: 'object',
      properties: { s: { enum: ['ready'], type: 'string' } },
    });
    assert.equal(openApiPath('/v3/content_types/:content_type_uid/entries/:uid'), '/v3/content_types/{content_type_uid}/entries/{uid}');
    assert.equal(openApiPath('/spaces/*'), '/spaces/{path}');
  });
});

describe('GET /v3/openapi.json', () => {
  let h: TestHerald;
  let routes: Route[];
  let doc: any;
  before(async () => {
    ({ h, routes } = await startHeraldWithRoutes());
    const r = await h.request('GET', '/v3/openapi.json');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
    doc = r.body;
  });
  after(() => h.close());

  it('is a valid OpenAPI 3.0 document', () => {
    assert.deepEqual(validateOpenApi(doc), []);
    assert.equal(doc.info.title, 'Herald');
  });

  it('describes every route the server registers, each with a summary and a tag', () => {
    const missing: string[] = [];
    const unsummarised: string[] = [];
    const beyondOpenApi: string[] = [];
    for (const r of routes) {
      const method = r.method.toLowerCase();
      if (!(OPENAPI_METHODS as readonly string[]).includes(method)) {
        beyondOpenApi.push(routeKey(r));
        continue;
      }
      const op = doc.paths[openApiPath(r.url)]?.[method];
      if (!op) missing.push(routeKey(r));
      else if (!op.summary || !op.tags?.length || op.tags[0] === 'Other') unsummarised.push(routeKey(r));
    }
    assert.deepEqual(missing, [], 'routes missing from the document');
    assert.deepEqual(unsummarised, [], 'routes without a summary or tag (give the route a schema: src/http/schemas.ts)');
    // Methods OpenAPI 3.0 cannot describe (PROPFIND...) come only from the Contentful catch-all.
    for (const key of beyondOpenApi) assert.match(key, / \/spaces\/\*$/);
    assert.ok(routes.length > 80, `routes seen: ${routes.length}`);
  });

  it('describes parameters with the schemas that validate them', async () => {
    const list = doc.paths['/v3/webhooks'].get;
    const limit = list.parameters.find((p: any) => p.in === 'query' && p.name === 'limit');
    assert.deepEqual({ type: limit.schema.type, minimum: limit.schema.minimum, maximum: limit.schema.maximum }, { type: 'integer', minimum: 1, maximum: 100 });
    const s = await h.newStack();
    const headers = { api_key: s.api_key, authorization: s.token };
    const over = await h.request('GET', '/v3/webhooks?limit=101', { headers });
    assert.equal(over.status, 422);
    assert.deepEqual(over.body.errors, { limit: ['must be at most 100'] });
    assert.equal(over.body.error_message, 'limit must be at most 100');
    const word = await h.request('GET', '/v3/webhooks?limit=ten', { headers });
    assert.deepEqual(word.body.errors, { limit: ['must be a whole number'] });
    assert.equal((await h.request('GET', '/v3/webhooks?limit=100', { headers })).status, 200);
    assert.equal((await h.request('GET', '/v3/webhooks?limit=', { headers })).status, 200, 'an empty number counts as absent');

    const flag = list.parameters.find((p: any) => p.name === 'include_count');
    assert.deepEqual(flag.schema.enum, ['true', 'false', '']);
    const bad = await h.request('GET', '/v3/webhooks?include_count=perhaps', { headers });
    assert.deepEqual(bad.body.errors, { include_count: ['must be one of true, false'] });

    // Path parameters and the body envelope.
    const put = doc.paths['/v3/webhooks/{uid}'].put;
    assert.deepEqual(put.parameters.map((p: any) => [p.in, p.name, p.required]), [['path', 'uid', true]]);
    assert.equal(put.requestBody.content['application/json'].schema.properties.webhook.type, 'object');
    const notObject = await h.request('POST', '/v3/webhooks', { headers, body: { webhook: 'x' } });
    assert.deepEqual(notObject.body.errors, { webhook: ['must be an object'] });
  });

  it('says how each operation is authorized and what it answers', () => {
    assert.deepEqual(doc.paths['/v3/stacks'].post.security, [{ authtoken: [] }]);
    assert.deepEqual(doc.paths['/v3/webhooks'].get.security, [{ api_key: [], management_token: [] }, { api_key: [], authtoken: [] }]);
    assert.deepEqual(doc.paths['/healthz'].get.security, []);
    assert.ok(doc.paths['/v3/webhooks'].post.responses['201'], 'a create answers 201');
    assert.equal(doc.paths['/v3/webhooks'].get.responses['4XX'].$ref, '#/components/responses/Error');
    assert.ok(doc.paths['/readyz'].get.responses['503'].content['application/json'].schema.properties.reasons);
    assert.ok(doc.paths['/v3/assets'].post.requestBody.content['multipart/form-data'].schema.properties['asset[upload]']);
  });
});

describe('GET /docs', () => {
  let h: TestHerald;
  before(async () => {
    ({ h } = await startHeraldWithRoutes());
  });
  after(() => h.close());

  it('is a self-contained page: nothing loaded from elsewhere, its script allowed by hash alone', async () => {
    const res = await fetch(`${h.url}/docs`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    const html = await res.text();
    assert.doesNotMatch(html, /\b(src|href)\s*=\s*["']?(https?:)?\/\//i, 'no external resource');
    const script = /<script>([\s\S]*)<\/script>/.exec(html)![1]!;
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.ok(csp.includes(`'sha256-${createHash('sha256').update(script).digest('base64')}'`), csp);
    assert.match(csp, /default-src 'none'/);
  });

  const browser = browserAvailability();
  it('renders every operation of the document in a browser', { skip: 'skip' in browser ? browser.skip : false }, async () => {
    if ('fail' in browser) assert.fail(browser.fail);
    const b = await launch();
    try {
      const { page, errors } = await newPage(b);
      const outside: string[] = [];
      page.on('request', (r) => {
        if (!r.url().startsWith(h.url)) outside.push(r.url());
      });
      await page.goto(`${h.url}/docs`);
      await page.getByRole('heading', { name: 'Webhooks', level: 2 }).waitFor();
      const doc = await (await fetch(`${h.url}/v3/openapi.json`)).json();
      const operations = Object.values<any>(doc.paths).flatMap((item) => Object.keys(item).filter((m) => m !== 'head'));
      assert.equal(await page.locator('details').count(), operations.length);
      await page.getByRole('searchbox', { name: 'Filter operations' }).fill('secret/rotate');
      assert.equal(await page.locator('details').count(), 1);
      await page.locator('details summary').click();
      await page.getByText('grace_period_hours').first().waitFor();
      assert.deepEqual(errors, []);
      assert.deepEqual(outside, []);
    } finally {
      await b.close();
    }
  });
});
