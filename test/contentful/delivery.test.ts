import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { verifyRequest } from '@contentful/node-apps-toolkit';
import {
  canonicalPath,
  contentfulBody,
  contentfulPayload,
  contentfulRequestParts,
  formEncode,
  resolvePointer,
  RenderTooLarge,
  resolveTemplate,
  signRequest,
  transformationProblems,
  webhookNameHeader,
} from '../../src/delivery/contentful.ts';
import type { HeraldEvent } from '../../src/events/event.ts';

const SECRET = 'k'.repeat(40) + '0123456789abcdefghijklmn';

const contentType = {
  uid: 'blog_post',
  title: 'Blog Post',
  description: '',
  schema: [
    { uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true, unique: false, multiple: false, contentful: { id: 'title', type: 'Symbol', localized: true } },
    { uid: 'hero_image', display_name: 'Hero', data_type: 'file', mandatory: false, unique: false, multiple: false, contentful: { id: 'heroImage', type: 'Link', linkType: 'Asset' } },
    { uid: 'related', display_name: 'Related', data_type: 'reference', mandatory: false, unique: false, multiple: true, reference_to: ['blog_post'] },
    { uid: 'rating', display_name: 'Rating', data_type: 'number', mandatory: false, unique: false, multiple: false },
  ],
  options: { contentful: { id: 'blogPost', displayField: 'title' } },
  created_at: '2024-05-01T10:00:00.000Z',
  updated_at: '2024-05-02T10:00:00.000Z',
  created_by: 'tok_a',
  updated_by: 'tok_b',
  _version: 3,
};

const entry = {
  uid: 'bltentry1',
  locale: 'en-us',
  content_type_uid: 'blog_post',
  title: 'Hello',
  hero_image: 'bltasset1',
  related: [{ uid: 'bltentry2', _content_type_uid: 'blog_post' }],
  rating: 4,
  tags: ['news'],
  created_at: '2024-05-01T11:00:00.000Z',
  updated_at: '2024-05-03T11:00:00.000Z',
  created_by: 'tok_a',
  updated_by: 'tok_b',
  _version: 2,
  _archived: false,
  publish_details: [],
};

function event(over: Partial<HeraldEvent> = {}): HeraldEvent {
  return {
    seq: 7,
    api_key: 'bltspace',
    branch: 'main',
    module: 'entry',
    action: 'update',
    uid: 'bltentry1',
    content_type_uid: 'blog_post',
    locale: 'en-us',
    environment: null,
    actor: 'tok_b',
    data: { entry, content_type: contentType },
    created_at: Date.parse('2024-05-03T11:00:00.000Z'),
    ...over,
  };
}

