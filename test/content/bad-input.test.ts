import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { clientError, clientStack, eventsAfter, type TestStack } from './helpers/content.ts';

/** Every content route, with real resource ids of a stack, for tests that sweep them all. */
function contentRoutes(ids: { entry: string; asset: string; api_key: string }): Array<[string, string]> {
  const e = `/v3/content_types/blog/entries/${ids.entry}`;
  const a = `/v3/assets/${ids.asset}`;
  return [
    ['GET', '/v3/environments'],
    ['POST', '/v3/environments'],
    ['GET', '/v3/environments/development'],
    ['PUT', '/v3/environments/development'],
    ['GET', '/v3/locales'],
    ['POST', '/v3/locales'],
    ['GET', '/v3/locales/fr-fr'],
    ['PUT', '/v3/locales/fr-fr'],
    ['GET', '/v3/stacks/branches'],
    ['POST', '/v3/stacks/branches'],
    ['GET', '/v3/stacks/branches/dev'],
    ['GET', '/v3/content_types'],
    ['POST', '/v3/content_types'],
    ['GET', '/v3/content_types/blog'],
    ['PUT', '/v3/content_types/blog'],
    ['GET', '/v3/content_types/blog/entries'],
    ['POST', '/v3/content_types/blog/entries'],
    ['GET', e],
    ['GET', `${e}/versions`],
    ['PUT', e],
    ['POST', `${e}/publish`],
    ['POST', `${e}/unpublish`],
    ['POST', `${e}/archive`],
    ['POST', `${e}/unarchive`],
    ['GET', '/v3/assets'],
    ['POST', '/v3/assets'],
    ['GET', a],
    ['PUT', a],
    ['GET', `${a}/download`],
    ['GET', `/v3/assets/${ids.api_key}/${ids.asset}/file.txt`],
    ['POST', `${a}/publish`],
    ['POST', `${a}/unpublish`],
    ['POST', `${a}/archive`],
    ['POST', `${a}/unarchive`],
  ];
}

/** Deleting routes, swept last (they would remove what the others act on). */
function deleteRoutes(ids: { entry: string; asset: string }): Array<[string, string]> {
  return [
    ['DELETE', `/v3/content_types/blog/entries/${ids.entry}`],
    ['DELETE', `/v3/assets/${ids.asset}`],
    ['DELETE', '/v3/content_types/blog'],
    ['DELETE', '/v3/stacks/branches/dev'],
    ['DELETE', '/v3/environments/development'],
    ['DELETE', '/v3/locales/fr-fr'],
  ];
}

async function seed(s: TestStack) {
  await s.stack.environment().create({ environment: { name: 'development' } });
  await s.stack.locale().create({ locale: { code: 'fr-fr', name: 'French' } });
  await s.stack.contentType().create({
    content_type: {
      title: 'Blog',
      uid: 'blog',
      schema: [
        { uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true },
        { uid: 'views', display_name: 'Views', data_type: 'number' },
        { uid: 'seo', display_name: 'SEO', data_type: 'group', schema: [{ uid: 'keywords', display_name: 'K', data_type: 'text' }] },
      ],
    },
  });
  const entry = await s.stack.contentType('blog').entry().create({ entry: { title: 'Mine' } });
  const asset = await s.stack.asset().create({ upload: Buffer.from('secret bytes'), filename: 'file.txt', content_type: 'text/plain' });
  await s.stack.branch().create({ branch: { uid: 'dev', source: 'main' } });
  return { entry: entry.uid as string, asset: asset.uid as string, api_key: s.api_key };
}

