import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import contentstack from '@contentstack/delivery-sdk';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { PUBLISH, publishedSite, type Site } from './helpers/site.ts';

/**
 * Contentstack's TypeScript delivery SDK (@contentstack/delivery-sdk 5.2), unmodified, reading
 * what is published through Herald's Content Delivery API.
 */
describe('the Contentstack delivery SDK against Herald', () => {
  let h: TestHerald;
  let site: Site;
  const sdk = (token: string, environment = 'production', extra: Record<string, unknown> = {}) => {
    const { hostname, port } = new URL(h.url);
    return contentstack.stack({ apiKey: site.api_key, deliveryToken: token, environment, host: hostname, port: Number(port), insecure: true, retryOnError: false, ...extra } as any);
  };

  before(async () => {
    h = await startHerald();
    site = await publishedSite(h);
  });
  after(() => h.close());

  it('lists what is published to its environment, never drafts or another environment', async () => {
    const r = await sdk(site.production).contentType('post').entry().includeCount().find<any>();
    assert.deepEqual(r.entries!.map((e: any) => e.title), ['Hello', 'Second']);
    assert.equal(r.count, 2);
    const staging = await sdk(site.staging, 'staging').contentType('post').entry().find<any>();
    assert.deepEqual(staging.entries!.map((e: any) => e.title), ['Staging only']);
  });

  it('queries with operators', async () => {
    const q = sdk(site.production).contentType('post').entry().query();
    const r = await q.where('rank', '$gt' as any, 1).find<any>();
    assert.deepEqual(r.entries!.map((e: any) => e.title), ['Second']);
    const inList = await sdk(site.production).contentType('post').entry().query().containedIn('title', ['Hello', 'Draft']).find<any>();
    assert.deepEqual(inList.entries!.map((e: any) => e.title), ['Hello']);
  });

  it('fetches one entry, resolves published references only, and applies only/except', async () => {
    const e = await sdk(site.production).contentType('post').entry(site.ids.hello).includeReference('authors').fetch<any>();
    assert.equal(e.title, 'Hello');
    assert.deepEqual(e.authors.map((a: any) => a.title), ['Ada'], 'Bob is not published: left out');
    assert.equal(e.picture.filename, 'pic.png');
    assert.equal(await (await fetch(e.picture.url)).text(), 'a picture', 'the asset url needs no credential');
    const only = await sdk(site.production).contentType('post').entry(site.ids.hello).only(['title']).fetch<any>();
    assert.deepEqual(Object.keys(only).sort(), ['publish_details', 'title', 'uid'].filter((k) => k in only).sort());
    assert.equal(only.rank, undefined);
    const except = await sdk(site.production).contentType('post').entry(site.ids.hello).except(['rank']).fetch<any>();
    assert.equal(except.rank, undefined);
    assert.equal(except.title, 'Hello');
  });

  it('shows a draft edit only once it is published', async () => {
    const entry = await site.stack.contentType('post').entry(site.ids.second).fetch();
    entry.title = 'Second (edited)';
    await entry.update();
    const before = await sdk(site.production).contentType('post').entry(site.ids.second).fetch<any>();
    assert.equal(before.title, 'Second');
    await site.stack.contentType('post').entry(site.ids.second).publish(PUBLISH(['production']));
    const afterPublish = await sdk(site.production).contentType('post').entry(site.ids.second).fetch<any>();
    assert.equal(afterPublish.title, 'Second (edited)');
  });

  it('falls back to the fallback locale only when asked', async () => {
    const fr = await sdk(site.production).contentType('post').entry().locale('fr-fr').find<any>();
    assert.deepEqual(fr.entries, []);
    const withFallback = await sdk(site.production).contentType('post').entry().locale('fr-fr').includeFallback().find<any>();
    assert.deepEqual(withFallback.entries!.map((e: any) => [e.title, e.locale]).sort(), [['Hello', 'en-us'], ['Second (edited)', 'en-us']]);
  });

  it('reads nothing of another environment with a token of one', async () => {
    await assert.rejects(sdk(site.production, 'staging').contentType('post').entry().find(), (err: any) => {
      assert.equal(err.status ?? err.response?.status, 422);
      return true;
    });
    await assert.rejects(sdk(site.production).contentType('post').entry(site.ids.stagingOnly).fetch(), (err: any) => (err.status ?? err.response?.status) === 404);
  });

  // Last: it deletes content the tests above read.
  it('syncs: init gives what is published, then its token gives each later change once', async () => {
    const stack = sdk(site.production);
    const init: any = await stack.sync({}, true);
    const seen = (items: any[]) => items.map((i) => `${i.type}:${i.data.title ?? i.data.filename ?? ''}:${i.data.uid}`).sort();
    assert.deepEqual(seen(init.items), [
      `asset_published:pic.png:${site.ids.picture}`,
      `entry_published:Ada:${site.ids.ada}`,
      `entry_published:Hello:${site.ids.hello}`,
      `entry_published:Second (edited):${site.ids.second}`,
    ]);
    assert.ok(init.sync_token);

    const fresh = await site.stack.contentType('post').entry().create({ entry: { title: 'Fresh', rank: 5 } });
    await site.stack.contentType('post').entry(fresh.uid).publish(PUBLISH(['production']));
    await site.stack.contentType('post').entry(site.ids.second).unpublish(PUBLISH(['production']));
    await site.stack.contentType('post').entry(site.ids.hello).delete();
    await site.stack.contentType('post').entry(site.ids.draft).publish(PUBLISH(['staging'])); // another environment
    const draft = await site.stack.contentType('post').entry(site.ids.stagingOnly).fetch();
    draft.title = 'edited, not published';
    await draft.update();

    const delta: any = await stack.sync({ syncToken: init.sync_token });
    assert.deepEqual(
      delta.items.map((i: any) => `${i.type}:${i.data.uid}`),
      [`entry_published:${fresh.uid}`, `entry_unpublished:${site.ids.second}`, `entry_deleted:${site.ids.hello}`],
    );
    assert.equal(delta.items[0].data.title, 'Fresh');
    const again: any = await stack.sync({ syncToken: delta.sync_token });
    assert.deepEqual(again.items, [], 'nothing twice');
    // The entry list agrees with what sync said.
    const list = await stack.contentType('post').entry().find<any>();
    assert.deepEqual(list.entries!.map((e: any) => e.title), ['Fresh']);
  });

  it('pages a large initial sync and filters by type', async () => {
    const s = await (await import('../content/helpers/content.ts')).clientStack(h);
    await s.stack.environment().create({ environment: { name: 'production' } });
    await s.stack.contentType().create({ content_type: { title: 'Note', uid: 'note', schema: [{ uid: 'title', display_name: 'T', data_type: 'text' }] } });
    const uids: string[] = [];
    for (let i = 0; i < 130; i++) {
      const e = await s.stack.contentType('note').entry().create({ entry: { title: `n${i}` } });
      await s.stack.contentType('note').entry(e.uid).publish(PUBLISH(['production']));
      uids.push(e.uid);
    }
    const token = await (await import('./helpers/site.ts')).deliveryToken(h, s, ['production']);
    const { hostname, port } = new URL(h.url);
    const stack = contentstack.stack({ apiKey: s.api_key, deliveryToken: token, environment: 'production', host: hostname, port: Number(port), insecure: true } as any);
    const first: any = await stack.sync({});
    assert.equal(first.items.length, 100);
    assert.ok(first.pagination_token && !first.sync_token);
    const second: any = await stack.sync({ paginationToken: first.pagination_token });
    assert.equal(second.items.length, 30);
    assert.ok(second.sync_token);
    assert.deepEqual([...first.items, ...second.items].map((i: any) => i.data.uid).sort(), [...uids].sort());
    const assetsOnly: any = await stack.sync({ type: 'asset_published' } as any);
    assert.deepEqual(assetsOnly.items, []);
  });
});