describe('the Contentful-format body', () => {
  it('sends an entry as Contentful does: sys links, then fields by field id and locale', () => {
    const p = contentfulPayload(event(), 'en-us') as any;
    assert.equal(p.sys.type, 'Entry');
    assert.equal(p.sys.id, 'bltentry1');
    assert.equal(p.sys.version, 2);
    assert.deepEqual(p.sys.space, { sys: { type: 'Link', linkType: 'Space', id: 'bltspace' } });
    assert.deepEqual(p.sys.environment, { sys: { type: 'Link', linkType: 'Environment', id: 'master' } });
    assert.deepEqual(p.sys.contentType, { sys: { type: 'Link', linkType: 'ContentType', id: 'blogPost' } });
    assert.deepEqual(p.sys.createdBy, { sys: { type: 'Link', linkType: 'User', id: 'tok_a' } });
    assert.deepEqual(p.sys.updatedBy, { sys: { type: 'Link', linkType: 'User', id: 'tok_b' } });
    assert.equal(p.sys.createdAt, '2024-05-01T11:00:00.000Z');
    assert.deepEqual(p.fields, {
      title: { 'en-US': 'Hello' },
      heroImage: { 'en-US': { sys: { type: 'Link', linkType: 'Asset', id: 'bltasset1' } } },
      related: { 'en-US': [{ sys: { type: 'Link', linkType: 'Entry', id: 'bltentry2' } }] },
      rating: { 'en-US': 4 },
    });
    assert.deepEqual(p.metadata.tags, [{ sys: { type: 'Link', linkType: 'Tag', id: 'news' } }]);
  });

  it('names the environment after the branch, master for main', () => {
    const p = contentfulPayload(event({ branch: 'staging' }), 'en-us') as any;
    assert.equal(p.sys.environment.sys.id, 'staging');
  });

  it('sends a DeletedEntry with sys only for unpublish and delete', () => {
    for (const action of ['unpublish', 'delete'] as const) {
      const p = contentfulPayload(event({ action }), 'en-us') as any;
      assert.equal(p.sys.type, 'DeletedEntry');
      assert.equal(p.sys.id, 'bltentry1');
      assert.equal(p.sys.contentType.sys.id, 'blogPost');
      assert.equal(p.fields, undefined);
    }
  });

  it('shows an archived entry with its archive state', () => {
    const p = contentfulPayload(event({ action: 'archive', data: { entry: { ...entry, _archived: true }, content_type: contentType } }), 'en-us') as any;
    assert.equal(p.sys.archivedVersion, 2);
    assert.ok(p.sys.archivedAt);
  });

  it('sends a content type with its fields as Contentful defines them', () => {
    const p = contentfulPayload(event({ module: 'content_type', action: 'create', uid: 'blog_post', data: { content_type: contentType } }), 'en-us') as any;
    assert.equal(p.sys.type, 'ContentType');
    assert.equal(p.sys.id, 'blogPost');
    assert.equal(p.name, 'Blog Post');
    assert.equal(p.displayField, 'title');
    assert.deepEqual(
      p.fields.map((f: any) => [f.id, f.type, f.linkType ?? f.items?.linkType ?? null]),
      [
        ['title', 'Symbol', null],
        ['heroImage', 'Link', 'Asset'],
        ['related', 'Array', 'Entry'],
        ['rating', 'Number', null],
      ],
    );
    const unpublished = contentfulPayload(event({ module: 'content_type', action: 'unpublish', uid: 'blog_post', data: { content_type: contentType } }), 'en-us') as any;
    assert.equal(unpublished.sys.type, 'DeletedContentType');
  });

  it('sends an asset in the master locale, with its file', () => {
    const asset = { uid: 'bltasset1', title: 'Cat', description: 'A cat', filename: 'cat.png', content_type: 'image/png', file_size: '42', url: 'http://h/v3/assets/x/cat.png', tags: [], created_at: 'c', updated_at: 'u', created_by: 'tok_a', updated_by: 'tok_a', _version: 1 };
    const p = contentfulPayload(event({ module: 'asset', action: 'create', uid: 'bltasset1', locale: null, data: { asset } }), 'de-de') as any;
    assert.equal(p.sys.type, 'Asset');
    assert.deepEqual(p.fields.title, { 'de-DE': 'Cat' });
    assert.deepEqual(p.fields.file['de-DE'], { url: 'http://h/v3/assets/x/cat.png', fileName: 'cat.png', contentType: 'image/png', details: { size: 42 } });
  });

  it('serializes the entity as JSON without a transformation', () => {
    const body = contentfulBody(event(), { url: 'http://x/hook', masterLocale: 'en-us' });
    assert.deepEqual(JSON.parse(body), contentfulPayload(event(), 'en-us'));
  });
});