describe('bad input to the content API', () => {
  let h: TestHerald;
  let s: TestStack;
  let ids: Awaited<ReturnType<typeof seed>>;

  before(async () => {
    h = await startHerald({ bodyLimit: 8 * 1024, assetLimit: 4 * 1024 });
    s = await clientStack(h);
    ids = await seed(s);
  });
  after(() => h.close());

  it('answers malformed JSON with a 400 naming the body, at every JSON route', async () => {
    for (const [method, path] of contentRoutes(ids).filter(([m]) => m !== 'GET')) {
      const r = await h.request(method, path, { headers: s.headers, body: '{"entry": {"title": ' });
      assert.equal(r.status, 400, `${method} ${path}`);
      assert.deepEqual(r.body.errors, { body: ['is not valid JSON'] }, `${method} ${path}`);
    }
  });

  it('names the field of a wrong type', async () => {
    const cases: Array<[string, string, unknown, string]> = [
      ['POST', '/v3/environments', { environment: { name: 42 } }, 'environment.name'],
      ['POST', '/v3/locales', { locale: { code: 'not a code' } }, 'locale.code'],
      ['POST', '/v3/stacks/branches', { branch: { uid: ['x'] } }, 'branch.uid'],
      ['POST', '/v3/content_types', { content_type: { title: 'T', uid: 't', schema: {} } }, 'content_type.schema'],
      ['POST', '/v3/content_types', { content_type: 'blog' }, 'content_type'],
      ['POST', '/v3/content_types/blog/entries', { entry: { title: 'x', views: '12' } }, 'entry.views'],
      ['POST', '/v3/content_types/blog/entries', { entry: { title: 'x', seo: { keywords: false } } }, 'entry.seo.keywords'],
      ['POST', '/v3/content_types/blog/entries', { entry: { title: 'x', colour: 'red' } }, 'entry.colour'],
      ['POST', '/v3/content_types/blog/entries', { entry: [] }, 'entry'],
      ['POST', '/v3/content_types/blog/entries', [1, 2], 'entry'],
      ['PUT', `/v3/content_types/blog/entries/${ids.entry}`, { entry: { title: null } }, 'entry.title'],
      ['POST', `/v3/content_types/blog/entries/${ids.entry}/publish`, { entry: { environments: 'development' } }, 'entry.environments'],
      ['POST', `/v3/content_types/blog/entries/${ids.entry}/publish`, { entry: { environments: ['development'], locales: [7] } }, 'entry.locales'],
      ['POST', `/v3/assets/${ids.asset}/publish`, { asset: { environments: [] } }, 'asset.environments'],
      ['PUT', `/v3/assets/${ids.asset}`, { asset: { title: ['x'] } }, 'asset.title'],
      ['GET', '/v3/content_types/blog/entries?limit=500', undefined, 'limit'],
      ['GET', '/v3/content_types/blog/entries?query=%7Bnope', undefined, 'query'],
      ['GET', '/v3/content_types/blog/entries?locale=zz-zz', undefined, 'locale'],
      ['GET', `/v3/content_types/blog/entries/${ids.entry}?version=first`, undefined, 'version'],
      ['GET', '/v3/assets?include_count=perhaps', undefined, 'include_count'],
    ];
    for (const [method, path, body, field] of cases) {
      const r = await h.request(method, path, { headers: s.headers, body });
      assert.equal(r.status, 422, `${method} ${path} ${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
      assert.ok(field in r.body.errors, `${method} ${path}: expected ${field} in ${JSON.stringify(r.body.errors)}`);
      assert.match(r.body.error_message, new RegExp(field.replace(/[.[\]]/g, '\\$&')));
    }
  });

  it('answers an unknown content type, entry or asset with a 404 naming it', async () => {
    const ct = await h.request('POST', '/v3/content_types/ghost/entries', { headers: s.headers, body: { entry: { title: 'x' } } });
    assert.equal(ct.status, 404);
    assert.equal(ct.body.error_message, "Content type 'ghost' was not found.");
    const entry = await h.request('GET', '/v3/content_types/blog/entries/blt0000000000000000', { headers: s.headers });
    assert.equal(entry.status, 404);
    assert.match(entry.body.error_message, /Entry blt0000000000000000/);
    const asset = await h.request('GET', '/v3/assets/blt0000000000000000', { headers: s.headers });
    assert.equal(asset.status, 404);
    await assert.rejects(s.stack.contentType('ghost').fetch(), clientError(404));
  });

  it('answers a missing mandatory field with a 422 naming it, through the client too', async () => {
    await assert.rejects(s.stack.contentType('blog').entry().create({ entry: { views: 3 } }), clientError(422, 'entry.title'));
    const r = await h.request('POST', '/v3/content_types/blog/entries', { headers: s.headers, body: { entry: {} } });
    assert.equal(r.body.error_message, 'entry.title is required');
  });

  it('answers an oversize JSON body with a 413', async () => {
    const r = await h.request('POST', '/v3/content_types/blog/entries', { headers: s.headers, body: { entry: { title: 'x'.repeat(10 * 1024) } } });
    assert.equal(r.status, 413);
    assert.equal(r.body.code, 'payload_too_large');
  });

  it('answers an oversize upload with a 413 and keeps no partial file', async () => {
    const before = readdirSync(join(h.dataDir, 'assets', s.api_key)).sort();
    await assert.rejects(s.stack.asset().create({ upload: Buffer.alloc(64 * 1024, 1), filename: 'big.bin' }), clientError(413));
    const form = new FormData();
    form.append('asset[upload]', new Blob([Buffer.alloc(16 * 1024)]), 'big.bin');
    const r = await fetch(`${h.url}/v3/assets`, { method: 'POST', headers: s.headers, body: form });
    assert.equal(r.status, 413);
    assert.match(((await r.json()) as { error_message: string }).error_message, /larger than the server accepts/);
    assert.deepEqual(readdirSync(join(h.dataDir, 'assets', s.api_key)).sort(), before);
  });

  it('names what is wrong with an upload that has no file, an unknown field, or is not multipart', async () => {
    const noFile = new FormData();
    noFile.append('asset[title]', 'lonely');
    const r1 = await fetch(`${h.url}/v3/assets`, { method: 'POST', headers: s.headers, body: noFile });
    assert.equal(r1.status, 422);
    assert.ok('asset[upload]' in ((await r1.json()) as { errors: object }).errors);

    const unknown = new FormData();
    unknown.append('asset[colour]', 'red');
    unknown.append('asset[upload]', new Blob(['x']), 'x.txt');
    const r2 = await fetch(`${h.url}/v3/assets`, { method: 'POST', headers: s.headers, body: unknown });
    assert.equal(r2.status, 422);
    assert.ok('asset[colour]' in ((await r2.json()) as { errors: object }).errors);

    const json = await h.request('POST', '/v3/assets', { headers: s.headers, body: { asset: { title: 'x' } } });
    assert.equal(json.status, 415);
    assert.ok('asset[upload]' in json.body.errors);
  });

  it('removes the new file when a file replacement is refused', async () => {
    const asset = await s.stack.asset().create({ upload: Buffer.from('v1'), filename: 'v1.txt' });
    assert.equal((await h.request('POST', `/v3/assets/${asset.uid}/archive`, { headers: s.headers })).status, 200);
    const before = readdirSync(join(h.dataDir, 'assets', s.api_key)).sort();
    await assert.rejects(asset.replace({ upload: Buffer.from('v2'), filename: 'v2.txt' }), clientError(422));
    assert.deepEqual(readdirSync(join(h.dataDir, 'assets', s.api_key)).sort(), before);
    const file = await fetch(`${h.url}/v3/assets/${asset.uid}/download`, { headers: s.headers });
    assert.equal(await file.text(), 'v1');
  });

  it('refuses a scheduled_at that is not a date and time with a time zone (scheduling: test/content/schedule.test.ts)', async () => {
    for (const scheduled_at of ['2030-01-01', '2030-01-01T00:00:00', 'soon', 1893456000000]) {
      const r = await h.request('POST', `/v3/content_types/blog/entries/${ids.entry}/publish`, {
        headers: s.headers,
        body: { entry: { environments: ['development'], locales: ['en-us'] }, scheduled_at },
      });
      assert.equal(r.status, 422, String(scheduled_at));
      assert.ok('scheduled_at' in r.body.errors);
    }
  });

  it('never answers 500 to odd bodies and parameters at any route', async () => {
    const keys = ['entry', 'asset', 'content_type', 'environment', 'locale', 'branch'];
    // Strings are sent as raw JSON text (so a "__proto__" key reaches the server as sent).
    const odd: unknown[] = [null, [], '"text"', 0, true, {}, '{"__proto__":{"polluted":true},"entry":{"__proto__":{"title":"x"},"title":"t"}}'];
    for (const k of keys) {
      odd.push(
        { [k]: null },
        { [k]: [] },
        { [k]: 'x' },
        { [k]: 1e308 },
        { [k]: {} },
        { [k]: { __proto__: { title: 'x' }, constructor: { prototype: {} } } },
        { [k]: { title: {}, name: [], code: {}, uid: {}, source: 5, schema: [null, 1, 'a', { uid: 1 }, { uid: 'g', data_type: 'group', schema: 'x' }] } },
        { [k]: { environments: [1, null], locales: 'en-us' }, locale: {}, version: 'x' },
        { [k]: { title: 'ok', seo: [[[[]]]], views: { $gt: 1 }, tags: [{}] } },
        { [k]: { urls: [{ locale: 1, url: 'javascript:alert(1)' }], fallback_locale: 'fr-fr' } },
      );
    }
    const deep = JSON.parse('{"entry":{"title":' + '['.repeat(2000) + ']'.repeat(2000) + '}}');
    odd.push(deep);
    const queries = ['', '?skip=-1&limit=0', '?query=%5B%5D', '?query=' + encodeURIComponent('{"$and":[{"$or":[{"a":{"$in":5}}]}]}'), '?locale=%00', '?version=-3', '?asc=a&desc=b', '?auto_save=maybe'];
    for (const [method, path] of contentRoutes(ids)) {
      for (const body of method === 'GET' ? [undefined] : odd) {
        for (const q of method === 'GET' || body === odd[0] ? queries : ['']) {
          const r = await h.request(method, path + q, { headers: s.headers, body });
          assert.ok(r.status < 500, `${method} ${path}${q} ${JSON.stringify(body)?.slice(0, 200)} -> ${r.status} ${JSON.stringify(r.body)}`);
        }
      }
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it("answers 404 to a token of another stack on every content route, and leaves that stack's content alone", async () => {
    const other = await clientStack(h, 'Intruder');
    const before = await eventsAfter(h, s);
    for (const [method, path] of [...contentRoutes(ids), ...deleteRoutes(ids)]) {
      const body = method === 'GET' || method === 'DELETE' ? undefined : { entry: { title: 'x', environments: ['development'] } };
      const foreign = await h.request(method, path, { headers: { api_key: s.api_key, authorization: other.token }, body });
      assert.equal(foreign.status, 404, `${method} ${path} with another stack's token: ${foreign.status}`);
      // The same ids under the intruder's own stack do not exist either.
      if (method === 'GET' && path.includes('blt')) {
        const own = await h.request(method, path.replace(s.api_key, other.api_key), { headers: other.headers });
        assert.equal(own.status, 404, `${method} ${path} in the intruder's stack`);
      }
      // The branch header cannot reach into another stack either.
      const viaBranch = await h.request(method, path, { headers: { api_key: s.api_key, authorization: other.token, branch: 'dev' }, body });
      assert.equal(viaBranch.status, 404, `${method} ${path} (branch dev)`);
    }
    assert.deepEqual(await eventsAfter(h, s), before, 'no event in the attacked stack');
    assert.equal((await s.stack.contentType('blog').entry(ids.entry).fetch()).title, 'Mine');
    const file = await fetch(`${h.url}/v3/assets/${ids.asset}/download`, { headers: s.headers });
    assert.equal(await file.text(), 'secret bytes');
  });
});
