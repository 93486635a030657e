import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { assertPayloadsMatchSchemas, newAjv } from '../helpers/payload-schemas.ts';
import { startReceiver } from '../helpers/receiver.ts';

const require = createRequire(import.meta.url);

describe('the event catalog: GET /v3/webhooks/schemas and /v3/asyncapi.json', () => {
  let h: TestHerald;
  let api_key: string;
  let token: string;
  const rx = {} as Record<'full' | 'concise' | 'contentful', Awaited<ReturnType<typeof startReceiver>>>;
  const headers = () => ({ api_key, authorization: token });
  const ok = async (method: string, path: string, body?: unknown, status = 200) => {
    const r = await h.request(method, path, { headers: headers(), ...(body === undefined ? {} : { body }) });
    assert.equal(r.status, status, `${method} ${path}: ${JSON.stringify(r.body)}`);
    return r.body;
  };

  before(async () => {
    h = await startHerald({ autoSaveWindowMs: 0 });
    ({ api_key, token } = await h.newStack('Catalog site'));
    for (const k of ['full', 'concise', 'contentful'] as const) rx[k] = await startReceiver();
    await ok('POST', '/v3/content_types', { content_type: { title: 'Author', uid: 'author', schema: [{ uid: 'title', display_name: 'Name', data_type: 'text', mandatory: true }] } }, 201);
    await ok(
      'POST',
      '/v3/content_types',
      {
        content_type: {
          title: 'Article',
          uid: 'article',
          schema: [
            { uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true },
            { uid: 'words', display_name: 'Words', data_type: 'number' },
            { uid: 'featured', display_name: 'Featured', data_type: 'boolean' },
            { uid: 'date', display_name: 'Date', data_type: 'isodate' },
            { uid: 'extra', display_name: 'Extra', data_type: 'json' },
            { uid: 'image', display_name: 'Image', data_type: 'file' },
            { uid: 'author', display_name: 'Author', data_type: 'reference', reference_to: ['author'] },
            { uid: 'keywords', display_name: 'Keywords', data_type: 'text', multiple: true },
            { uid: 'seo', display_name: 'SEO', data_type: 'group', schema: [{ uid: 'description', display_name: 'Description', data_type: 'text' }] },
            { uid: 'sections', display_name: 'Sections', data_type: 'group', multiple: true, schema: [{ uid: 'heading', display_name: 'Heading', data_type: 'text' }] },
          ],
        },
      },
      201,
    );
    await ok('POST', '/v3/environments', { environment: { name: 'production' } }, 201);
    await ok('POST', '/v3/webhooks', { webhook: { name: 'full', destinations: [{ target_url: rx.full.url }], channels: ['*.*'] } }, 201);
    await ok('POST', '/v3/webhooks', { webhook: { name: 'concise', destinations: [{ target_url: rx.concise.url }], channels: ['*.*'], concise_payload: true } }, 201);
    await ok('POST', '/v3/webhooks', { webhook: { name: 'contentful', destinations: [{ target_url: rx.contentful.url }], channels: ['*.*'], format: 'contentful' } }, 201);
  });
  after(async () => {
    await h.close();
    for (const r of Object.values(rx)) await r.close();
  });

  test('every payload Herald sends, of every kind and in both formats, validates against its schema', async () => {
    // The content types were made before the webhooks: their events went nowhere.
    const before = (await ok('GET', '/v3/events?after=0&limit=1000')).events as Array<Record<string, any>>;
    const from = before.at(-1)!.seq;
    const form = new FormData();
    form.append('asset[upload]', new Blob(['png bytes']), 'photo.png');
    form.append('asset[title]', 'Photo');
    const up = await fetch(`${h.url}/v3/assets`, { method: 'POST', headers: headers(), body: form });
    assert.equal(up.status, 201);
    const asset = (await up.json()).asset.uid as string;
    const author = (await ok('POST', '/v3/content_types/author/entries', { entry: { title: 'Ada' } }, 201)).entry.uid;
    const e = (
      await ok(
        'POST',
        '/v3/content_types/article/entries',
        {
          entry: {
            title: 'Hello',
            words: 120,
            featured: true,
            date: '2024-05-01',
            extra: { a: [1, 2] },
            image: asset,
            author: [{ uid: author, _content_type_uid: 'author' }],
            keywords: ['a', 'b'],
            seo: { description: 'about' },
            sections: [{ heading: 'One' }],
          },
        },
        201,
      )
    ).entry.uid;
    const entry = `/v3/content_types/article/entries/${e}`;
    await ok('PUT', entry, { entry: { title: 'Hello again', seo: { description: 'more' } } });
    await ok('PUT', `${entry}?auto_save=true`, { entry: { words: 130 } });
    // A reference to an entry that does not exist: publish.fail (a 422 naming it), then publish
    // once the reference names the real author again.
    await ok('PUT', entry, { entry: { author: [{ uid: 'blt0000000000000000', _content_type_uid: 'author' }] } });
    await ok('POST', `${entry}/publish`, { entry: { environments: ['production'], locales: ['en-us'] } }, 422);
    await ok('PUT', entry, { entry: { author: [{ uid: author, _content_type_uid: 'author' }] } });
    await ok('POST', `/v3/content_types/author/entries/${author}/publish`, { entry: { environments: ['production'], locales: ['en-us'] } });
    await ok('POST', `${entry}/publish`, { entry: { environments: ['production'], locales: ['en-us'] } });
    await ok('POST', `${entry}/unpublish`, { entry: { environments: ['production'], locales: ['en-us'] } });
    await ok('POST', `${entry}/archive`);
    await ok('POST', `${entry}/unarchive`);
    await ok('DELETE', entry);
    await ok('PUT', `/v3/assets/${asset}`, { asset: { title: 'Photo 2' } });
    await ok('POST', `/v3/assets/${asset}/publish`, { asset: { environments: ['production'], locales: ['en-us'] } });
    await ok('POST', `/v3/assets/${asset}/unpublish`, { asset: { environments: ['production'], locales: ['en-us'] } });
    await ok('DELETE', `/v3/assets/${asset}`);
    await ok('PUT', '/v3/content_types/article', { content_type: { title: 'Articles' } });
    await ok('DELETE', '/v3/content_types/article');

    const feed = (await ok('GET', `/v3/events?after=${from}&limit=1000`)).events as Array<{ module: string; action: string }>;
    const kinds = new Set(feed.map((ev) => `${ev.module}.${ev.action}`));
    for (const k of ['entry.create', 'entry.update', 'entry.auto_save', 'entry.publish', 'entry.publish.fail', 'entry.unpublish', 'entry.archive', 'entry.unarchive', 'entry.delete', 'asset.create', 'asset.update', 'asset.publish', 'asset.unpublish', 'asset.delete', 'content_type.update', 'content_type.delete']) {
      assert.ok(kinds.has(k), `the run made a ${k} event`);
    }
    for (const [name, r] of Object.entries(rx)) {
      await r.waitFor(feed.length).catch((err) => {
        const got = new Set(r.received.map((x) => Number(x.headers['x-herald-seq'])));
        throw new Error(`${name}: ${err.message}; missing ${JSON.stringify(feed.filter((ev: any) => !got.has(ev.seq)).map((ev: any) => `${ev.seq} ${ev.module}.${ev.action}`))}`);
      });
    }
    // The catalog lists the stack's content types as they are now: the article type is gone, so it
    // is made again as it was created, to check its entries' payloads against its schemas.
    await ok(
      'POST',
      '/v3/content_types',
      { content_type: { title: 'Article', uid: 'article', schema: feedSchema(before) } },
      201,
    );
    for (const [name, r] of Object.entries(rx)) {
      const checked = await assertPayloadsMatchSchemas(h, headers(), r.received.slice(0, feed.length));
      assert.equal(checked, feed.length, `${name}: every payload checked`);
    }
  });

  test('every example validates against its schema, and the schemas can be narrowed', async () => {
    const all = await ok('GET', '/v3/webhooks/schemas');
    assert.ok(all.count > 50);
    const ajv = newAjv();
    for (const s of all.schemas) assert.ok(ajv.validate(s.schema, s.example), `${s.format} ${s.event} ${s.content_type}: ${ajv.errorsText(ajv.errors)}`);
    const one = await ok('GET', '/v3/webhooks/schemas?format=contentful&content_type=author&event=entry.publish');
    assert.equal(one.count, 1);
    const s = one.schemas[0];
    assert.equal(s.channel, 'content_types.author.entries.publish');
    assert.equal(s.topic, 'ContentManagement.Entry.publish');
    assert.deepEqual(s.schema.properties.fields.properties.title, { type: 'object', additionalProperties: { type: 'string' }, description: 'values by locale code (en-US)' });
    assert.equal((await h.request('GET', '/v3/webhooks/schemas?format=xml', { headers: headers() })).status, 422);
    assert.equal((await h.request('GET', '/v3/webhooks/schemas?content_type=nope', { headers: headers() })).status, 404);
  });

  test('the AsyncAPI document validates against the official AsyncAPI 3.0.0 JSON Schema', async () => {
    const docu = await ok('GET', '/v3/asyncapi.json');
    assert.equal(docu.asyncapi, '3.0.0');
    // @asyncapi/specs is the AsyncAPI Initiative's own package of the specification's JSON Schemas.
    const official = require('@asyncapi/specs').schemas['3.0.0'];
    // The official schema embeds JSON Schema draft-07's meta-schema under its own $id: Ajv must not add its copy too.
    const ajv = newAjv({ meta: false, validateSchema: false });
    const validate = ajv.compile(official);
    const valid = (d: unknown): boolean => validate(d);
    assert.ok(valid(docu), ajv.errorsText(validate.errors));
    // And it is the catalog: a channel per event kind, a message per format with the same schema.
    const cs = await ok('GET', '/v3/webhooks/schemas?format=contentstack&event=entry.update&content_type=author');
    const channel = docu.channels['content_types.author.entries.update'];
    assert.equal(channel.address, 'content_types.author.entries.update');
    const ref = channel.messages.contentstack.$ref.split('/').pop();
    const { $schema: _s, ...payload } = cs.schemas[0].schema;
    assert.deepEqual(docu.components.messages[ref].payload, payload);
    assert.equal(docu.operations['receive.content_types.author.entries.update'].action, 'receive');
    // Each format's message carries the headers its deliveries send and is titled by its format.
    const cf = docu.components.messages[channel.messages.contentful.$ref.split('/').pop()];
    assert.match(cf.title, /in the Contentful format$/);
    assert.equal(cf.contentType, 'application/vnd.contentful.management.v1+json');
    for (const name of ['x-contentful-topic', 'x-contentful-webhook-name', 'webhook-signature']) assert.ok(cf.headers.properties[name], name);
    assert.ok(cf.headers.required.includes('x-contentful-topic') && cf.headers.required.includes('webhook-id'));
    const own = docu.components.messages[ref];
    assert.match(own.title, /in the Contentstack format$/);
    assert.equal(own.headers.properties['x-contentful-topic'], undefined);
    // A broken document is refused by the same check (the check can fail).
    assert.equal(valid({ ...docu, operations: { x: { action: 'listen' } } }), false);
  });

  test('the OpenAPI description lists the catalog, preview and test routes and documents actor, changes and the new conditions', async () => {
    const api = (await h.request('GET', '/v3/openapi.json')).body;
    assert.ok(api.paths['/v3/webhooks/schemas']?.get);
    assert.ok(api.paths['/v3/asyncapi.json']?.get);
    assert.ok(api.paths['/v3/webhooks/preview']?.post);
    assert.ok(api.paths['/v3/webhooks/{uid}/test']?.post.requestBody);
    const webhooks = api.tags.find((t: any) => t.name === 'Webhooks').description;
    for (const word of ['`actor`', '`changes`', '"changed"', 'actor.uid']) assert.ok(webhooks.includes(word), word);
  });
});

/** The article schema as the first content_type.create event recorded it. */
function feedSchema(feed: Array<Record<string, any>>) {
  return feed.find((ev) => ev.module === 'content_type' && ev.action === 'create' && ev.uid === 'article')!.data.content_type.schema;
}