describe('transformations', () => {
  it('resolves a whole-string pointer to the value itself and pointers inside text as text', () => {
    const ctx = { topic: 'ContentManagement.Entry.save', payload: { sys: { id: 'e1', version: 3 }, fields: { tags: ['a', 'b'] } } };
    assert.deepEqual(
      resolveTemplate({ id: '{ /payload/sys/id }', v: '{/payload/sys/version}', tags: '{ /payload/fields/tags }', text: 'entry {/payload/sys/id} v{ /payload/sys/version }', missing: '{ /payload/nope }', keep: 5 }, ctx),
      { id: 'e1', v: 3, tags: ['a', 'b'], text: 'entry e1 v3', missing: null, keep: 5 },
    );
  });

  it('keeps every key of the template, __proto__ included', () => {
    const template = JSON.parse('{"__proto__": "{ /topic }", "a": 1}');
    assert.equal(JSON.stringify(resolveTemplate(template, { topic: 't' })), '{"__proto__":"t","a":1}');
  });

  it('follows RFC 6901 pointers, escapes included, own properties only', () => {
    const doc = { 'a/b': { 'm~n': [10, 20] } };
    assert.equal(resolvePointer(doc, '/a~1b/m~0n/1'), 20);
    assert.equal(resolvePointer(doc, '/a~1b/m~0n/x'), undefined);
    assert.equal(resolvePointer({}, '/constructor'), undefined);
    assert.equal(resolvePointer({}, '/__proto__'), undefined);
  });

  it('builds the body from the template with topic, user, request and payload', () => {
    const body = contentfulBody(event(), {
      url: 'http://x/hook',
      masterLocale: 'en-us',
      transformation: { body: { topic: '{ /topic }', user: '{ /user/id }', url: '{ /request/url }', title: '{ /payload/fields/title/en-US }' } },
    });
    assert.deepEqual(JSON.parse(body), { topic: 'ContentManagement.Entry.save', user: 'tok_b', url: 'http://x/hook', title: 'Hello' });
  });

  it('form-encodes the body for the urlencoded content types and sends none for GET', () => {
    const opts = { url: 'http://x', masterLocale: 'en-us' };
    const form = contentfulBody(event(), { ...opts, transformation: { contentType: 'application/x-www-form-urlencoded', body: { id: '{ /payload/sys/id }', n: 2 } } });
    assert.equal(form, 'id=bltentry1&n=2');
    assert.equal(formEncode({ a: { b: 1 }, c: 'x y' }), 'a=%7B%22b%22%3A1%7D&c=x+y');
    assert.equal(contentfulBody(event(), { ...opts, transformation: { method: 'GET' } }), '');
  });

  it('renders the same text as JSON.stringify when under the limit', () => {
    const value = { a: [1, 'two', null, undefined, { b: true, skip: undefined }], n: Number.NaN, d: new Date(0), s: 'é"\\\n' };
    const body = contentfulBody(event(), { url: 'http://x', masterLocale: 'en-us', transformation: { body: { v: '{ /payload/fields }', t: 'x{ /payload/sys/id }y' } } });
    assert.deepEqual(JSON.parse(body), { v: contentfulPayload(event(), 'en-us').fields, t: 'xbltentry1y' });
    assert.equal(JSON.stringify(resolveTemplate({ w: '{ /v }' }, { v: value })), JSON.stringify({ w: value }));
    assert.equal(contentfulBody(event(), { url: 'http://x', masterLocale: 'en-us', transformation: { body: '{ /payload }' } }), JSON.stringify(contentfulPayload(event(), 'en-us')));
  });

  it('stops rendering a template that multiplies the payload as soon as it passes the limit', () => {
    const big = event({ data: { ...event().data, entry: { ...entry, title: 'x'.repeat(100_000) } } });
    const limit = 1024 * 1024;
    const cases = [
      { body: Array.from({ length: 500 }, () => '{ /payload }') },
      { body: { text: Array.from({ length: 500 }, () => 'copy: { /payload }').join(' ') } },
      { body: Array.from({ length: 500 }, () => '{ /payload/fields/title/en-US }') },
      { contentType: 'application/x-www-form-urlencoded' as const, body: Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, '{ /payload }'])) },
    ];
    for (const transformation of cases) {
      assert.throws(
        () => contentfulBody(big, { url: 'http://x', masterLocale: 'en-us', transformation }, limit),
        (err: unknown) => err instanceof RenderTooLarge && err.limit === limit && Buffer.byteLength(err.prefix) <= limit && /over 1048576 bytes/.test(err.message),
        JSON.stringify(transformation).slice(0, 80),
      );
    }
    // The first bytes of what it would have been are kept (the log shows them).
    assert.throws(
      () => contentfulBody(big, { url: 'http://x', masterLocale: 'en-us', transformation: cases[0] }, 1000),
      (err: unknown) => err instanceof RenderTooLarge && err.prefix === JSON.stringify([contentfulPayload(big, 'en-us')]).slice(0, 1000),
    );
  });

  it('refuses unknown methods, content types and fields, naming them', () => {
    assert.deepEqual(Object.keys(transformationProblems(null)), []);
    assert.deepEqual(Object.keys(transformationProblems({ toString: 1, __proto__x: 1 })).sort(), ['__proto__x', 'toString']);
    assert.deepEqual(Object.keys(transformationProblems({ method: 'TRACE', contentType: 'text/xml', includeContentLength: 'yes', extra: 1 })).sort(), [
      'contentType',
      'extra',
      'includeContentLength',
      'method',
    ]);
    assert.deepEqual(Object.keys(transformationProblems({ method: 'PUT', contentType: 'application/json', includeContentLength: true, body: { a: 1 } })), []);
    let deep: unknown = 'x';
    for (let i = 0; i < 40; i++) deep = [deep];
    assert.match(transformationProblems({ body: deep }).body[0], /nests deeper/);
  });
});

