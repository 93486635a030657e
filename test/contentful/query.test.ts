import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyQuery, InvalidQuery, mimetypeGroup, parseQuery, type QueryOptions } from '../../src/contentful/query.ts';

/** The collection query as a pure function, in the shapes both APIs give it (by locale, or one locale). */
describe('the Contentful collection query', () => {
  const contentType = { sys: { id: 'product' }, fields: [{ id: 'title', type: 'Symbol' }, { id: 'price', type: 'Number' }, { id: 'tags', type: 'Array', items: { type: 'Symbol' } }] };
  const locales = { codes: ['en-US', 'de-DE'], default: 'en-US' };
  const entry = (id: string, createdAt: string, fields: Record<string, unknown>) => ({ sys: { id, type: 'Entry', createdAt, version: 1, contentType: { sys: { type: 'Link', linkType: 'ContentType', id: 'product' } } }, fields });

  it('reads a field in one locale when entities are resolved to one (the delivery API), and lets the caller own its parameters', () => {
    const opts: QueryOptions = { kind: 'Entry', contentType, locales, fieldsByLocale: false, extra: ['locale', 'include'] };
    const items = [entry('a', '2024-01-01T00:00:00Z', { title: 'Eins', price: 3 }), entry('b', '2024-01-02T00:00:00Z', { title: 'Zwei', price: 1 })];
    const q = parseQuery({ content_type: 'product', locale: 'de-DE', include: '2', 'fields.price[lte]': '3', order: 'fields.price' }, opts);
    assert.deepEqual(applyQuery(items, q).items.map((e) => e.sys.id), ['b', 'a']);
    assert.throws(() => parseQuery({ locale: 'de-DE' }, { ...opts, extra: [] }), (e: unknown) => e instanceof InvalidQuery && e.parameter === 'locale');
  });

  it('keeps the given order for equal keys and counts the total before paging', () => {
    const items = ['a', 'b', 'c', 'd'].map((id, i) => entry(id, `2024-01-0${i + 1}T00:00:00Z`, { price: { 'en-US': i % 2 } }));
    const q = parseQuery({ content_type: 'product', order: 'fields.price', skip: '1', limit: '2' }, { kind: 'Entry', contentType, locales });
    const r = applyQuery(items, q);
    assert.deepEqual(r.items.map((e) => e.sys.id), ['c', 'b']);
    assert.equal(r.total, 4);
  });

  it('refuses a list given twice, a bad skip, and an unknown sys property, naming each', () => {
    const opts: QueryOptions = { kind: 'Entry', locales };
    for (const [params, name] of [
      [{ 'sys.id': ['a', 'b'] }, 'sys.id'],
      [{ skip: '-1' }, 'skip'],
      [{ 'sys.color': 'red' }, 'sys.color'],
      [{ 'sys.createdAt[gte]': 'yesterday' }, 'sys.createdAt[gte]'],
    ] as const) {
      assert.throws(() => parseQuery(params as Record<string, unknown>, opts), (e: unknown) => e instanceof InvalidQuery && e.parameter === name && e.message.includes(name));
    }
  });

  it("puts a file's content type in Contentful's mimetype groups", () => {
    assert.equal(mimetypeGroup('image/png'), 'image');
    assert.equal(mimetypeGroup('application/pdf'), 'pdfdocument');
    assert.equal(mimetypeGroup('application/zip'), 'archive');
    assert.equal(mimetypeGroup('text/plain; charset=utf-8'), 'plaintext');
    assert.equal(mimetypeGroup('application/octet-stream'), 'attachment');
  });
});
