import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkAssetMeta } from '../../src/content/asset-meta.ts';
import { assetUids, checkEntry, checkValues, references } from '../../src/content/entry-values.ts';
import { uidFromTitle } from '../../src/content/guards.ts';
import { matchesQuery, parsePaging, parseQuery, parseSort, sortDocs } from '../../src/content/read-query.ts';
import { checkContentType, checkSchema, type Field } from '../../src/content/schema.ts';
import { HeraldError } from '../../src/errors.ts';

const none = new Set<string>();
const ctx = { contentTypes: new Set(['author']), selfUid: 'blog' };

function schema(fields: unknown[]): Field[] {
  const { schema, errors } = checkSchema(fields, 'content_type.schema', ctx);
  assert.deepEqual(errors, {});
  return schema;
}

const blog = schema([
  { uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true, unique: true },
  { uid: 'views', data_type: 'number' },
  { uid: 'draft', data_type: 'boolean' },
  { uid: 'date', data_type: 'isodate' },
  { uid: 'meta', data_type: 'json' },
  { uid: 'cover', data_type: 'file' },
  { uid: 'gallery', data_type: 'file', multiple: true },
  { uid: 'tags_list', data_type: 'text', multiple: true },
  { uid: 'author', data_type: 'reference', reference_to: ['author'] },
  { uid: 'related', data_type: 'reference', reference_to: ['author', 'blog'] },
  {
    uid: 'seo',
    data_type: 'group',
    schema: [
      { uid: 'keywords', data_type: 'text', mandatory: true },
      { uid: 'image', data_type: 'file' },
    ],
  },
  { uid: 'sections', data_type: 'group', multiple: true, schema: [{ uid: 'heading', data_type: 'text' }, { uid: 'link', data_type: 'reference', reference_to: 'blog' }] },
]);

describe('content type schema validation', () => {
  it('accepts every supported data type and normalizes flags and reference_to', () => {
    const title = blog.find((f) => f.uid === 'title')!;
    assert.equal(title.mandatory, true);
    assert.equal(title.multiple, false);
    assert.deepEqual(blog.find((f) => f.uid === 'sections')!.schema![1].reference_to, ['blog']);
    assert.equal(blog.find((f) => f.uid === 'views')!.display_name, 'views');
  });

  it('names an unknown data type with the allowed ones', () => {
    const { errors } = checkSchema([{ uid: 'x', data_type: 'rainbow' }], 'content_type.schema', ctx);
    assert.match(errors['content_type.schema.x.data_type'][0], /must be one of text, number, boolean, isodate, json, file, reference, group/);
  });

  it('names a field with no uid by its position', () => {
    const { errors } = checkSchema([{ data_type: 'text' }], 'content_type.schema', ctx);
    assert.deepEqual(errors, { 'content_type.schema[0].uid': ['is required'] });
  });

  it('refuses a reference to a content type that does not exist, but allows one to itself', () => {
    const { errors } = checkSchema(
      [
        { uid: 'a', data_type: 'reference', reference_to: ['ghost'] },
        { uid: 'b', data_type: 'reference', reference_to: ['blog'] },
      ],
      'content_type.schema',
      ctx,
    );
    assert.deepEqual(Object.keys(errors), ['content_type.schema.a.reference_to']);
    assert.match(errors['content_type.schema.a.reference_to'][0], /'ghost', which does not exist/);
  });

  it('refuses duplicate uids, reserved names, wrong flag types and misplaced keys', () => {
    const { errors } = checkSchema(
      [
        { uid: 'x', data_type: 'text' },
        { uid: 'x', data_type: 'text' },
        { uid: 'locale', data_type: 'text' },
        { uid: 'm', data_type: 'text', mandatory: 'yes' },
        { uid: 'g', data_type: 'text', schema: [] },
        { uid: 'r', data_type: 'reference' },
        { uid: 'u', data_type: 'json', unique: true },
        { uid: 'Bad-Uid', data_type: 'text' },
      ],
      'content_type.schema',
      ctx,
    );
    assert.deepEqual(errors['content_type.schema.x'], ['is defined twice']);
    assert.match(errors['content_type.schema.locale'][0], /reserved/);
    assert.deepEqual(errors['content_type.schema.m.mandatory'], ['must be true or false']);
    assert.deepEqual(errors['content_type.schema.g.schema'], ['is only for group and global_field fields']);
    assert.match(errors['content_type.schema.r.reference_to'][0], /is required/);
    assert.match(errors['content_type.schema.u.unique'][0], /only allowed on text, number and isodate/);
    assert.match(errors['content_type.schema[7].uid'][0], /lowercase/);
  });

  it('limits how deep groups nest', () => {
    let fields: unknown = [{ uid: 'leaf', data_type: 'text' }];
    for (let i = 0; i < 6; i++) fields = [{ uid: `g${i}`, data_type: 'group', schema: fields }];
    const { errors } = checkSchema(fields, 's', ctx);
    assert.match(Object.values(errors)[0][0], /groups nest at most 5 deep/);
  });

  it('makes the uid from the title when none is given, and keeps it on update', () => {
    const created = checkContentType({ title: 'Blog Post!', schema: [] }, { contentTypes: none });
    assert.deepEqual(created.errors, {});
    assert.equal(created.value.uid, 'blog_post');
    assert.equal(uidFromTitle('  Hello, World '), 'hello_world');
    const updated = checkContentType({ title: 'New', uid: 'other' }, { contentTypes: none, current: created.value });
    assert.deepEqual(updated.errors, { 'content_type.uid': ['cannot be changed'] });
    const kept = checkContentType({ title: 'New' }, { contentTypes: none, current: created.value });
    assert.equal(kept.value.uid, 'blog_post');
    assert.deepEqual(kept.value.schema, []);
  });

  it('requires a title and a schema on create', () => {
    const { errors } = checkContentType({ uid: 'x' }, { contentTypes: none });
    assert.deepEqual(errors, { 'content_type.title': ['is required'], 'content_type.schema': ['is required'] });
    assert.deepEqual(checkContentType('nope', { contentTypes: none }).errors, { content_type: ['must be an object'] });
  });
});

