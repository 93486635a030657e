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

  it('applies what each read takes and names what it does not: counts of assets and content types, one item refuses list parameters', async () => {
    const headers = { api_key: site.api_key, access_token: site.production };
    const read = (path: string) => h.request('GET', `${path}${path.includes('?') ? '&' : '?'}environment=production`, { headers });
    // count=true answers the number, as on entries; before, assets and content types sent the list.
    const [assetCount, typeCount] = [(await read('/v3/assets?count=true')).body, (await read('/v3/content_types?count=true')).body];
    assert.deepEqual([assetCount, typeCount.content_types], [{ assets: 1 }, (await read('/v3/content_types')).body.content_types.length]);
    // The 3.x SDK's count() on assets goes through the same route.
    assert.deepEqual(await stackOf(site.production).Assets().Query().count().toJSON().find(), [1]);
    // A content type takes include_branch and only[BASE][], as the lists do; before, one was sent whole.
    const post = (await read('/v3/content_types/post?include_branch=true&only[BASE][]=title')).body.content_type;
    assert.deepEqual(Object.keys(post).sort(), ['_branch', 'title', 'uid']);
    assert.equal((await read('/v3/content_types?include_branch=true')).body.content_types[0]._branch, 'main');
    // One item has nothing to filter, page, sort or count; an asset or content type has no references.
    for (const [path, name] of [
      [`/v3/content_types/post/entries/${site.ids.hello}?query={"title":"Second"}`, 'query'],
      [`/v3/content_types/post/entries/${site.ids.hello}?limit=1`, 'limit'],
      [`/v3/assets/${site.ids.picture}?include_count=true`, 'include_count'],
      ['/v3/assets?include[]=author', 'include[]'],
      ['/v3/content_types/post?count=true', 'count'],
      ['/v3/content_types?include_content_type=true', 'include_content_type'],
    ] as const) {
      const r = await read(path);
      assert.deepEqual([r.status, Object.keys(r.body.errors ?? {})], [422, [name]], `${path}: ${JSON.stringify(r.body)}`);
      assert.match(r.body.error_message, new RegExp(`'${name.replace(/[[\]]/g, '\\$&')}'`));
    }
    // The lists served through a trailing slash (`.../entries/`, as 3.x asks) still take the list's.
    assert.equal((await read('/v3/content_types/post/entries/?limit=1&include_count=true')).body.count, 2);
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
