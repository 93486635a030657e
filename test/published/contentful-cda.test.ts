import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createClient } from 'contentful';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { clientStack, type TestStack } from '../content/helpers/content.ts';
import { PUBLISH } from './helpers/site.ts';

/**
 * contentful.js (the `contentful` package, 11.x), unmodified, against Herald's Content Delivery
 * and Preview APIs: keys made at /spaces/{space}/api_keys; content published to Contentful's
 * environment master (Herald's environment named master on branch main).
 */
describe('contentful.js against Herald', () => {
  let h: TestHerald;
  let s: TestStack;
  let keys: { delivery: string; preview: string; id: string };
  const ids: Record<string, string> = {};
  const client = (accessToken: string) => createClient({ space: s.api_key, accessToken, host: new URL(h.url).host, insecure: true, environment: 'master', retryOnError: false } as any);

  before(async () => {
    h = await startHerald();
    s = await clientStack(h);
    await s.stack.environment().create({ environment: { name: 'master' } });
    await s.stack.locale().create({ locale: { code: 'de-de', name: 'German', fallback_locale: 'en-us' } });
    await s.stack.contentType().create({ content_type: { title: 'Author', uid: 'author', schema: [{ uid: 'title', display_name: 'Name', data_type: 'text', mandatory: true }] } });
    await s.stack.contentType().create({
      content_type: {
        title: 'Post',
        uid: 'post',
        schema: [
          { uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true },
          { uid: 'rank', display_name: 'Rank', data_type: 'number' },
          { uid: 'authors', display_name: 'Authors', data_type: 'reference', reference_to: ['author'], multiple: true },
          { uid: 'picture', display_name: 'Picture', data_type: 'file' },
        ],
      },
    });
    const pic = await s.stack.asset().create({ upload: Buffer.from('cat picture'), filename: 'cat.png', content_type: 'image/png' });
    await s.stack.asset(pic.uid).publish(PUBLISH(['master']));
    const ada = await s.stack.contentType('author').entry().create({ entry: { title: 'Ada' } });
    await s.stack.contentType('author').entry(ada.uid).publish(PUBLISH(['master']));
    const hello = await s.stack.contentType('post').entry().create({ entry: { title: 'Hello', rank: 1, authors: [{ uid: ada.uid, _content_type_uid: 'author' }], picture: pic.uid } });
    await s.stack.contentType('post').entry(hello.uid).publish(PUBLISH(['master']));
    const second = await s.stack.contentType('post').entry().create({ entry: { title: 'Second', rank: 2 } });
    await s.stack.contentType('post').entry(second.uid).publish(PUBLISH(['master']));
    const draft = await s.stack.contentType('post').entry().create({ entry: { title: 'Draft', rank: 3 } });
    Object.assign(ids, { pic: pic.uid, ada: ada.uid, hello: hello.uid, second: second.uid, draft: draft.uid });
    const r = await h.request('POST', `/spaces/${s.api_key}/api_keys`, {
      headers: { authorization: `Bearer ${s.token}` },
      body: { name: 'site', environments: [{ sys: { type: 'Link', linkType: 'Environment', id: 'master' } }] },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    keys = { delivery: r.body.accessToken, preview: r.body.preview_api_key.accessToken, id: r.body.sys.id };
  });
  after(() => h.close());

  it('lists published entries with links resolved two levels deep, never drafts', async () => {
    const r = await client(keys.delivery).getEntries({ content_type: 'post', include: 2 } as any);
    assert.deepEqual(r.items.map((e: any) => e.fields.title), ['Hello', 'Second']);
    const hello: any = r.items[0];
    assert.equal(hello.fields.authors[0].fields.title, 'Ada', 'the author link resolved');
    assert.equal(hello.fields.picture.fields.file.fileName, 'cat.png');
    assert.equal(await (await fetch(hello.fields.picture.fields.file.url)).text(), 'cat picture');
    assert.equal(r.total, 2);
  });

  it('filters, orders and selects with the search parameters', async () => {
    const r = await client(keys.delivery).getEntries({ content_type: 'post', 'fields.rank[gte]': 2 } as any);
    assert.deepEqual(r.items.map((e: any) => e.fields.title), ['Second']);
    const ordered = await client(keys.delivery).getEntries({ content_type: 'post', order: '-fields.rank' } as any);
    assert.deepEqual(ordered.items.map((e: any) => e.fields.title), ['Second', 'Hello']);
    const byId = await client(keys.delivery).getEntries({ 'sys.id[in]': `${ids.hello},${ids.draft}` } as any);
    assert.deepEqual(byId.items.map((e: any) => e.sys.id), [ids.hello]);
    const selected = await client(keys.delivery).getEntries({ content_type: 'post', select: 'fields.title' } as any);
    assert.deepEqual(selected.items.map((e: any) => Object.keys(e.fields)), [['title'], ['title']]);
  });

  it('fetches one entry, the assets, and every locale with locale=*', async () => {
    const e: any = await client(keys.delivery).getEntry(ids.hello);
    assert.equal(e.fields.title, 'Hello');
    assert.equal(e.fields.authors[0].fields.title, 'Ada');
    const assets = await client(keys.delivery).getAssets();
    assert.deepEqual(assets.items.map((a: any) => a.fields.file.fileName), ['cat.png']);
    const all: any = await client(keys.delivery).withAllLocales.getEntry(ids.second);
    assert.deepEqual(all.fields.title, { 'en-US': 'Second' });
    const de: any = await client(keys.delivery).getEntry(ids.second, { locale: 'de-DE' } as any);
    assert.equal(de.fields.title, 'Second', 'falls back to en-US');
    assert.equal(de.sys.locale, 'de-DE');
  });

  it('shows drafts to a preview key only', async () => {
    await assert.rejects(client(keys.delivery).getEntry(ids.draft));
    const preview = await client(keys.preview).getEntries({ content_type: 'post' } as any);
    assert.deepEqual(preview.items.map((e: any) => e.fields.title), ['Hello', 'Second', 'Draft']);
  });

  it('keeps keys secret: listed masked, revoked at delete', async () => {
    const list = await h.request('GET', `/spaces/${s.api_key}/api_keys`, { headers: { authorization: `Bearer ${s.token}` } });
    assert.equal(list.body.items[0].accessToken, `****${keys.delivery.slice(-4)}`);
    const other = await h.request('POST', `/spaces/${s.api_key}/api_keys`, { headers: { authorization: `Bearer ${s.token}` }, body: { name: 'temp' } });
    // Paged and searched as the other lists (they came whole, whatever the query said); anything else is a 400.
    for (const list of ['api_keys', 'preview_api_keys']) {
      const paged = await h.request('GET', `/spaces/${s.api_key}/${list}?limit=1&skip=1`, { headers: { authorization: `Bearer ${s.token}` } });
      assert.deepEqual([paged.body.items.length, paged.body.total, paged.body.skip, paged.body.limit], [1, 2, 1, 1], list);
      const bad = await h.request('GET', `/spaces/${s.api_key}/${list}?name=temp`, { headers: { authorization: `Bearer ${s.token}` } });
      assert.deepEqual([bad.status, bad.body.details.errors[0].path], [400, ['name']], list);
    }
    const del = await h.request('DELETE', `/spaces/${s.api_key}/api_keys/${other.body.sys.id}`, { headers: { authorization: `Bearer ${s.token}` } });
    assert.equal(del.status, 204);
    await assert.rejects(client(other.body.accessToken).getEntries());
    await assert.rejects(client(other.body.preview_api_key.accessToken).getEntries());
  });

  it('answers every parameter contentful.js sends in its common calls: implemented, or a 400 naming it, never ignored', async () => {
    const cda = client(keys.delivery);
    const refused = (p: Promise<unknown>, param: string) =>
      assert.rejects(p, (err: any) => {
        // contentful.js's own error (its message JSON), or sync's axios error as it came.
        const body = err.response ? { status: err.response.status, ...err.response.data } : JSON.parse(err.message);
        return body.status === 400 && body.details.errors[0].path.join('.').startsWith(param.split('[')[0]) && body.message.includes(param);
      }, param);
    // Locales page and select (Herald answered every locale whatever the query said). 11.x types
    // getLocales without a query; it sends the one given (validateSearchParameters, normalizeSelect).
    const getLocales = cda.getLocales as unknown as (query: Record<string, unknown>) => ReturnType<typeof cda.getLocales>;
    const page = await getLocales({ limit: 1, skip: 1 });
    assert.deepEqual([page.items.map((l: any) => l.code), page.total, page.skip, page.limit], [['de-DE'], 2, 1, 1]);
    const codes = await getLocales({ select: 'code' });
    assert.deepEqual(codes.items.map((l: any) => Object.keys(l).sort()), [['code', 'sys'], ['code', 'sys']]);
    await refused(getLocales({ code: 'de-DE' }), 'code');
    // One asset or content type takes locale only; getAsset sends select as given.
    await refused(cda.getAsset(ids.pic, { select: 'fields.title' } as any), 'select');
    assert.equal(((await cda.getAsset(ids.pic, { locale: 'de-DE' } as any)) as any).fields.file.fileName, 'cat.png');
    // include resolves links in the entries collection only (Contentful's Links reference); elsewhere it changed nothing.
    await refused(cda.getAssets({ include: 1 } as any), 'include');
    await refused(cda.getContentTypes({ include: 1 } as any), 'include');
    await refused(getLocales({ include: 1 }), 'include');
    assert.equal((await cda.getAssets({ 'fields.file.fileName': 'cat.png' } as any)).total, 1, 'the assets list itself is answered');
    const one = await h.request('GET', `/spaces/${s.api_key}/environments/master/content_types/post?select=sys.id`, { headers: { authorization: `Bearer ${keys.delivery}` } });
    assert.deepEqual([one.status, one.body.details.errors[0].path], [400, ['select']]);
    // Search on references (it matched nothing, silently): the linked entries' type and fields, as Contentful asks for them.
    const byAuthor = async (query: Record<string, string>) =>
      (await cda.getEntries({ content_type: 'post', 'fields.authors.sys.contentType.sys.id': 'author', ...query } as any)).items.map((e: any) => e.fields.title);
    assert.deepEqual(await byAuthor({}), ['Hello'], 'posts linking to an author');
    assert.deepEqual(await byAuthor({ 'fields.authors.fields.title': 'Ada' }), ['Hello']);
    assert.deepEqual(await byAuthor({ 'fields.authors.fields.title[match]': 'ad' }), ['Hello']);
    assert.deepEqual(await byAuthor({ 'fields.authors.fields.title[ne]': 'Ada' }), [], 'its one author is Ada');
    assert.deepEqual(await byAuthor({ 'fields.authors.fields.title': 'Grace' }), []);
    const everyLocale = await cda.withAllLocales.getEntries({ content_type: 'post', 'fields.authors.sys.contentType.sys.id': 'author', 'fields.authors.fields.title.en-US': 'Ada' } as any);
    assert.deepEqual(everyLocale.items.map((e: any) => e.fields.title['en-US']), ['Hello'], 'locale=*: by locale');
    await refused(cda.getEntries({ content_type: 'post', 'fields.authors.fields.title': 'Ada' } as any), 'fields.authors.fields.title');
    await refused(cda.getEntries({ content_type: 'post', 'fields.authors.sys.contentType.sys.id': 'ghost', 'fields.authors.fields.title': 'Ada' } as any), 'fields.authors.sys.contentType.sys.id');
    const cma = await h.request('GET', `/spaces/${s.api_key}/environments/master/entries?content_type=post&fields.authors.sys.contentType.sys.id=author`, { headers: { authorization: `Bearer ${s.token}` } });
    assert.deepEqual([cma.status, cma.body.details.errors[0].path], [400, ['fields', 'authors', 'sys', 'contentType', 'sys', 'id']], 'the management API does not search through references');
    // A path a field's values do not have matched nothing, silently: a locale in a one-locale search.
    await refused(cda.getEntries({ content_type: 'post', 'fields.title.en-US': 'Hello' } as any), 'fields.title.en-US');
    assert.equal((await cda.getEntries({ content_type: 'post', 'fields.authors.sys.id': ids.ada } as any)).total, 1, 'a reference by its id');
    assert.equal((await cda.withAllLocales.getEntries({ content_type: 'post', 'fields.title.en-US': 'Hello' } as any)).total, 1, 'a locale, with locale=*');
    // An order the values do not have (a Link), a full-text search on a number: both kept the list as it came.
    await refused(cda.getEntries({ content_type: 'post', order: 'fields.picture' } as any), 'order');
    await refused(cda.getEntries({ content_type: 'post', 'fields.rank[match]': '1' } as any), 'fields.rank[match]');
    // Sync: limit sets the page size (carried by the token), locale is not a sync parameter (every locale comes).
    const first = await h.request('GET', `/spaces/${s.api_key}/environments/master/sync?initial=true&limit=1`, { headers: { authorization: `Bearer ${keys.delivery}` } });
    assert.deepEqual([first.status, first.body.items.length, typeof first.body.nextPageUrl], [200, 1, 'string']);
    const paged: any = await cda.sync({ initial: true, limit: 1 } as any);
    assert.deepEqual(paged.entries.map((e: any) => e.sys.id).sort(), [ids.ada, ids.hello, ids.second].sort(), 'every page, one item each');
    await refused(cda.sync({ initial: true, limit: 101 } as any), 'limit');
    await refused(cda.sync({ initial: true, locale: 'de-DE' } as any), 'locale');
  });

  it('delivers public tags (/tags, /tags/{id}, metadata.tags), never private ones, as Contentful\'s CDA and Preview API', async () => {
    const mgmt = { authorization: `Bearer ${s.token}` };
    for (const [id, visibility] of [['featured', 'public'], ['internal', 'private']]) {
      const made = await h.request('PUT', `/spaces/${s.api_key}/environments/master/tags/${id}`, { headers: { ...mgmt, 'x-contentful-tag-visibility': visibility }, body: { name: `${id} tag` } });
      assert.equal(made.status, 201, JSON.stringify(made.body));
    }
    // Second carries both, and an id never made as a tag (the CMA lists it as private).
    const entry = await s.stack.contentType('post').entry(ids.second).fetch();
    entry.tags = ['featured', 'internal', 'loose'];
    await entry.update();
    await s.stack.contentType('post').entry(ids.second).publish(PUBLISH(['master']));
    for (const key of [keys.delivery, keys.preview]) {
      const cda = client(key);
      const tags = await cda.getTags();
      assert.deepEqual([tags.items.map((t: any) => [t.sys.id, t.name, t.sys.visibility]), tags.total], [[['featured', 'featured tag', 'public']], 1]);
      assert.equal((await cda.getTag('featured')).name, 'featured tag');
      await assert.rejects(cda.getTag('internal'), (err: any) => JSON.parse(err.message).status === 404, 'a private tag is the CMA\'s only');
      const second: any = await cda.getEntry(ids.second);
      assert.deepEqual(second.metadata.tags.map((t: any) => t.sys.id), ['featured']);
      const tagged = await cda.getEntries({ 'metadata.tags.sys.id[in]': 'featured' } as any);
      assert.deepEqual(tagged.items.map((e: any) => e.sys.id), [ids.second]);
      assert.equal((await cda.getEntries({ 'metadata.tags.sys.id[in]': 'internal' } as any)).total, 0, 'a private tag does not find content');
    }
    // A rename shows at once (tags are not events: the ETag carries them).
    const renamed = await h.request('PUT', `/spaces/${s.api_key}/environments/master/tags/featured`, { headers: { ...mgmt, 'x-contentful-version': '1' }, body: { name: 'Featured' } });
    assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
    assert.equal((await client(keys.delivery).getTag('featured')).name, 'Featured');
    assert.deepEqual((await client(keys.delivery).getTags()).items.map((t: any) => t.name), ['Featured']);
    // Taxonomy is not kept: contentful.js's getConcepts is a 404 saying so.
    await assert.rejects(client(keys.delivery).getConcepts(), (err: any) => /taxonomy/.test(err.message) && /404/.test(err.message));
    const bad = await h.request('GET', `/spaces/${s.api_key}/environments/master/tags?name=Featured`, { headers: { authorization: `Bearer ${keys.delivery}` } });
    assert.deepEqual([bad.status, bad.body.details.errors[0].path], [400, ['name']]);
  });

  it('follows each locale\'s publishing with X-Contentful-Locale-Based-Publishing: true (contentful.js withLocaleBasedPublishing)', async () => {
    // Hello is published in en-US and de-DE, Second and Ada and the picture in en-US only.
    await s.stack.contentType('post').entry(ids.hello).publish(PUBLISH(['master'], ['de-de']));
    const lb = client(keys.delivery).withLocaleBasedPublishing;
    const de = await lb.getEntries({ content_type: 'post', locale: 'de-DE' } as any);
    assert.deepEqual([de.items.map((e: any) => e.fields.title), de.total], [['Hello'], 1], 'Second is not published in de-DE');
    const hello: any = de.items[0];
    assert.equal(hello.fields.authors[0].sys.type, 'Link', 'Ada is not published in de-DE: not resolved');
    assert.deepEqual((de as any).errors?.map((e: any) => e.details.id).sort(), [ids.ada, ids.pic].sort());
    assert.deepEqual((await lb.getEntries({ content_type: 'post' } as any)).items.map((e: any) => e.fields.title), ['Hello', 'Second'], 'both in en-US');
    // getEntry is getEntries with sys.id: contentful.js's own NotFound when no item comes.
    await assert.rejects(lb.getEntry(ids.second, { locale: 'de-DE' } as any), (err: any) => err.sys?.id === 'NotFound', 'a published fallback does not show it');
    await assert.rejects(lb.getAsset(ids.pic, { locale: 'de-DE' } as any), (err: any) => JSON.parse(err.message).status === 404);
    assert.equal((await lb.getAssets({ locale: 'de-DE' } as any)).total, 0);
    assert.equal((await lb.getAssets()).total, 1);
    const every: any = await lb.withAllLocales.getEntry(ids.second);
    assert.deepEqual(every.fields.title, { 'en-US': 'Second' });
    // Without the header, entry-level as before: a locale falls back.
    assert.equal(((await client(keys.delivery).getEntry(ids.second, { locale: 'de-DE' } as any)) as any).fields.title, 'Second');
    assert.equal((await client(keys.delivery).getEntries({ content_type: 'post', locale: 'de-DE' } as any)).total, 2);
    // The preview key ignores it, as Contentful's Preview API does.
    assert.equal((await client(keys.preview).withLocaleBasedPublishing.getEntries({ content_type: 'post', locale: 'de-DE' } as any)).total, 3);
    // Another value, or the header on /sync, is a 400 naming it; the ETag tells the two reads apart.
    const url = `/spaces/${s.api_key}/environments/master/entries?content_type=post&locale=de-DE`;
    const auth = { authorization: `Bearer ${keys.delivery}` };
    const bad = await h.request('GET', url, { headers: { ...auth, 'x-contentful-locale-based-publishing': 'yes' } });
    assert.deepEqual([bad.status, bad.body.details.errors[0].path], [400, ['X-Contentful-Locale-Based-Publishing']]);
    const sync = await h.request('GET', `/spaces/${s.api_key}/environments/master/sync?initial=true`, { headers: { ...auth, 'x-contentful-locale-based-publishing': 'true' } });
    assert.deepEqual([sync.status, sync.body.details.errors[0].path], [400, ['X-Contentful-Locale-Based-Publishing']]);
    const plain = await h.request('GET', url, { headers: auth });
    const based = await h.request('GET', url, { headers: { ...auth, 'x-contentful-locale-based-publishing': 'true', 'if-none-match': plain.headers.get('etag')! } });
    assert.deepEqual([plain.body.total, based.status, based.body.total], [2, 200, 1]);
    assert.match(String(based.headers.get('vary')), /x-contentful-locale-based-publishing/);
  });

  // Last: it changes what the tests above read.
  it('syncs: initial, then the delta after a publish, an unpublish and a delete', async () => {
    const initial: any = await client(keys.delivery).sync({ initial: true });
    assert.deepEqual(initial.entries.map((e: any) => e.sys.id).sort(), [ids.ada, ids.hello, ids.second].sort());
    assert.deepEqual(initial.assets.map((a: any) => a.sys.id), [ids.pic]);
    assert.ok(initial.nextSyncToken);
    await s.stack.contentType('post').entry(ids.draft).publish(PUBLISH(['master']));
    await s.stack.contentType('post').entry(ids.second).unpublish(PUBLISH(['master']));
    await s.stack.contentType('post').entry(ids.hello).delete();
    const delta: any = await client(keys.delivery).sync({ nextSyncToken: initial.nextSyncToken });
    assert.deepEqual(delta.entries.map((e: any) => e.sys.id), [ids.draft]);
    assert.deepEqual(delta.deletedEntries.map((e: any) => e.sys.id).sort(), [ids.second, ids.hello].sort());
    const again: any = await client(keys.delivery).sync({ nextSyncToken: delta.nextSyncToken });
    assert.deepEqual([again.entries.length, again.deletedEntries.length], [0, 0]);
  });

  // After the sync test: Draft is the one post published.
  it('shows the next publish at once in lists (paged, filtered) and single entries, and a draft edit at once to preview', async () => {
    const titles = async (key: string, query: Record<string, unknown>) => {
      const r = await client(key).getEntries({ content_type: 'post', ...query } as any);
      return { titles: r.items.map((e: any) => e.fields.title), total: r.total };
    };
    assert.deepEqual(await titles(keys.delivery, {}), { titles: ['Draft'], total: 1 });
    assert.deepEqual(await titles(keys.delivery, { 'fields.rank[gte]': 0 }), { titles: ['Draft'], total: 1 });
    const entry = await s.stack.contentType('post').entry(ids.draft).fetch();
    entry.title = 'Draft, edited';
    await entry.update();
    assert.deepEqual(await titles(keys.delivery, {}), { titles: ['Draft'], total: 1 }, 'not published yet');
    assert.ok((await titles(keys.preview, {})).titles.includes('Draft, edited'), 'the preview key sees the draft at once');
    await s.stack.contentType('post').entry(ids.draft).publish(PUBLISH(['master']));
    assert.deepEqual(await titles(keys.delivery, {}), { titles: ['Draft, edited'], total: 1 });
    assert.deepEqual(await titles(keys.delivery, { 'fields.rank[gte]': 0 }), { titles: ['Draft, edited'], total: 1 });
    assert.deepEqual(await titles(keys.delivery, { skip: 1 }), { titles: [], total: 1 });
    assert.equal(((await client(keys.delivery).getEntry(ids.draft)) as any).fields.title, 'Draft, edited');
  });
});