describe('entry validation against a schema', () => {
  const good = {
    title: 'Hello',
    views: 3,
    draft: false,
    date: '2024-05-01T10:00:00Z',
    meta: { any: ['thing'] },
    cover: 'blt0000000000000001',
    gallery: [{ uid: 'blt0000000000000002', file_size: '3' }],
    tags_list: ['a', 'b'],
    author: [{ uid: 'blt00000000000000a1', _content_type_uid: 'author' }],
    related: [{ uid: 'blt00000000000000b1', _content_type_uid: 'blog' }],
    seo: { keywords: 'k', image: 'blt0000000000000003' },
    sections: [{ heading: 'one', link: 'blt00000000000000c1' }],
  };

  it('accepts a well-formed entry and normalizes references and assets', () => {
    const { value, errors } = checkEntry(blog, { ...good, uid: 'ignored', _version: 9, locale: 'xx', content_type_uid: 'blog', tags: ['t'] });
    assert.deepEqual(errors, {});
    assert.deepEqual(value.tags, ['t']);
    assert.equal(value.fields.uid, undefined);
    assert.deepEqual(value.fields.gallery, ['blt0000000000000002']);
    assert.deepEqual(value.fields.sections, [{ heading: 'one', link: [{ uid: 'blt00000000000000c1', _content_type_uid: 'blog' }] }]);
  });

  it('names each wrong field with its path', () => {
    const { errors } = checkEntry(blog, {
      title: 5,
      views: 'many',
      draft: 'no',
      date: 'yesterday',
      cover: ['blt1', 'blt2'],
      tags_list: 'a',
      author: [{ uid: 'blt00000000000000a1', _content_type_uid: 'blog' }],
      related: ['blt00000000000000b1'],
      seo: { keywords: 'k', extra: 1 },
      sections: [{ heading: 7 }],
      nonsense: true,
    });
    assert.deepEqual(errors['entry.title'], ['must be a string']);
    assert.deepEqual(errors['entry.views'], ['must be a number']);
    assert.deepEqual(errors['entry.draft'], ['must be true or false']);
    assert.match(errors['entry.date'][0], /ISO 8601/);
    assert.match(errors['entry.cover'][0], /not a list/);
    assert.match(errors['entry.tags_list'][0], /must be a list/);
    assert.match(errors['entry.author[0]._content_type_uid'][0], /must be one of author \(got 'blog'\)/);
    assert.match(errors['entry.related[0]._content_type_uid'][0], /is required \(one of author, blog\)/);
    assert.deepEqual(errors['entry.seo.extra'], ['is not a field of this group']);
    assert.deepEqual(errors['entry.sections[0].heading'], ['must be a string']);
    assert.deepEqual(errors['entry.nonsense'], ['is not a field of this content type']);
  });

  it('requires mandatory fields, in groups too, and treats empty values as missing', () => {
    const { errors } = checkEntry(blog, { title: '', seo: {} });
    assert.deepEqual(errors['entry.title'], ['is required']);
    assert.deepEqual(errors['entry.seo.keywords'], ['is required']);
  });

  it('keeps stored values not sent on update, and clears those sent as null', () => {
    const current = { fields: { title: 'Old', views: 1, gone_from_schema: 'x' }, tags: ['keep'] };
    const { value, errors } = checkEntry(blog, { views: 2, draft: null }, current);
    assert.deepEqual(errors, {});
    assert.deepEqual(value.fields, { title: 'Old', views: 2 });
    assert.deepEqual(value.tags, ['keep']);
  });

  it('accepts a title when the schema has no title field', () => {
    const noTitle = schema([{ uid: 'n', data_type: 'number' }]);
    assert.deepEqual(checkEntry(noTitle, { title: 'T', n: 1 }).value.fields, { n: 1, title: 'T' });
    assert.deepEqual(checkEntry(noTitle, { title: 1 }).errors, { 'entry.title': ['must be a string'] });
  });

  it('reads only values that were given, even for a field named like an Object property', () => {
    const odd = schema([{ uid: 'constructor', data_type: 'text', mandatory: true }]);
    assert.deepEqual(checkEntry(odd, {}).errors, { 'entry.constructor': ['is required'] });
    assert.deepEqual(checkEntry(odd, { constructor: 'x' }).errors, {});
    assert.ok(matchesQuery({}, { constructor: { $exists: false } }));
  });

  it('finds every reference and asset, groups included, with their paths', () => {
    const { value } = checkEntry(blog, good);
    assert.deepEqual(
      references(blog, value.fields).map((r) => `${r.path}=${r._content_type_uid}/${r.uid}`),
      ['entry.author[0]=author/blt00000000000000a1', 'entry.related[0]=blog/blt00000000000000b1', 'entry.sections[0].link[0]=blog/blt00000000000000c1'],
    );
    assert.deepEqual(
      assetUids(blog, value.fields).map((a) => a.path),
      ['entry.cover', 'entry.gallery[0]', 'entry.seo.image'],
    );
  });

  it('rechecks stored values against a changed schema', () => {
    const stricter = schema([{ uid: 'title', data_type: 'text' }, { uid: 'summary', data_type: 'text', mandatory: true }]);
    assert.deepEqual(checkValues(stricter, { title: 'x' }), { 'entry.summary': ['is required'] });
  });
});

