import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestHerald } from '../helpers/herald.ts';
import { refusal, startSpace, type Client } from './helpers/space.ts';

/**
 * Contentful's search parameters on the entries, assets and content types lists, through the
 * official client's getMany (what `getEntries` sends): each filter narrows as Contentful's
 * does, and a parameter Herald does not answer is a 400 InvalidQuery naming it, never ignored.
 */
describe("Contentful's search parameters", () => {
  let h: TestHerald;
  let client: Client;
  let env: { spaceId: string; environmentId: string };
  const ids: Record<string, string> = {};

  const titles = (r: { items: any[] }) => r.items.map((e) => e.fields.title?.['en-US']);
  const entries = (query: Record<string, unknown>) => client.entry.getMany({ ...env, query } as any);

  before(async () => {
    const s = await startSpace();
    ({ h, client, env } = s);
    await h.request('POST', '/v3/locales', { headers: { api_key: s.spaceId, authorization: s.space.token }, body: { locale: { code: 'de-de', name: 'German' } } });
    const product = await client.contentType.createWithId({ ...env, contentTypeId: 'product' }, {
      name: 'Product',
      displayField: 'title',
      fields: [
        { id: 'title', name: 'Title', type: 'Symbol', required: true, localized: true },
        { id: 'price', name: 'Price', type: 'Number' },
        { id: 'stock', name: 'Stock', type: 'Integer' },
        { id: 'launch', name: 'Launch', type: 'Date' },
        { id: 'onSale', name: 'On sale', type: 'Boolean' },
        { id: 'labels', name: 'Labels', type: 'Array', items: { type: 'Symbol' } },
        { id: 'body', name: 'Body', type: 'Text' },
        { id: 'related', name: 'Related', type: 'Link', linkType: 'Entry' },
      ],
    } as any);
    await client.contentType.publish({ ...env, contentTypeId: 'product' }, product);
    const note = await client.contentType.createWithId({ ...env, contentTypeId: 'note' }, { name: 'Note', fields: [{ id: 'title', name: 'Title', type: 'Symbol' }] } as any);
    await client.contentType.publish({ ...env, contentTypeId: 'note' }, note);
    const make = async (title: string, f: Record<string, unknown>, de?: string) => {
      const fields: Record<string, unknown> = { title: { 'en-US': title, ...(de ? { 'de-DE': de } : {}) } };
      for (const [k, v] of Object.entries(f)) fields[k] = { 'en-US': v };
      const e = await client.entry.create({ ...env, contentTypeId: 'product' }, { fields } as any);
      ids[title] = e.sys.id;
      return e;
    };
    await make('Whisk', { price: 22, stock: 5, launch: '2024-01-10', onSale: true, labels: ['kitchen', 'steel'], body: 'A sturdy whisk for eggs and cream' }, 'Schneebesen');
    await make('Clock', { price: 120, stock: 0, launch: '2023-06-01', onSale: false, labels: ['home'], body: 'A quiet wall clock' });
    const lamp = await make('Lamp', { price: 45.5, stock: 12, labels: ['home', 'light'], body: 'Warm light for the desk' });
    await make('Kettle', { price: 60, onSale: true, related: { sys: { type: 'Link', linkType: 'Entry', id: ids.Whisk } } });
    await client.entry.publish({ ...env, entryId: lamp.sys.id }, lamp);
    await client.entry.create({ ...env, contentTypeId: 'note' }, { fields: { title: { 'en-US': 'A note about the whisk' } } } as any);
  });
  after(() => h.close());

  it('narrows entries by content_type and sys.id[in]', async () => {
    assert.deepEqual(titles(await entries({ content_type: 'product' })), ['Whisk', 'Clock', 'Lamp', 'Kettle']);
    const some = await entries({ 'sys.id[in]': `${ids.Clock},${ids.Kettle}` });
    assert.deepEqual(titles(some), ['Clock', 'Kettle']);
    assert.equal(some.total, 2);
    assert.deepEqual(titles(await entries({ 'sys.contentType.sys.id': 'note' })), ['A note about the whisk']);
  });

  it('compares number, integer, date and boolean fields by their type', async () => {
    assert.deepEqual(titles(await entries({ content_type: 'product', 'fields.price[gte]': 45.5 })), ['Clock', 'Lamp', 'Kettle']);
    assert.deepEqual(titles(await entries({ content_type: 'product', 'fields.price[lt]': 60 })), ['Whisk', 'Lamp']);
    assert.deepEqual(titles(await entries({ content_type: 'product', 'fields.price[gt]': 22, 'fields.price[lte]': 60 })), ['Lamp', 'Kettle']);
    assert.deepEqual(titles(await entries({ content_type: 'product', 'fields.stock': 0 })), ['Clock']);
    assert.deepEqual(titles(await entries({ content_type: 'product', 'fields.launch[gte]': '2024-01-01T00:00:00Z' })), ['Whisk']);
    assert.deepEqual(titles(await entries({ content_type: 'product', 'fields.onSale': true })), ['Whisk', 'Kettle']);
    assert.deepEqual(titles(await entries({ content_type: 'product', 'fields.onSale[ne]': true })), ['Clock', 'Lamp']);
  });

  it('filters with in, nin, ne, exists and match, lists matching when one of their items does', async () => {
    assert.deepEqual(titles(await entries({ content_type: 'product', 'fields.labels': 'home' })), ['Clock', 'Lamp']);
    assert.deepEqual(titles(await entries({ content_type: 'product', 'fields.labels[in]': 'steel,light' })), ['Whisk', 'Lamp']);
    assert.deepEqual(titles(await entries({ content_type: 'product', 'fields.labels[nin]': 'home' })), ['Whisk', 'Kettle']);
    assert.deepEqual(titles(await entries({ content_type: 'product', 'fields.labels[all]': 'home,light' })), ['Lamp']);
    assert.deepEqual(titles(await entries({ content_type: 'product', 'fields.title[ne]': 'Whisk' })), ['Clock', 'Lamp', 'Kettle']);
    assert.deepEqual(titles(await entries({ content_type: 'product', 'fields.stock[exists]': false })), ['Kettle']);
    assert.deepEqual(titles(await entries({ content_type: 'product', 'fields.body[match]': 'WALL clock' })), ['Clock']);
    assert.deepEqual(titles(await entries({ content_type: 'product', 'fields.title.de-DE': 'Schneebesen' })), ['Whisk'], 'a field in a named locale');
    assert.deepEqual(titles(await entries({ content_type: 'product', 'fields.related.sys.id': ids.Whisk })), ['Kettle'], 'a Link by its id');
    assert.deepEqual(titles(await entries({ links_to_entry: ids.Whisk })), ['Kettle']);
    assert.deepEqual(titles(await entries({ 'sys.publishedAt[exists]': true })), ['Lamp']);
  });

  it('searches the text of every field with query, in every locale', async () => {
    assert.deepEqual(titles(await entries({ query: 'whisk' })), ['Whisk', 'A note about the whisk']);
    assert.deepEqual(titles(await entries({ query: 'schneebesen' })), ['Whisk']);
    assert.deepEqual(titles(await entries({ content_type: 'product', query: 'light desk' })), ['Lamp']);
  });

  it('orders by several keys, descending with -, and pages after filtering', async () => {
    assert.deepEqual(titles(await entries({ content_type: 'product', order: '-fields.price' })), ['Clock', 'Kettle', 'Lamp', 'Whisk']);
    assert.deepEqual(titles(await entries({ content_type: 'product', order: 'fields.onSale,-fields.title' })), ['Clock', 'Whisk', 'Kettle', 'Lamp'], 'false before true, then by title descending; no value sorts last');
    const page = await entries({ content_type: 'product', order: 'fields.price', skip: 1, limit: 2 });
    assert.deepEqual(titles(page), ['Lamp', 'Kettle']);
    assert.equal(page.total, 4);
    assert.equal(page.skip, 1);
    assert.equal(page.limit, 2);
    assert.deepEqual(titles(await entries({ order: '-sys.createdAt', limit: 2 })), ['A note about the whisk', 'Kettle']);
  });

  it('returns only the selected paths', async () => {
    const r = await entries({ content_type: 'product', select: 'sys.id,fields.price', 'fields.price[gte]': 100 });
    assert.deepEqual(r.items, [{ sys: { id: ids.Clock }, fields: { price: { 'en-US': 120 } } }]);
  });

  it('answers a parameter it does not support with a 400 InvalidQuery naming it', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ foo: 'bar' }, 'foo'],
      [{ include: 2 }, 'include'],
      [{ locale: 'de-DE' }, 'locale'],
      [{ 'fields.price[gte]': 5 }, 'fields.price[gte]'], // fields need content_type
      [{ content_type: 'product', 'fields.nope': 1 }, 'fields.nope'],
      [{ content_type: 'product', 'fields.price[gte]': 'cheap' }, 'fields.price[gte]'],
      [{ content_type: 'product', 'fields.title[gt]': 'a' }, 'fields.title[gt]'],
      [{ content_type: 'product', 'fields.location[near]': '1,2' }, 'fields.location[near]'],
      [{ content_type: 'product', 'fields.price[between]': '1,2' }, 'fields.price[between]'],
      [{ content_type: 'missing' }, 'content_type'],
      [{ order: 'fields.title' }, 'order'],
      [{ content_type: 'product', select: 'fields.related.sys.id' }, 'select'],
      [{ limit: 5000 }, 'limit'],
      [{ 'sys.nonsense': 1 }, 'sys.nonsense'],
    ];
    for (const [query, name] of cases) {
      const r = await refusal(entries(query));
      assert.equal(r.status, 400, JSON.stringify(query));
      assert.equal(r.name, 'InvalidQuery', JSON.stringify(query));
      assert.ok(r.message.includes(name), `${r.message} names ${name}`);
    }
  });

  it('orders the small lists (webhooks, locales, environments, roles) by sys as the export asks, and refuses anything else by name', async () => {
    const spaceId = env.spaceId;
    await client.webhook.create({ spaceId }, { name: 'B', url: 'https://b.example.com/', topics: ['*.*'] } as any);
    await client.webhook.create({ spaceId }, { name: 'A', url: 'https://a.example.com/', topics: ['*.*'] } as any);
    const hooks = await client.webhook.getMany({ spaceId, query: { order: 'sys.createdAt,sys.id', skip: 0, limit: 1000 } } as any);
    assert.deepEqual(hooks.items.map((w: any) => w.name), ['B', 'A']);
    assert.deepEqual((await client.webhook.getMany({ spaceId, query: { order: '-sys.createdAt', limit: 1 } } as any)).items.map((w: any) => w.name), ['A']);
    assert.equal((await client.locale.getMany({ ...env, query: { order: 'sys.createdAt,sys.id' } } as any)).items.length, 2);
    assert.equal((await client.role.getMany({ spaceId, query: { order: 'sys.createdAt,sys.id' } } as any)).total, 0);
    // One request at a time: a refusal not yet awaited would be an unhandled rejection.
    const asks = [() => client.webhook.getMany({ spaceId, query: { name: 'A' } } as any), () => client.locale.getMany({ ...env, query: { code: 'de-DE' } } as any), () => client.environment.getMany({ spaceId, query: { foo: 1 } } as any)];
    for (const ask of asks) {
      const r = await refusal(ask());
      assert.equal(r.name, 'InvalidQuery');
      assert.equal(r.status, 400);
    }
  });

  it('answers the same parameters on assets and content types', async () => {
    const up = await client.upload.create({ spaceId: env.spaceId }, { file: Buffer.from('png bytes') } as any);
    const a = await client.asset.create(env, {
      fields: { title: { 'en-US': 'Photo of a whisk' }, file: { 'en-US': { fileName: 'whisk.png', contentType: 'image/png', uploadFrom: { sys: { type: 'Link', linkType: 'Upload', id: up.sys.id } } } } },
    } as any);
    const up2 = await client.upload.create({ spaceId: env.spaceId }, { file: Buffer.from('%PDF-1.4') } as any);
    await client.asset.create(env, {
      fields: { title: { 'en-US': 'Manual' }, file: { 'en-US': { fileName: 'manual.pdf', contentType: 'application/pdf', uploadFrom: { sys: { type: 'Link', linkType: 'Upload', id: up2.sys.id } } } } },
    } as any);
    const assets = (query: Record<string, unknown>) => client.asset.getMany({ ...env, query } as any);
    assert.deepEqual(titles(await assets({ mimetype_group: 'image' })), ['Photo of a whisk']);
    assert.deepEqual(titles(await assets({ 'fields.file.contentType': 'application/pdf' })), ['Manual']);
    assert.deepEqual(titles(await assets({ query: 'whisk' })), ['Photo of a whisk']);
    assert.deepEqual(titles(await assets({ order: '-fields.title' })), ['Photo of a whisk', 'Manual']);
    assert.deepEqual(titles(await assets({ 'sys.id[in]': a.sys.id })), ['Photo of a whisk']);
    assert.equal((await refusal(assets({ content_type: 'product' }))).name, 'InvalidQuery');
    assert.equal((await refusal(assets({ mimetype_group: 'pictures' }))).name, 'InvalidQuery');

    const types = (query: Record<string, unknown>) => client.contentType.getMany({ ...env, query } as any);
    assert.deepEqual((await types({ 'sys.id[in]': 'note' })).items.map((t: any) => t.name), ['Note']);
    assert.deepEqual((await types({ order: '-name' })).items.map((t: any) => t.name), ['Product', 'Note']);
    assert.deepEqual((await types({ query: 'prod' })).items.map((t: any) => t.sys.id), ['product']);
    assert.equal((await refusal(types({ 'fields.title': 'x' }))).name, 'InvalidQuery');
  });
});
