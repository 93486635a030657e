import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ADMIN_TOKEN, startHerald, type TestHerald } from './helpers/herald.ts';

describe('stacks and management tokens', () => {
  let h: TestHerald;
  before(async () => {
    h = await startHerald();
  });
  after(() => h.close());

  it('answers /healthz once ready', async () => {
    const r = await h.request('GET', '/healthz');
    assert.equal(r.status, 200);
  });

  it('lets only the admin token create a stack', async () => {
    const none = await h.request('POST', '/v3/stacks', { body: { stack: { name: 'x' } } });
    assert.equal(none.status, 401);
    const { api_key, token } = await h.newStack('A');
    const byToken = await h.request('POST', '/v3/stacks', { body: { stack: { name: 'x' } }, headers: { authorization: token, api_key } });
    assert.equal(byToken.status, 403);
    assert.equal(byToken.body.code, 'forbidden');
  });

  it('names the missing field when a stack has no name', async () => {
    const r = await h.request('POST', '/v3/stacks', { body: { stack: {} }, headers: { authtoken: ADMIN_TOKEN } });
    assert.equal(r.status, 422);
    assert.deepEqual(r.body.errors, { 'stack.name': ['is required'] });
  });

  it('returns a management token once, then only masked', async () => {
    const { api_key, token } = await h.newStack('B');
    const list = await h.request('GET', '/v3/stacks/management_tokens', { headers: { authorization: token, api_key } });
    assert.equal(list.status, 200);
    assert.equal(list.body.tokens.length, 1);
    assert.notEqual(list.body.tokens[0].token, token);
    assert.ok(!JSON.stringify(list.body).includes(token));
    assert.match(list.body.tokens[0].token, /^\*\*\*\*.{4}$/);
  });

  it('refuses a deleted token', async () => {
    const { api_key, token } = await h.newStack('C');
    const list = await h.request('GET', '/v3/stacks/management_tokens', { headers: { authorization: token, api_key } });
    const uid = list.body.tokens[0].uid;
    const del = await h.request('DELETE', `/v3/stacks/management_tokens/${uid}`, { headers: { authtoken: ADMIN_TOKEN, api_key } });
    assert.equal(del.status, 200);
    const after = await h.request('GET', '/v3/stacks', { headers: { authorization: token, api_key } });
    assert.equal(after.status, 401);
  });

  it("answers 404, not 403, when a token reaches for another stack", async () => {
    const a = await h.newStack('D');
    const b = await h.newStack('E');
    const r = await h.request('GET', '/v3/stacks', { headers: { authorization: a.token, api_key: b.api_key } });
    assert.equal(r.status, 404);
    const unknown = await h.request('GET', '/v3/stacks', { headers: { authorization: a.token, api_key: 'bltdoesnotexist00' } });
    assert.equal(unknown.status, 404);
    assert.deepEqual(Object.keys(r.body).sort(), Object.keys(unknown.body).sort());
  });

  it('finds a stack created in the store after a request for it got 404', async () => {
    // Herald remembers stacks it found (no stack is ever deleted), never ones it did not find:
    // another process on the same PostgreSQL store may create the stack a moment later.
    const apiKey = 'blt0123456789abcdef';
    const get = () => h.request('GET', '/v3/content_types', { headers: { authtoken: ADMIN_TOKEN, api_key: apiKey } });
    assert.equal((await get()).status, 404);
    const now = Date.now();
    await h.herald.db.run('INSERT INTO stacks (api_key, name, doc, created_at, updated_at) VALUES (?, ?, ?, ?, ?)', [apiKey, 'G', JSON.stringify({ uid: apiKey, api_key: apiKey, name: 'G' }), now, now]);
    assert.equal((await get()).status, 200);
    assert.equal((await get()).status, 200);
  });

  it("writes an entry sent without ?locale= in its own stack's master locale, each stack its own", async () => {
    // Two stacks with different master locales, each asked twice: the master locale a create
    // falls back to is remembered per stack (content/locales.ts masterLocale), never shared.
    const make = async (name: string, master?: string) => {
      const r = await h.request('POST', '/v3/stacks', { body: { stack: { name, ...(master ? { master_locale: master } : {}) } }, headers: { authtoken: ADMIN_TOKEN } });
      assert.equal(r.status, 201);
      const headers = { authtoken: ADMIN_TOKEN, api_key: r.body.stack.api_key as string };
      const ct = await h.request('POST', '/v3/content_types', { body: { content_type: { title: 'Post', uid: 'post', schema: [{ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true }] } }, headers });
      assert.equal(ct.status, 201);
      return headers;
    };
    const fr = await make('French', 'fr-fr');
    const en = await make('English');
    for (let i = 0; i < 2; i++) {
      for (const [headers, locale] of [[fr, 'fr-fr'], [en, 'en-us']] as const) {
        const r = await h.request('POST', '/v3/content_types/post/entries', { body: { entry: { title: `Post ${i}` } }, headers });
        assert.equal(r.status, 201);
        assert.equal(r.body.entry.locale, locale);
      }
    }
  });

  it('keeps stacks across a restart', async () => {
    const { api_key, token } = await h.newStack('F');
    const dir = h.dataDir;
    await h.close();
    h = await startHerald({}, dir);
    const r = await h.request('GET', '/v3/stacks', { headers: { authorization: token, api_key } });
    assert.equal(r.status, 200);
    assert.equal(r.body.stack.name, 'F');
  });
});