describe('list parameters', () => {
  it('defaults paging and refuses out-of-range values by name', () => {
    assert.deepEqual(parsePaging({}), { skip: 0, limit: 100, includeCount: false, count: false });
    assert.deepEqual(parsePaging({ skip: '5', limit: '2', include_count: 'true' }), { skip: 5, limit: 2, includeCount: true, count: false });
    assert.equal(parsePaging({ count: 'true' }).count, true);
    assert.throws(
      () => parsePaging({ skip: '-1', limit: '1000', include_count: 'maybe' }),
      (e: HeraldError) => e.code === 'validation_failed' && !!e.errors?.skip && !!e.errors?.limit && !!e.errors?.include_count,
    );
  });

  it('parses a simple query and refuses bad JSON and unknown operators', () => {
    assert.deepEqual(parseQuery('{"title":"A"}'), { title: 'A' });
    assert.equal(parseQuery(undefined), undefined);
    assert.throws(() => parseQuery('{nope'), (e: HeraldError) => e.errors?.query?.[0] === 'is not valid JSON');
    assert.throws(() => parseQuery('[1]'), (e: HeraldError) => e.errors?.query?.[0] === 'must be a JSON object');
    assert.throws(() => parseQuery('{"title":{"$regex":"a+"}}'), (e: HeraldError) => !!e.errors?.['query.title.$regex']);
    assert.throws(() => parseQuery('{"$where":"1"}'), (e: HeraldError) => !!e.errors?.['query.$where']);
  });

  it('matches equality, list membership, comparisons, existence and $or', () => {
    const doc = { title: 'A', views: 5, tags: ['x', 'y'], seo: { keywords: 'k' } };
    assert.ok(matchesQuery(doc, { title: 'A' }));
    assert.ok(!matchesQuery(doc, { title: 'B' }));
    assert.ok(matchesQuery(doc, { tags: 'y' }));
    assert.ok(matchesQuery(doc, { views: { $gte: 5, $lt: 6 } }));
    assert.ok(!matchesQuery(doc, { views: { $gt: 5 } }));
    assert.ok(matchesQuery(doc, { title: { $in: ['A', 'C'] } }));
    assert.ok(matchesQuery(doc, { missing: { $exists: false } }));
    assert.ok(matchesQuery(doc, { 'seo.keywords': 'k' }));
    assert.ok(matchesQuery(doc, { $or: [{ title: 'Z' }, { views: 5 }] }));
    assert.ok(!matchesQuery(doc, { $and: [{ title: 'A' }, { views: 4 }] }));
  });

  it('sorts by a field either way, missing values last, ties in store order', () => {
    const docs = [{ n: 2, i: 0 }, { i: 1 }, { n: 1, i: 2 }, { n: 2, i: 3 }];
    assert.deepEqual(sortDocs(docs, parseSort({ asc: 'n' })).map((d) => d.i), [2, 0, 3, 1]);
    assert.deepEqual(sortDocs(docs, parseSort({ desc: 'n' })).map((d) => d.i), [0, 3, 2, 1]);
    assert.throws(() => parseSort({ asc: 'a', desc: 'b' }), HeraldError);
  });
});

describe('asset metadata', () => {
  const current = { title: 'file.txt', description: '', tags: [], parent_uid: null };

  it('takes tags as a comma-separated string (multipart) or a list', () => {
    assert.deepEqual(checkAssetMeta({ tags: 'a, b,,a' }, current).value.tags, ['a', 'b']);
    assert.deepEqual(checkAssetMeta({ tags: ['x'] }, current).value.tags, ['x']);
  });

  it('ignores system keys the client echoes back and refuses unknown ones', () => {
    const { value, errors } = checkAssetMeta({ title: 'T', url: 'http://x', file_size: '3', _version: 2, colour: 'red' }, current);
    assert.equal(value.title, 'T');
    assert.deepEqual(errors, { 'asset.colour': ['is not a field of assets (title, description, tags, parent_uid)'] });
  });
});
