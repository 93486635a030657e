import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { testBackends } from '../helpers/postgres.ts';
import { clientError, clientStack, eventsAfter, lastSeq, type TestStack } from './helpers/content.ts';

/**
 * Global fields (`/v3/global_fields`) and `global_field` fields in content types, through
 * Contentstack's official management client as csdx drives it (api_version 3.2), and file fields
 * as the management API shows them (the asset, not its uid).
 */
const SEO = {
  title: 'SEO',
  uid: 'seo',
  description: 'Search engine fields',
  schema: [
    { uid: 'meta_title', display_name: 'Meta title', data_type: 'text' },
    { uid: 'keywords', display_name: 'Keywords', data_type: 'text', multiple: true },
  ],
};

for (const backend of await testBackends()) describe(`global fields on ${backend}`, () => {
  let h: TestHerald;
  let s: TestStack;
  const req = (method: string, path: string, body?: unknown) => h.request(method, path, { headers: s.headers, body });

  before(async () => {
    h = await startHerald({ backend });
    s = await clientStack(h);
  });
  after(() => h.close());

  it('creates, lists, fetches, updates and deletes a global field through the official client, recording no event', async () => {
    const before = await lastSeq(h, s);
    const made = await s.stack.globalField({ api_version: '3.2' }).create({ global_field: { title: 'Byline', uid: 'byline', schema: [{ uid: 'name', display_name: 'Name', data_type: 'text', mandatory: true }] } });
    assert.equal(made.uid, 'byline');
    assert.equal(made._version, 1);
    assert.deepEqual(made.schema.map((f: any) => [f.uid, f.data_type, f.mandatory]), [['name', 'text', true]]);

    const list = await s.stack.globalField({ api_version: '3.2' }).query({ include_count: true, include_global_field_schema: true }).find();
    assert.ok(list.items.some((g: any) => g.uid === 'byline'));
    assert.equal(list.count, list.items.length);

    // csdx's import: fetch, assign the exported global field, update().
    const fetched = await s.stack.globalField('byline', { api_version: '3.2' }).fetch();
    Object.assign(fetched, { title: 'Byline block', schema: [...fetched.schema, { uid: 'role', display_name: 'Role', data_type: 'text' }] });
    const updated = await fetched.update();
    assert.equal(updated.title, 'Byline block');
    assert.equal(updated._version, 2);
    assert.deepEqual(updated.schema.map((f: any) => f.uid), ['name', 'role']);

    await s.stack.globalField('byline', { api_version: '3.2' }).delete();
    await assert.rejects(s.stack.globalField('byline', { api_version: '3.2' }).fetch(), clientError(404));
    // Contentstack has no webhook channel for global fields: nothing is recorded.
    assert.deepEqual(await eventsAfter(h, s, before), []);
  });

  it('checks a global field like a content type: a bad field, a duplicate uid, unique inside it are refused by name', async () => {
    const bad = await req('POST', '/v3/global_fields', { global_field: { title: 'Bad', uid: 'bad', schema: [{ uid: 'x', data_type: 'texte' }, { uid: 'y', data_type: 'text', unique: true }] } });
    assert.equal(bad.status, 422);
    assert.deepEqual(Object.keys(bad.body.errors).sort(), ['global_field.schema.x.data_type', 'global_field.schema.y.unique']);
    assert.equal((await req('POST', '/v3/global_fields', { global_field: { title: 'Twice', uid: 'twice', schema: [] } })).status, 201);
    const again = await req('POST', '/v3/global_fields', { global_field: { title: 'Twice', uid: 'twice', schema: [] } });
    assert.equal(again.status, 409);
    assert.ok('global_field.uid' in again.body.errors);
  });

  it("embeds a global field in a content type: entries hold its values like a group's, checked against the global field's schema as it is now", async () => {
    await s.stack.globalField({ api_version: '3.2' }).create({ global_field: SEO });
    await s.stack.contentType().create({
      content_type: {
        title: 'Page',
        uid: 'page',
        schema: [
          { uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true },
          // As exports carry it: the global field's schema inline, which the global field's own replaces.
          { uid: 'seo', display_name: 'SEO', data_type: 'global_field', reference_to: 'seo', schema: [{ uid: 'stale', data_type: 'text', display_name: 'Stale' }] },
          { uid: 'more_seo', display_name: 'More SEO', data_type: 'global_field', reference_to: 'seo', multiple: true },
        ],
      },
    });
    // Without include_global_field_schema: the reference only, as Contentstack's.
    const plain = (await req('GET', '/v3/content_types/page')).body.content_type;
    assert.deepEqual(plain.schema[1].reference_to, 'seo');
    assert.equal(plain.schema[1].schema, undefined);
    const whole = (await req('GET', '/v3/content_types/page?include_global_field_schema=true')).body.content_type;
    assert.deepEqual(whole.schema[1].schema.map((f: any) => f.uid), ['meta_title', 'keywords']);
    const listed = (await req('GET', '/v3/content_types?include_global_field_schema=true')).body.content_types.find((c: any) => c.uid === 'page');
    assert.deepEqual(listed.schema[2].schema.map((f: any) => f.uid), ['meta_title', 'keywords']);

    const entry = await s.stack.contentType('page').entry().create({
      entry: { title: 'Home', seo: { meta_title: 'Welcome', keywords: ['home', 'start'] }, more_seo: [{ meta_title: 'One' }, { meta_title: 'Two' }] },
    });
    const read = (await req('GET', `/v3/content_types/page/entries/${entry.uid}`)).body.entry;
    assert.deepEqual(read.seo, { meta_title: 'Welcome', keywords: ['home', 'start'] });
    assert.deepEqual(read.more_seo, [{ meta_title: 'One' }, { meta_title: 'Two' }]);

    const wrong = await req('POST', '/v3/content_types/page/entries', { entry: { title: 'Bad', seo: { meta_title: 5, stale: 'x' }, more_seo: { meta_title: 'not a list' } } });
    assert.equal(wrong.status, 422);
    assert.deepEqual(Object.keys(wrong.body.errors).sort(), ['entry.more_seo', 'entry.seo.meta_title', 'entry.seo.stale']);

    // A new field of the global field is a field of every content type embedding it, at once.
    await req('PUT', '/v3/global_fields/seo', { global_field: { schema: [...SEO.schema, { uid: 'no_index', display_name: 'No index', data_type: 'boolean' }] } });
    const saved = await req('PUT', `/v3/content_types/page/entries/${entry.uid}`, { entry: { seo: { meta_title: 'Welcome', no_index: true } } });
    assert.equal(saved.status, 200, JSON.stringify(saved.body));
    assert.deepEqual(saved.body.entry.seo, { meta_title: 'Welcome', no_index: true });
  });

  it('refuses a global_field field naming no global field, a global field in use, and one that would embed itself', async () => {
    const missing = await req('POST', '/v3/content_types', {
      content_type: { title: 'Orphan', uid: 'orphan', schema: [{ uid: 'title', display_name: 'Title', data_type: 'text' }, { uid: 'x', display_name: 'X', data_type: 'global_field', reference_to: 'nope' }] },
    });
    assert.equal(missing.status, 422);
    assert.match(missing.body.errors['content_type.schema.x.reference_to'][0], /global field 'nope', which does not exist/);

    await req('POST', '/v3/global_fields', { global_field: { title: 'Inner', uid: 'inner', schema: [{ uid: 'a', display_name: 'A', data_type: 'text' }] } });
    await req('POST', '/v3/global_fields', { global_field: { title: 'Outer', uid: 'outer', schema: [{ uid: 'inner', display_name: 'Inner', data_type: 'global_field', reference_to: 'inner' }] } });
    const cycle = await req('PUT', '/v3/global_fields/inner', { global_field: { schema: [{ uid: 'outer', display_name: 'Outer', data_type: 'global_field', reference_to: 'outer' }] } });
    assert.equal(cycle.status, 422);
    assert.match(cycle.body.errors['global_field.schema.outer.reference_to'][0], /inner -> outer -> inner/);
    const self = await req('PUT', '/v3/global_fields/inner', { global_field: { schema: [{ uid: 'me', display_name: 'Me', data_type: 'global_field', reference_to: 'inner' }] } });
    assert.equal(self.status, 422);
    assert.ok('global_field.schema.me.reference_to' in self.body.errors);

    // Nested global fields: the inner schema shows when asked.
    const outer = (await req('GET', '/v3/global_fields/outer?include_global_field_schema=true')).body.global_field;
    assert.deepEqual(outer.schema[0].schema.map((f: any) => f.uid), ['a']);
    assert.equal((await req('GET', '/v3/global_fields/outer')).body.global_field.schema[0].schema, undefined);

    const inUse = await req('DELETE', '/v3/global_fields/inner');
    assert.equal(inUse.status, 409);
    assert.match(inUse.body.error_message, /global field 'outer'/);
    const seoInUse = await req('DELETE', '/v3/global_fields/seo');
    assert.equal(seoInUse.status, 409);
    assert.match(seoInUse.body.error_message, /content type 'page'/);
  });

  it('copies global fields into a new branch', async () => {
    assert.equal((await req('POST', '/v3/stacks/branches', { branch: { uid: 'gf_copy', source: 'main' } })).status, 201);
    const listed = await h.request('GET', '/v3/global_fields', { headers: { ...s.headers, branch: 'gf_copy' } });
    assert.ok(listed.body.global_fields.some((g: any) => g.uid === 'seo'));
  });

  it('shows file fields as their assets through the management API (top level, in groups, global fields and include[]d entries); the asset object saved back is its uid', async () => {
    const form = new FormData();
    form.append('asset[upload]', new Blob(['hello bytes'], { type: 'text/plain' }), 'hello.txt');
    form.append('asset[title]', 'Hello');
    const up = await fetch(`${h.url}/v3/assets`, { method: 'POST', headers: s.headers, body: form });
    const asset = ((await up.json()) as any).asset;
    await req('POST', '/v3/global_fields', { global_field: { title: 'Media', uid: 'media', schema: [{ uid: 'image', display_name: 'Image', data_type: 'file' }] } });
    await req('POST', '/v3/content_types', {
      content_type: {
        title: 'Card',
        uid: 'card',
        schema: [
          { uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true },
          { uid: 'file', display_name: 'File', data_type: 'file' },
          { uid: 'files', display_name: 'Files', data_type: 'file', multiple: true },
          { uid: 'box', display_name: 'Box', data_type: 'group', schema: [{ uid: 'icon', display_name: 'Icon', data_type: 'file' }] },
          { uid: 'media', display_name: 'Media', data_type: 'global_field', reference_to: 'media' },
          { uid: 'next', display_name: 'Next', data_type: 'reference', reference_to: ['card'] },
        ],
      },
    });
    const first = (await req('POST', '/v3/content_types/card/entries', { entry: { title: 'First', file: asset.uid, files: [asset.uid], box: { icon: asset.uid }, media: { image: asset.uid } } })).body.entry;
    const second = (await req('POST', '/v3/content_types/card/entries', { entry: { title: 'Second', file: asset.uid, next: [{ uid: first.uid, _content_type_uid: 'card' }] } })).body.entry;

    const shown = (await req('GET', `/v3/content_types/card/entries/${first.uid}`)).body.entry;
    for (const value of [shown.file, shown.files[0], shown.box.icon, shown.media.image]) {
      assert.equal(value.uid, asset.uid);
      assert.equal(value.filename, 'hello.txt');
      assert.equal(value.content_type, 'text/plain');
      assert.equal(value.file_size, '11');
      assert.equal(value.title, 'Hello');
      const bytes = await fetch(value.url);
      assert.equal(await bytes.text(), 'hello bytes', 'the url serves the file');
    }
    const listed = (await req('GET', '/v3/content_types/card/entries?include[]=next')).body.entries.find((e: any) => e.uid === second.uid);
    assert.equal(listed.file.uid, asset.uid);
    assert.equal(listed.next[0].file.filename, 'hello.txt', 'a resolved reference shows its file fields too');

    // The official client's fetch-then-update sends what it read (asset objects); the uid is stored.
    const seq = await lastSeq(h, s);
    const e = await s.stack.contentType('card').entry(first.uid).fetch();
    e.title = 'First, again';
    await e.update();
    const [update] = await eventsAfter(h, s, seq);
    assert.equal(update!.action, 'update');
    assert.equal(update!.data.entry.file, asset.uid, 'the stored value is the uid');
    assert.deepEqual(update!.data.entry.box, { icon: asset.uid });
    assert.equal((await req('GET', `/v3/content_types/card/entries/${first.uid}?only[BASE][]=file`)).body.entry.file.uid, asset.uid);
  });
});