describe('the Contentful request', () => {
  it('sends topic, webhook name and idempotency key, chunked unless Content-Length is asked for', () => {
    const parts = contentfulRequestParts({ name: 'Rebuild site', transformation: null }, 'http://x/hook', 'ContentManagement.Entry.publish', 'exe_1', '{}', 0, null);
    assert.equal(parts.method, 'POST');
    assert.equal(parts.chunked, true);
    assert.deepEqual(parts.headers, {
      'content-type': 'application/vnd.contentful.management.v1+json',
      'x-contentful-topic': 'ContentManagement.Entry.publish',
      'x-contentful-webhook-name': 'Rebuild site',
      'x-contentful-idempotency-key': 'exe_1',
    });
    const t = contentfulRequestParts({ name: 'x', transformation: { method: 'PUT', contentType: 'application/json', includeContentLength: true } }, 'http://x', 't', 'e', '', 0, null);
    assert.equal(t.method, 'PUT');
    assert.equal(t.chunked, false);
    assert.equal(t.headers['content-type'], 'application/json');
  });

  it('percent-encodes a webhook name that is not printable ASCII', () => {
    assert.equal(webhookNameHeader('Café ☕'), 'Caf%C3%A9%20%E2%98%95');
    assert.equal(webhookNameHeader(' plain '), 'plain');
  });

  it('signs so that the toolkit verifyRequest accepts the request, and a tampered one fails', () => {
    const body = '{"sys":{"id":"e1"}}';
    const now = Date.now();
    const parts = contentfulRequestParts({ name: 'Hook', transformation: null }, 'http://127.0.0.1:9/hook/in?a=1&b=x y', 'ContentManagement.Entry.save', 'exe_9', body, now, SECRET);
    // What a node:http receiver sees: lowercase headers, plus transport headers Herald did not sign.
    const headers = { ...parts.headers, host: '127.0.0.1:9', 'transfer-encoding': 'chunked', 'user-agent': 'Herald' };
    const path = '/hook/in?a=1&b=x%20y';
    assert.equal(verifyRequest(SECRET, { method: 'POST', path, headers, body }, 0), true);
    assert.equal(verifyRequest(SECRET, { method: 'POST', path, headers, body: body.replace('e1', 'e2') }, 0), false);
    assert.equal(verifyRequest(SECRET, { method: 'POST', path, headers: { ...headers, 'x-contentful-topic': 'ContentManagement.Entry.delete' }, body }, 0), false);
    assert.equal(verifyRequest(SECRET.replace('k', 'j'), { method: 'POST', path, headers, body }, 0), false);
  });

  it('signs with a millisecond timestamp the toolkit accepts within its default 30 s', () => {
    const parts = contentfulRequestParts({ name: 'Hook', transformation: { method: 'DELETE' } }, 'http://h/x', 'ContentManagement.Asset.delete', 'exe_2', '', Date.now(), SECRET);
    assert.equal(verifyRequest(SECRET, { method: 'DELETE', path: '/x', headers: parts.headers, body: '' }), true);
    const old = signRequest(SECRET, { method: 'POST', path: '/x', headers: {}, body: '' }, Date.now() - 60_000);
    assert.throws(() => verifyRequest(SECRET, { method: 'POST', path: '/x', headers: old, body: '' }), /verified within 30s/);
  });

  it('normalizes the path as the toolkit does', () => {
    assert.equal(canonicalPath('/a b/c'), '/a%20b/c');
    assert.equal(canonicalPath('/p?x=1&y=2'), '/p?x%253D1%2526y%253D2');
    assert.equal(canonicalPath('/p'), '/p');
  });
});
