import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { PUBLISH, publishedSite, type Site } from './helpers/site.ts';

/** Delivery tokens as the management client makes them, and how delivery responses cache. */
describe('delivery tokens and delivery caching', () => {
  let h: TestHerald;
  let site: Site;
  const read = (token: string, path: string, headers: Record<string, string> = {}) =>
    fetch(`${h.url}${path}`, { headers: { api_key: site.api_key, access_token: token, ...headers } });

  before(async () => {
    h = await startHerald();
    site = await publishedSite(h);
  });
  after(() => h.close());

  it('creates a token scoped to environments through the management client, shows it once, lists it masked, and revokes it', async () => {
    const created = await site.stack.deliveryToken().create({
      token: { name: 'site', description: 'the web site', scope: [{ module: 'environment', environments: ['production'], acl: { read: true } }, { module: 'branch', branches: ['main'], acl: { read: true } }] },
    });
    assert.match(created.token, /^cs[A-Za-z0-9_-]{40,}$/);
    assert.deepEqual(created.scope[0].environments.map((e: any) => e.name), ['production']);
    assert.equal((await read(created.token, '/v3/content_types/post/entries?environment=production')).status, 200);

    const listed = await site.stack.deliveryToken().query().find();
    const mine = listed.items.find((t: any) => t.uid === created.uid);
    assert.equal(mine.token, `****${created.token.slice(-4)}`);
    assert.equal((await site.stack.deliveryToken(created.uid).fetch()).token, `****${created.token.slice(-4)}`);
    const stored = await h.herald.db.all<{ doc: string; token_hash: string }>('SELECT doc, token_hash FROM delivery_tokens');
    assert.ok(stored.every((r) => !r.doc.includes(created.token) && r.token_hash !== created.token), 'only a hash is stored');

    await site.stack.deliveryToken(created.uid).delete();
    const revoked = await read(created.token, '/v3/content_types/post/entries?environment=production');
    assert.equal(revoked.status, 401);
  });

  it('refuses a token without environments, with an unknown one, or asking to write, naming the field', async () => {
    const post = (token: unknown) => h.request('POST', '/v3/stacks/delivery_tokens', { headers: site.headers, body: { token } });
    const none = await post({ name: 'x', scope: [] });
    assert.equal(none.status, 422);
    assert.ok('token.scope' in none.body.errors);
    const unknown = await post({ name: 'x', scope: [{ module: 'environment', environments: ['nowhere'] }] });
    assert.ok('token.scope[0].environments' in unknown.body.errors);
    const write = await post({ name: 'x', scope: [{ module: 'environment', environments: ['production'], acl: { read: true, write: true } }] });
    assert.ok('token.scope[0].acl.write' in write.body.errors);
    const noName = await post({ scope: [{ module: 'environment', environments: ['production'] }] });
    assert.ok('token.name' in noName.body.errors);
  });

  it('re-scopes a token: it then reads the new environment and not the old', async () => {
    const created = await site.stack.deliveryToken().create({ token: { name: 'moving', scope: [{ module: 'environment', environments: ['production'] }] } });
    const token = created.token;
    const r = await h.request('PUT', `/v3/stacks/delivery_tokens/${created.uid}`, { headers: site.headers, body: { token: { scope: [{ module: 'environment', environments: ['staging'] }] } } });
    assert.equal(r.status, 200);
    assert.equal((await read(token, '/v3/content_types/post/entries?environment=production')).status, 422);
    assert.equal((await read(token, '/v3/content_types/post/entries?environment=staging')).status, 200);
  });

  it('does not let a delivery token manage anything or read another stack', async () => {
    assert.equal((await fetch(`${h.url}/v3/webhooks`, { headers: { api_key: site.api_key, access_token: site.production } })).status, 401);
    const other = await h.newStack('other');
    assert.equal((await fetch(`${h.url}/v3/content_types/post/entries?environment=production`, { headers: { api_key: other.api_key, access_token: site.production } })).status, 404);
    // A management token on the same path reads drafts, as before.
    const mgmt = await h.request('GET', '/v3/content_types/post/entries', { headers: site.headers });
    assert.ok(mgmt.body.entries.some((e: any) => e.title === 'Draft'));
  });

  it('answers with an ETag, 304 while nothing changed, and a new tag after a publish', async () => {
    const path = '/v3/content_types/post/entries?environment=production&include[]=authors';
    const first = await read(site.production, path);
    assert.equal(first.status, 200);
    const etag = first.headers.get('etag')!;
    assert.match(first.headers.get('cache-control')!, /max-age=0, must-revalidate/);
    assert.match(first.headers.get('vary')!, /access_token/);
    const same = await read(site.production, path, { 'if-none-match': etag });
    assert.equal(same.status, 304);
    const fresh = await site.stack.contentType('post').entry().create({ entry: { title: 'Newer', rank: 9 } });
    // Any change of the stack makes a new tag (cheap to check); a draft does not change the content.
    const afterDraft = await read(site.production, path);
    assert.deepEqual((await afterDraft.json()).entries.map((e: any) => e.title), (await first.json()).entries.map((e: any) => e.title));
    await site.stack.contentType('post').entry(fresh.uid).publish(PUBLISH(['production']));
    const changed = await read(site.production, path, { 'if-none-match': etag });
    assert.equal(changed.status, 200);
    assert.ok((await changed.json()).entries.some((e: any) => e.title === 'Newer'));
  });

  it("never lets one request's except[] or include[] change what another request reads from the same published view", async () => {
    const list = (query: string) => read(site.production, `/v3/content_types/post/entries?environment=production${query}`).then((r) => r.json());
    const refsOf = (body: any) => body.entries.find((e: any) => e.uid === site.ids.hello).authors;
    const cut = await list('&except[BASE][]=authors._content_type_uid');
    assert.deepEqual(refsOf(cut).map((r: any) => Object.keys(r)), [['uid'], ['uid']], 'except removed the nested key from this answer');
    const included = await list('&include[]=authors&except[authors][]=bio');
    assert.deepEqual(refsOf(included).map((a: any) => [a.title, a.bio]), [['Ada', undefined]], 'Bob is not published to production');
    // Different URLs (not the response cache): built again from the same view.
    const plain = await list('&limit=50');
    assert.deepEqual(refsOf(plain), [{ uid: site.ids.ada, _content_type_uid: 'author' }, { uid: site.ids.bob, _content_type_uid: 'author' }]);
    const again = await list('&include[]=authors&limit=50');
    assert.deepEqual(refsOf(again).map((a: any) => [a.title, a.bio]), [['Ada', 'first programmer']]);
  });

  it('answers a page asked for again with the same bytes and tag, and a page asked for once like any other', async () => {
    const paths = ['/v3/content_types/post/entries?environment=production&include[]=authors&skip=0', '/v3/content_types/post/entries?environment=production&include[]=authors&skip=1'];
    for (const path of paths) {
      const answers = [];
      // The first build is not kept, the second is, the third is the kept one: all the same.
      for (let i = 0; i < 3; i++) {
        const r = await read(site.production, path);
        answers.push({ status: r.status, etag: r.headers.get('etag'), type: r.headers.get('content-type'), body: await r.text() });
      }
      assert.equal(answers[0].status, 200);
      assert.equal(answers[0].type, 'application/json; charset=utf-8');
      assert.deepEqual(answers[1], answers[0]);
      assert.deepEqual(answers[2], answers[0]);
      assert.ok(JSON.parse(answers[0].body).entries.length > 0);
    }
  });

  it('sends the README purge webhook what a CDN purge needs: module, uid and content type, on publish, unpublish and delete', async () => {
    const receiver = await startReceiver();
    try {
      const hook = await h.request('POST', '/v3/webhooks', {
        headers: site.headers,
        body: {
          webhook: {
            name: 'purge CDN',
            destinations: [{ target_url: `${receiver.url}/herald` }],
            channels: ['content_types.entries.publish', 'content_types.entries.unpublish', 'content_types.entries.delete', 'assets.publish', 'assets.unpublish', 'assets.delete'],
            concise_payload: true,
          },
        },
      });
      assert.equal(hook.status, 201, JSON.stringify(hook.body));
      const e = await site.stack.contentType('post').entry().create({ entry: { title: 'Purged', rank: 7 } });
      await site.stack.contentType('post').entry(e.uid).publish(PUBLISH(['production']));
      await site.stack.contentType('post').entry(e.uid).unpublish(PUBLISH(['production']));
      await site.stack.asset(site.ids.picture).unpublish(PUBLISH(['production']));
      await receiver.waitFor(3);
      // In event order (seq): Herald keeps order per entity; calls about different entities may cross.
      const calls = [...receiver.received]
        .sort((a: any, b: any) => a.json.seq - b.json.seq)
        .map((r: any) => `${r.json.module}.${r.json.event}:${r.json.module === 'asset' ? r.json.data.asset.uid : `${r.json.data.content_type.uid}/${r.json.data.entry.uid}`}`);
      assert.deepEqual(calls, [`entry.publish:post/${e.uid}`, `entry.unpublish:post/${e.uid}`, `asset.unpublish:${site.ids.picture}`]);
      const entryCalls = receiver.received.filter((r: any) => r.json.module === 'entry').map((r: any) => r.json.event);
      assert.deepEqual(entryCalls, ['publish', 'unpublish'], "one entry's calls arrive in order");
    } finally {
      await receiver.close();
    }
  });
});
