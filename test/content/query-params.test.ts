import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { applyReferenceParams, changesNested, copyTree, parseReferenceParams, project, type LoadedEntry } from '../../src/content/query-params.ts';
import type { Field } from '../../src/content/schema.ts';
import { removeDir, startHerald, type TestHerald } from '../helpers/herald.ts';
import { clientStack, type TestStack } from './helpers/content.ts';

/** A reference field to `to`. */
const ref = (uid: string, to: string[]) => ({ uid, display_name: uid, data_type: 'reference', reference_to: to, field_metadata: { ref_multiple: true, ref_multiple_content_types: to.length > 1 } });

describe('Contentstack read parameters through the official management client', () => {
  let h: TestHerald;
  let s: TestStack;
  const uids: Record<string, string> = {};

  before(async () => {
    h = await startHerald();
    s = await clientStack(h);
    const ct = (uid: string, schema: unknown[]) => s.stack.contentType().create({ content_type: { title: uid, uid, schema: [{ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true }, ...schema] } });
    await ct('publisher', [{ uid: 'address', display_name: 'Address', data_type: 'group', schema: [{ uid: 'city', display_name: 'City', data_type: 'text' }] }]);
    await ct('author', [{ uid: 'bio', display_name: 'Bio', data_type: 'text' }]);
    await ct('book', [ref('author', ['author']), ref('publisher', ['publisher']), { uid: 'pages', display_name: 'Pages', data_type: 'number' }]);
    // Content types that refer to each other: the second reference is added once both exist.
    const author = await s.stack.contentType('author').fetch();
    author.schema = [...author.schema, ref('books', ['book'])];
    await author.update();
    const entry = async (ctUid: string, fields: Record<string, unknown>) => (await s.stack.contentType(ctUid).entry().create({ entry: fields })).uid as string;
    uids.p = await entry('publisher', { title: 'Penguin', address: { city: 'London' } });
    uids.a = await entry('author', { title: 'Ada', bio: 'wrote things' });
    uids.b1 = await entry('book', { title: 'Notes', pages: 10, author: [{ uid: uids.a, _content_type_uid: 'author' }], publisher: [{ uid: uids.p, _content_type_uid: 'publisher' }] });
    uids.b2 = await entry('book', { title: 'Letters', pages: 20, author: [{ uid: uids.a, _content_type_uid: 'author' }] });
    // The cycle: the author points back at her books.
    const a = await s.stack.contentType('author').entry(uids.a).fetch();
    a.books = [{ uid: uids.b1, _content_type_uid: 'book' }, { uid: uids.b2, _content_type_uid: 'book' }];
    await a.update();
  });
  after(async () => {
    await h.close();
    removeDir(h.dataDir);
  });

  it('count() answers the number of entries, assets and content types, not the list', async () => {
    assert.deepEqual(await s.stack.contentType('book').entry().query().count(), { entries: 2 });
    assert.deepEqual(await s.stack.contentType('book').entry().query({ query: { pages: { $gt: 15 } } }).count(), { entries: 1 });
    assert.deepEqual(await s.stack.asset().query().count(), { assets: 0 });
    assert.deepEqual(await s.stack.contentType().query().count(), { content_types: 3 });
  });

  it('include[] resolves references two and three levels deep, through a cycle, as a tree', async () => {
    const { items } = await s.stack.contentType('book').entry().query({ include: ['author', 'author.books', 'author.books.publisher'], asc: 'pages' }).find();
    assert.equal(items.length, 2);
    const notes = items[0];
    assert.equal(notes.title, 'Notes');
    assert.equal(notes.author[0].title, 'Ada');
    assert.deepEqual(notes.author[0].books.map((b: any) => b.title), ['Notes', 'Letters']);
    // Level 3: the publisher of the author's first book; the second book has none.
    assert.equal(notes.author[0].books[0].publisher[0].title, 'Penguin');
    assert.deepEqual(notes.author[0].books[1].publisher ?? [], []);
    // Not asked for: the book's own publisher and the books' authors stay references.
    assert.deepEqual(notes.publisher, [{ uid: uids.p, _content_type_uid: 'publisher' }]);
    assert.deepEqual(notes.author[0].books[0].author, [{ uid: uids.a, _content_type_uid: 'author' }]);
    // A tree, so it serialises however the entries point at each other.
    assert.ok(JSON.stringify(items).length > 0);
  });

  it('include[] works on a single entry, and include_reference_content_type_uid marks the resolved entries', async () => {
    const plain = await s.stack.contentType('book').entry(uids.b1).fetch({ include: ['author'] });
    assert.equal(plain.author[0].title, 'Ada');
    assert.equal(plain.author[0]._content_type_uid, undefined);
    const marked = await s.stack.contentType('book').entry(uids.b1).fetch({ include: ['author', 'publisher'], include_reference_content_type_uid: true });
    assert.equal(marked.author[0]._content_type_uid, 'author');
    assert.equal(marked.publisher[0]._content_type_uid, 'publisher');
  });

  it('only[BASE][] keeps the listed fields and uid, except[BASE][] drops fields, also inside groups and on resolved entries', async () => {
    const { items } = await s.stack.contentType('book').entry().query({ only: { BASE: ['title', 'pages'] } }).find();
    // The client's entry objects add methods and its own keys; the data is the rest.
    const data = (e: any) => Object.keys(e).filter((k) => typeof e[k] !== 'function' && !['stackHeaders', 'content_type_uid', 'urlPath', 'apiVersion'].includes(k)).sort();
    for (const e of items) assert.deepEqual(data(e), ['pages', 'title', 'uid']);
    const dropped = await s.stack.contentType('book').entry().query({ except: { BASE: ['pages', 'author'] } }).find();
    for (const e of dropped.items) {
      assert.equal(e.pages, undefined);
      assert.equal(e.author, undefined);
      assert.ok(e.title);
    }
    const group = await s.stack.contentType('publisher').entry(uids.p).fetch({ except: { BASE: ['address.city'] } });
    assert.deepEqual(group.address, {});
    const nested = await s.stack.contentType('book').entry(uids.b1).fetch({ include: ['author'], only: { BASE: ['title', 'author'], author: ['title'] } });
    assert.equal(nested.pages, undefined);
    assert.deepEqual(nested.author, [{ uid: uids.a, title: 'Ada' }]);
  });

  it('only/except apply to assets, locales and the other lists too', async () => {
    const { items } = await s.stack.locale().query({ only: { BASE: ['code'] } }).find();
    assert.deepEqual(items.map((l: any) => [l.code, l.name]), [['en-us', undefined]]);
  });

  it('refuses a parameter a read route does not implement, naming it, on every GET route of /v3', async () => {
    const api = (await h.request('GET', '/v3/openapi.json')).body;
    const reads = Object.entries(api.paths as Record<string, Record<string, unknown>>).filter(([path, ops]) => path.startsWith('/v3/') && ops.get);
    assert.ok(reads.length >= 15, `GET routes: ${reads.length}`);
    for (const [path] of reads) {
      const url = path.replace(/\{(\w+)\}/g, (_m, name) => (name === 'content_type_uid' ? 'book' : name === 'api_key' ? s.api_key : 'x'));
      const r = await h.request('GET', `${url}?include_no_such_thing=true`, { headers: s.headers });
      assert.equal(r.status, 422, `${path}: ${r.status} ${JSON.stringify(r.body)}`);
      assert.ok(r.body.errors.include_no_such_thing, `${path} names the parameter: ${JSON.stringify(r.body)}`);
      assert.match(r.body.error_message, /include_no_such_thing/);
    }
  });

  it('refuses a parameter a write does not implement, naming it, and writes nothing', async () => {
    // Through the management SDK, which sends what it is given: a misspelt delete_all_localized must
    // not be ignored (the entry would go whole where the caller may have meant something else).
    const doomed = await s.stack.contentType('book').entry().create({ entry: { title: 'Doomed', pages: 1 } });
    const refused = await s.stack.contentType('book').entry(doomed.uid).delete({ delete_all_localised: true }).then(() => undefined, (err: any) => err);
    assert.equal(refused?.status, 422);
    assert.deepEqual(Object.keys(refused.errors), ['delete_all_localised']);
    assert.match(refused.errorMessage, /'delete_all_localised' is not supported on DELETE \/v3\/content_types\/:content_type_uid\/entries\/:uid/);
    assert.equal((await s.stack.contentType('book').entry(doomed.uid).fetch()).title, 'Doomed', 'not deleted');
    // Raw requests on routes that take none, and one that takes locale (which still works).
    const writes: Array<[string, string, unknown?]> = [
      ['POST', '/v3/content_types?include_branch=yes', { content_type: { title: 'Later', uid: 'later', schema: [{ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true }] } }],
      ['PUT', `/v3/content_types/book/entries/${doomed.uid}?include_branches=true`, { entry: { title: 'Renamed' } }],
      ['POST', '/v3/environments?x=1', { environment: { name: 'qa' } }],
    ];
    for (const [method, path, body] of writes) {
      const r = await h.request(method, path, { headers: s.headers, ...(body ? { body } : {}) });
      const name = new URL(path, h.url).searchParams.keys().next().value!;
      assert.deepEqual([r.status, Object.keys(r.body.errors ?? {})], [422, [name]], `${method} ${path}: ${JSON.stringify(r.body)}`);
    }
    assert.equal((await h.request('GET', '/v3/content_types/later', { headers: s.headers })).status, 404, 'no content type made');
    assert.equal((await s.stack.contentType('book').entry(doomed.uid).fetch()).title, 'Doomed', 'not renamed');
    assert.equal((await h.request('GET', '/v3/environments/qa', { headers: s.headers })).status, 404, 'no environment made');
    assert.equal((await s.stack.contentType('book').entry(doomed.uid).delete({ locale: 'en-us' })).notice !== undefined, true);
  });

  it("deletes a content type with force=false (csdx migration's deleteContentType sends it) or force=true, naming any other value", async () => {
    const schema = [{ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true }];
    await s.stack.contentType().create({ content_type: { title: 'Gone', uid: 'gone', schema } });
    await s.stack.contentType().create({ content_type: { title: 'Kept', uid: 'kept', schema } });
    // What cm:stacks:migration's deleteContentType requests: DELETE /v3/content_types/{uid}?force=false.
    const r = await h.request('DELETE', '/v3/content_types/gone?force=false', { headers: s.headers });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal((await h.request('GET', '/v3/content_types/gone', { headers: s.headers })).status, 404, 'deleted');
    // The management SDK passes it on as given; force=true (the migration's .force(true)) deletes
    // the same way, entries included.
    assert.ok((await s.stack.contentType('kept').delete({ force: false })).notice);
    await s.stack.contentType().create({ content_type: { title: 'Kept', uid: 'kept', schema } });
    const other = await h.request('DELETE', '/v3/content_types/kept?force=yes', { headers: s.headers });
    assert.equal(other.status, 422, JSON.stringify(other.body));
    assert.deepEqual(Object.keys(other.body.errors), ['force']);
    assert.equal((await h.request('GET', '/v3/content_types/kept', { headers: s.headers })).status, 200, 'not deleted');
    const entry = await s.stack.contentType('kept').entry().create({ entry: { title: 'inside' } });
    assert.ok((await s.stack.contentType('kept').delete({ force: true })).notice);
    assert.equal((await h.request('GET', '/v3/content_types/kept', { headers: s.headers })).status, 404, 'deleted');
    assert.equal((await h.request('GET', `/v3/content_types/kept/entries/${entry.uid}`, { headers: s.headers })).status, 404, 'its entry too');
  });

  it('include_branch=true: entries, assets, content types and global fields answered carry _branch, on reads, creates and updates', async () => {
    await s.stack.branch().create({ branch: { uid: 'feature', source: 'main' } });
    const IB = { include_branch: true };
    // main, through the SDK: fetch, query, create and update all pass the parameter on.
    const book = s.stack.contentType('book');
    assert.equal((await book.fetch(IB))._branch, 'main');
    assert.equal((await book.entry(uids.b1).fetch(IB))._branch, 'main');
    const { items } = await book.entry().query(IB).find();
    assert.deepEqual(new Set(items.map((e: any) => e._branch)), new Set(['main']));
    const made = await book.entry().create({ entry: { title: 'Branched', pages: 3 } }, IB);
    assert.equal(made._branch, 'main');
    made.title = 'Branched 2';
    assert.equal((await made.update(IB))._branch, 'main');
    const gf = await s.stack.globalField().create({ global_field: { title: 'Seo', uid: 'seo', schema: [{ uid: 'k', display_name: 'K', data_type: 'text' }] } }, IB);
    assert.equal(gf._branch, 'main');
    const asset = await s.stack.asset().create({ upload: Buffer.from('x'), filename: 'x.txt', content_type: 'text/plain', title: 'X' }, IB);
    assert.equal(asset._branch, 'main');
    // Without it (or false) there is no _branch.
    assert.equal((await book.entry(uids.b1).fetch())._branch, undefined);
    assert.equal((await book.entry(uids.b1).fetch({ include_branch: false }))._branch, undefined);
    // On another branch (the branch header), raw: each answer names that branch.
    const fh = { ...s.headers, branch: 'feature' };
    const get = async (path: string, key: string) => {
      const r = await h.request('GET', path, { headers: fh });
      assert.equal(r.status, 200, `${path}: ${JSON.stringify(r.body)}`);
      return r.body[key];
    };
    assert.equal((await get('/v3/content_types/book?include_branch=true', 'content_type'))._branch, 'feature');
    assert.deepEqual([...new Set((await get('/v3/content_types?include_branch=true', 'content_types')).map((c: any) => c._branch))], ['feature']);
    assert.deepEqual([...new Set((await get('/v3/content_types/book/entries?include_branch=true', 'entries')).map((e: any) => e._branch))], ['feature']);
    assert.equal((await get(`/v3/content_types/book/entries/${uids.b1}?include_branch=true`, 'entry'))._branch, 'feature');
    assert.deepEqual((await get('/v3/global_fields?include_branch=true', 'global_fields')).map((g: any) => g._branch), []);
    assert.deepEqual((await get('/v3/assets?include_branch=true', 'assets')).map((a: any) => a._branch), []);
    const put = await h.request('PUT', '/v3/content_types/author?include_branch=true', { headers: fh, body: { content_type: { title: 'Writer' } } });
    assert.deepEqual([put.status, put.body.content_type?._branch], [200, 'feature']);
    assert.equal((await s.stack.contentType('author').fetch()).title, 'author', 'main is untouched');
    // A value other than true/false is refused by name, and nothing is written.
    const bad = await h.request('PUT', `/v3/content_types/book/entries/${uids.b1}?include_branch=1`, { headers: s.headers, body: { entry: { title: 'No' } } });
    assert.deepEqual([bad.status, Object.keys(bad.body.errors ?? {})], [422, ['include_branch']]);
    assert.equal((await book.entry(uids.b1).fetch()).title, 'Notes');
  });

  it('include_branch=true: publish, unpublish, archive, versions and bulk answers carry _branch', async () => {
    await s.stack.branch().create({ branch: { uid: 'release', source: 'main' } });
    const rh = { ...s.headers, branch: 'release' };
    const call = async (method: string, path: string, body?: unknown) => {
      const r = await h.request(method, path, { headers: rh, ...(body ? { body } : {}) });
      assert.ok(r.status === 200 || r.status === 201, `${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    };
    await call('POST', '/v3/environments', { environment: { name: 'stage' } });
    const made = await call('POST', '/v3/content_types/book/entries', { entry: { title: 'On release', pages: 5 } });
    const uid = made.entry.uid;
    const asset = (await s.stack.asset().create({ upload: Buffer.from('r'), filename: 'r.txt', content_type: 'text/plain', title: 'R' })).uid;
    const target = { entry: { environments: ['stage'], locales: ['en-us'] } };
    // On an answer with no entity in it, at the top level: the branch the action was taken on.
    assert.equal((await call('POST', `/v3/content_types/book/entries/${uid}/publish?include_branch=true`, target))._branch, 'release');
    assert.equal((await call('POST', `/v3/content_types/book/entries/${uid}/unpublish?include_branch=true`, target))._branch, 'release');
    assert.equal((await call('POST', `/v3/content_types/book/entries/${uid}/publish`, target))._branch, undefined, 'only when asked');
    const versions = (await call('GET', `/v3/content_types/book/entries/${uid}/versions?include_branch=true`)).versions;
    assert.ok(versions.length >= 1);
    assert.deepEqual([...new Set(versions.map((v: any) => v._branch))], ['release']);
    assert.equal((await call('POST', `/v3/content_types/book/entries/${uid}/unpublish`, target))._branch, undefined);
    assert.equal((await call('POST', `/v3/content_types/book/entries/${uid}/archive?include_branch=true`)).entry._branch, 'release');
    assert.equal((await call('POST', `/v3/content_types/book/entries/${uid}/unarchive?include_branch=true`)).entry._branch, 'release');
    // Assets, on main.
    const mh = { ...s.headers };
    const assetCall = async (path: string, body?: unknown) => (await h.request('POST', path, { headers: mh, ...(body ? { body } : {}) })).body;
    await h.request('POST', '/v3/environments', { headers: mh, body: { environment: { name: 'stage' } } });
    assert.equal((await assetCall(`/v3/assets/${asset}/publish?include_branch=true`, { asset: { environments: ['stage'], locales: ['en-us'] } }))._branch, 'main');
    assert.equal((await assetCall(`/v3/assets/${asset}/unpublish?include_branch=true`, { asset: { environments: ['stage'], locales: ['en-us'] } }))._branch, 'main');
    assert.equal((await assetCall(`/v3/assets/${asset}/archive?include_branch=true`)).asset._branch, 'main');
    assert.equal((await assetCall(`/v3/assets/${asset}/unarchive?include_branch=true`)).asset._branch, 'main');
    // Bulk.
    const items = { entries: [{ uid, content_type: 'book', locale: 'en-us' }], locales: ['en-us'], environments: ['stage'] };
    assert.equal((await call('POST', '/v3/bulk/publish?include_branch=true', items))._branch, 'release');
    assert.equal((await call('POST', '/v3/bulk/unpublish?include_branch=true', items))._branch, 'release');
    assert.equal((await call('POST', '/v3/bulk/delete?include_branch=true', { entries: [{ uid, content_type: 'book', locale: 'en-us' }] }))._branch, 'release');
    // Another value is refused by name, and nothing is published.
    const other = await call('POST', '/v3/content_types/book/entries', { entry: { title: 'Not yet', pages: 6 } });
    const bad = await h.request('POST', `/v3/content_types/book/entries/${other.entry.uid}/publish?include_branch=1`, { headers: rh, body: target });
    assert.deepEqual([bad.status, Object.keys(bad.body.errors ?? {})], [422, ['include_branch']]);
    const after = await call('GET', `/v3/content_types/book/entries/${other.entry.uid}`);
    assert.deepEqual(after.entry.publish_details ?? [], [], 'not published');
  });

  it('refuses include_publish_details=false (Herald always includes them) and a malformed include path, by name', async () => {
    const r = await h.request('GET', '/v3/content_types/book/entries?include_publish_details=false', { headers: s.headers });
    assert.equal(r.status, 422);
    assert.ok(r.body.errors.include_publish_details);
    const bad = await h.request('GET', '/v3/content_types/book/entries?include[]=author..books', { headers: s.headers });
    assert.equal(bad.status, 422);
    assert.ok(bad.body.errors['include[]']);
  });
});

describe('reference resolution (pure)', () => {
  const schemas: Record<string, Field[]> = {
    node: [{ uid: 'title', display_name: 't', data_type: 'text', mandatory: false, unique: false, multiple: false }, { uid: 'next', display_name: 'n', data_type: 'reference', reference_to: ['node'], mandatory: false, unique: false, multiple: true }],
  };
  const store: Record<string, LoadedEntry> = {
    a: { entry: { uid: 'a', title: 'A', next: [{ uid: 'b', _content_type_uid: 'node' }] }, contentType: 'node' },
    b: { entry: { uid: 'b', title: 'B', next: [{ uid: 'a', _content_type_uid: 'node' }, { uid: 'gone', _content_type_uid: 'node' }] }, contentType: 'node' },
  };
  const deps = {
    schemaOf: async (ct: string) => schemas[ct],
    load: async (uids: string[]) => new Map(uids.filter((u) => store[u]).map((u) => [u, store[u]])),
  };

  it('follows a two-entry cycle ten levels deep without sharing objects, and leaves out missing targets', async () => {
    const path = Array.from({ length: 10 }, () => 'next');
    const includes = path.map((_, i) => path.slice(0, i + 1).join('.'));
    const [top] = await applyReferenceParams([structuredClone(store.a.entry)], 'node', parseReferenceParams({ 'include[]': includes }), deps);
    let node: any = top;
    for (let i = 0; i < 10; i++) {
      assert.equal(node.next.length, 1, `level ${i}: the missing target is left out`);
      node = node.next[0];
      assert.equal(node.title, i % 2 === 0 ? 'B' : 'A');
    }
    assert.deepEqual(node.next, store[node.uid].entry.next, 'below the last include level references stay as they are');
    assert.notEqual((top as any).next[0].next[0], top, 'copies, not the same object');
  });

  it('refuses an include path deeper than ten references, naming include[]', async () => {
    const deep = Array.from({ length: 11 }, () => 'next').join('.');
    await assert.rejects(applyReferenceParams([structuredClone(store.a.entry)], 'node', parseReferenceParams({ 'include[]': deep }), deps), (e: any) => e.code === 'validation_failed' && !!e.errors['include[]']);
  });

  it('copies JSON trees deep, sharing nothing, and leaves other objects to structuredClone', () => {
    const doc = { uid: 'x', n: 1, t: null, list: [{ a: [1, { b: 'c' }] }], nested: { deeper: { flag: true } }, when: new Date(0) };
    const copy = copyTree(doc);
    assert.deepEqual(copy, doc);
    assert.notEqual(copy.list, doc.list);
    assert.notEqual(copy.list[0].a[1], doc.list[0].a[1]);
    assert.notEqual(copy.nested.deeper, doc.nested.deeper);
    assert.ok(copy.when instanceof Date && copy.when !== doc.when && copy.when.getTime() === 0);
  });

  it('asks for a deep copy only when resolution writes inside an entry: include[] through groups, or a dotted except[]', () => {
    const group: Field = { uid: 'box', display_name: 'b', data_type: 'group', mandatory: false, unique: false, multiple: false, schema: [] };
    const flat = schemas.node;
    assert.equal(changesNested(flat, true, undefined), false, 'include[] replaces a top-level reference value');
    assert.equal(changesNested(flat, true, ['title']), false, 'except[] of a top-level field deletes a key of the copy');
    assert.equal(changesNested(flat, false, ['meta.secret']), true, 'a dotted except[] deletes inside a value');
    assert.equal(changesNested([...flat, group], true, undefined), true, 'include[] may write into a group value');
    assert.equal(changesNested([...flat, group], false, undefined), false, 'nothing below to resolve');
  });

  it('projects dotted paths through lists of groups', () => {
    const doc = { uid: 'x', title: 'T', blocks: [{ a: 1, b: 2 }, { a: 3, b: 4 }], other: 1 };
    assert.deepEqual(project(structuredClone(doc), ['blocks.a'], undefined), { uid: 'x', blocks: [{ a: 1 }, { a: 3 }] });
    assert.deepEqual(project(structuredClone(doc), undefined, ['blocks.b', 'other']), { uid: 'x', title: 'T', blocks: [{ a: 1 }, { a: 3 }] });
  });
});
