import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as cs from 'contentstack';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { PUBLISH, publishedSite, type Site } from './helpers/site.ts';

// Under ESM the CommonJS build's default export is the module object itself (stack.md).
const Contentstack = ((cs as { default?: unknown }).default ?? cs) as any;

/** Contentstack's older JavaScript SDK (`contentstack` 3.x), unmodified, against Herald's delivery API. */
describe('the contentstack 3.x SDK against Herald', () => {
  let h: TestHerald;
  let site: Site;
  const stackOf = (token: string, environment = 'production') => {
    const { hostname, port } = new URL(h.url);
    const stack = Contentstack.Stack({ api_key: site.api_key, delivery_token: token, environment });
    stack.setHost(hostname);
    stack.setPort(Number(port));
    stack.setProtocol('http');
    return stack;
  };

  before(async () => {
    h = await startHerald();
    site = await publishedSite(h);
  });
  after(() => h.close());

  it('queries with operators, counts, and reads only its environment', async () => {
    const [entries, count] = await stackOf(site.production).ContentType('post').Query().lessThan('rank', 3).includeCount().toJSON().find();
    assert.deepEqual(entries.map((e: any) => e.title), ['Hello', 'Second']);
    assert.equal(count, 2);
    const [one] = await stackOf(site.production).ContentType('post').Query().where('title', 'Second').toJSON().find();
    assert.deepEqual(one.map((e: any) => e.uid), [site.ids.second]);
    const [staging] = await stackOf(site.staging, 'staging').ContentType('post').Query().toJSON().find();
    assert.deepEqual(staging.map((e: any) => e.title), ['Staging only']);
  });

  it('fetches an entry with its published references, only and except', async () => {
    const e = await stackOf(site.production).ContentType('post').Entry(site.ids.hello).includeReference('authors').toJSON().fetch();
    assert.deepEqual(e.authors.map((a: any) => a.title), ['Ada']);
    const only = await stackOf(site.production).ContentType('post').Entry(site.ids.hello).only(['title']).toJSON().fetch();
    assert.equal(only.title, 'Hello');
    assert.equal(only.rank, undefined);
    const except = await stackOf(site.production).ContentType('post').Entry(site.ids.hello).except(['rank']).toJSON().fetch();
    assert.equal(except.rank, undefined);
    assert.equal(except.title, 'Hello');
  });

  it('falls back to the fallback locale when asked', async () => {
    const [none] = await stackOf(site.production).ContentType('post').Query().language('fr-fr').toJSON().find();
    assert.deepEqual(none, []);
    const [fallback] = await stackOf(site.production).ContentType('post').Query().language('fr-fr').includeFallback().toJSON().find();
    assert.deepEqual(fallback.map((e: any) => e.title), ['Hello', 'Second']);
  });

  it('syncs from init, then by token after a publish, an unpublish and a delete', async () => {
    const stack = stackOf(site.production);
    const init = await stack.sync({ init: true });
    assert.deepEqual(init.items.map((i: any) => i.type).sort(), ['asset_published', 'entry_published', 'entry_published', 'entry_published']);
    const fresh = await site.stack.contentType('post').entry().create({ entry: { title: 'Fresh', rank: 5 } });
    await site.stack.contentType('post').entry(fresh.uid).publish(PUBLISH(['production']));
    await site.stack.asset(site.ids.picture).unpublish(PUBLISH(['production']));
    await site.stack.contentType('author').entry(site.ids.ada).unpublish(PUBLISH(['production', 'staging']));
    await site.stack.contentType('post').entry(site.ids.second).delete();
    const delta = await stack.sync({ sync_token: init.sync_token });
    assert.deepEqual(
      delta.items.map((i: any) => `${i.type}:${i.data.uid}`),
      [`entry_published:${fresh.uid}`, `asset_unpublished:${site.ids.picture}`, `entry_unpublished:${site.ids.ada}`, `entry_deleted:${site.ids.second}`],
    );
    assert.deepEqual((await stack.sync({ sync_token: delta.sync_token })).items, []);
  });
});
