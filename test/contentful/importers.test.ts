import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestHerald } from '../helpers/herald.ts';
import { refusal, startSpace, type Client } from './helpers/space.ts';

/**
 * What Contentful's import, export and migration tools rely on, through the official client:
 * ids chosen by the client, locales, tags, editor interfaces, roles, and sys.version moving on
 * publish as Contentful's does.
 */
describe('what Contentful importers rely on', () => {
  let h: TestHerald;
  let client: Client;
  let spaceId: string;
  let token: string;
  let env: { spaceId: string; environmentId: string };
  const cma = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    h.request(method, `/spaces/${spaceId}/environments/master${path}`, { body, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/vnd.contentful.management.v1+json', ...headers } });

  before(async () => {
    const s = await startSpace();
    ({ h, client, spaceId, env } = s);
    token = s.space.token;
  });
  after(() => h.close());

  it('creates a content type with a PUT at version 0, as contentful-migration sends it', async () => {
    const made = await cma('PUT', '/content_types/article', { name: 'Article', fields: [{ id: 'title', name: 'Title', type: 'Symbol', localized: true }] }, { 'x-contentful-version': '0' });
    assert.equal(made.status, 201);
    assert.equal(made.body.sys.id, 'article');
    const again = await cma('PUT', '/content_types/article', { name: 'Article', fields: [] }, { 'x-contentful-version': '0' });
    assert.equal(again.status, 409, 'version 0 on a content type that exists is stale');
    assert.equal(again.body.sys.id, 'VersionMismatch');
    // contentful-migration activates what it made before any entry is made on it (Contentful refuses entries on drafts).
    const activated = await cma('PUT', '/content_types/article/published', undefined, { 'x-contentful-version': String(made.body.sys.version) });
    assert.equal(activated.status, 200);
  });

  it('accepts a content type linking to one not made yet, as the importer makes them concurrently', async () => {
    const book = await client.contentType.createWithId({ ...env, contentTypeId: 'book' }, {
      name: 'Book',
      fields: [{ id: 'title', name: 'Title', type: 'Symbol' }, { id: 'writer', name: 'Writer', type: 'Link', linkType: 'Entry', validations: [{ linkContentType: ['writer'] }] }],
    } as any);
    assert.deepEqual(book.fields[1].validations, [{ linkContentType: ['writer'] }]);
    const writer = await client.contentType.createWithId({ ...env, contentTypeId: 'writer' }, { name: 'Writer', fields: [{ id: 'title', name: 'Name', type: 'Symbol' }] } as any);
    // The importer activates every content type before it makes entries.
    await Promise.all([client.contentType.publish({ ...env, contentTypeId: 'book' }, book), client.contentType.publish({ ...env, contentTypeId: 'writer' }, writer)]);
    const w = await client.entry.create({ ...env, contentTypeId: 'writer' }, { fields: { title: { 'en-US': 'Ursula' } } } as any);
    const b = await client.entry.create({ ...env, contentTypeId: 'book' }, { fields: { title: { 'en-US': 'Earthsea' }, writer: { 'en-US': { sys: { type: 'Link', linkType: 'Entry', id: w.sys.id } } } } } as any);
    assert.equal(b.fields.writer['en-US'].sys.id, w.sys.id);
    const bad = await cma('PUT', '/content_types/shelf', { name: 'Shelf', fields: [{ id: 'books', name: 'Books', type: 'Link', linkType: 'Entry', validations: [{ linkContentType: ['not a valid id!'] }] }] });
    assert.equal(bad.status, 422);
  });

  it('creates an entry and an asset with the id a PUT names, and refuses a second create of that id', async () => {
    const entry = await client.entry.createWithId({ ...env, contentTypeId: 'article', entryId: 'hello-world' }, { fields: { title: { 'en-US': 'Hello' } } } as any);
    assert.equal(entry.sys.id, 'hello-world');
    assert.equal(entry.sys.version, 1);
    assert.deepEqual((await client.entry.get({ ...env, entryId: 'hello-world' })).fields, { title: { 'en-US': 'Hello' } });
    const v3 = await h.request('GET', '/v3/content_types/article/entries/hello-world', { headers: { api_key: spaceId, authorization: token } });
    assert.equal(v3.status, 200, 'the same entry through /v3');
    const twice = await refusal(client.entry.createWithId({ ...env, contentTypeId: 'article', entryId: 'hello-world' }, { fields: { title: { 'en-US': 'Again' } } } as any));
    assert.equal(twice.status, 409);
    const noType = await cma('PUT', '/entries/no-type', { fields: {} });
    assert.equal(noType.status, 422);
    assert.match(noType.body.message, /X-Contentful-Content-Type/);
    const badId = await cma('PUT', '/entries/has%20space', { fields: {} }, { 'x-contentful-content-type': 'article' });
    assert.equal(badId.status, 422);

    const up = await client.upload.create({ spaceId }, { file: Buffer.from('bytes of a picture') } as any);
    const asset = await client.asset.createWithId({ ...env, assetId: 'picture-1' }, {
      fields: { title: { 'en-US': 'Picture' }, file: { 'en-US': { fileName: 'p.png', contentType: 'image/png', uploadFrom: { sys: { type: 'Link', linkType: 'Upload', id: up.sys.id } } } } },
    } as any);
    assert.equal(asset.sys.id, 'picture-1');
    const processed = await client.asset.processForAllLocales(env, asset as any);
    const res = await fetch(processed.fields.file['en-US'].url!);
    assert.equal(await res.text(), 'bytes of a picture', 'the file is there at its url');
  });

  it('after a publish shows sys.version as publishedVersion + 1, and moves it on every publish, unpublish and archive', async () => {
    let e = await client.entry.create({ ...env, contentTypeId: 'article' }, { fields: { title: { 'en-US': 'Versions' } } } as any);
    assert.equal(e.sys.version, 1);
    e = await client.entry.publish({ ...env, entryId: e.sys.id }, e);
    assert.equal(e.sys.publishedVersion, 1);
    assert.equal(e.sys.version, 2);
    e = await client.entry.update({ ...env, entryId: e.sys.id }, { ...e, fields: { title: { 'en-US': 'Versions, edited' } } });
    assert.equal(e.sys.version, 3, 'changed since published: version > publishedVersion + 1');
    e = await client.entry.publish({ ...env, entryId: e.sys.id }, e);
    assert.equal(e.sys.publishedVersion, 3);
    assert.equal(e.sys.version, 4);
    const stale = await refusal(client.entry.update({ ...env, entryId: e.sys.id }, { ...e, sys: { ...e.sys, version: 3 } }));
    assert.equal(stale.name, 'VersionMismatch', 'the version before the publish is stale');
    e = await client.entry.unpublish({ ...env, entryId: e.sys.id }, e);
    assert.equal(e.sys.version, 5);
    assert.equal(e.sys.publishedVersion, undefined);
    e = await client.entry.archive({ ...env, entryId: e.sys.id });
    assert.equal(e.sys.version, 6);
    const listed = await client.entry.getMany({ ...env, query: { 'sys.id': e.sys.id } });
    assert.equal(listed.items[0].sys.version, 6, 'the list shows the same version');

    let a = await client.asset.get({ ...env, assetId: 'picture-1' });
    const before = a.sys.version;
    a = await client.asset.publish({ ...env, assetId: 'picture-1' }, a);
    assert.equal(a.sys.publishedVersion, before);
    assert.equal(a.sys.version, before + 1);
  });

  it('creates, updates and deletes locales', async () => {
    const de = await client.locale.create(env, { name: 'German', code: 'de-DE', fallbackCode: 'en-US', optional: true } as any);
    assert.equal(de.code, 'de-DE');
    assert.equal(de.fallbackCode, 'en-US');
    assert.equal(de.optional, true);
    const v3 = await h.request('GET', '/v3/locales/de-de', { headers: { api_key: spaceId, authorization: token } });
    assert.equal(v3.body.locale.name, 'German', 'the same locale through /v3');
    const renamed = await client.locale.update({ ...env, localeId: de.sys.id }, { ...de, name: 'Deutsch', optional: false });
    assert.equal(renamed.name, 'Deutsch');
    assert.equal(renamed.optional, false);
    assert.equal(renamed.sys.version, 2);
    const master = (await client.locale.getMany(env)).items.find((l: any) => l.default)!;
    const kept = await client.locale.update({ ...env, localeId: master.sys.id }, { ...master, name: 'English (US)' });
    assert.equal(kept.fallbackCode, null);
    const noCda = await refusal(client.locale.create(env, { name: 'French', code: 'fr-FR', contentDeliveryApi: false } as any));
    assert.equal(noCda.status, 422);
    assert.equal(noCda.details.errors[0].path[0], 'contentDeliveryApi');
    const dup = await refusal(client.locale.create(env, { name: 'German again', code: 'de-DE' } as any));
    assert.equal(dup.status, 409);
    await client.locale.delete({ ...env, localeId: de.sys.id });
    assert.equal((await client.locale.getMany(env)).items.length, 1);
  });

  it('lists roles (none), tags (made and carried) and editor interfaces truthfully', async () => {
    assert.deepEqual((await client.role.getMany({ spaceId })).items, []);

    const tag = await client.tag.createWithId({ ...env, tagId: 'featured' }, { name: 'Featured', sys: { visibility: 'public' } } as any);
    assert.equal(tag.sys.version, 1);
    await client.entry.create({ ...env, contentTypeId: 'article' }, { fields: { title: { 'en-US': 'Tagged' } }, metadata: { tags: [{ sys: { type: 'Link', linkType: 'Tag', id: 'featured' } }, { sys: { type: 'Link', linkType: 'Tag', id: 'legacy' } }] } } as any);
    const tags = await client.tag.getMany({ ...env, query: {} });
    assert.deepEqual(tags.items.map((t: any) => [t.sys.id, t.name, t.sys.version, t.sys.visibility]), [['featured', 'Featured', 1, 'public'], ['legacy', 'legacy', 0, 'private']]);
    const tagged = await client.entry.getMany({ ...env, query: { 'metadata.tags.sys.id[in]': 'legacy' } });
    assert.equal(tagged.items.length, 1);
    const renamed = await client.tag.update({ ...env, tagId: 'featured' }, { ...tag, name: 'Front page' } as any);
    assert.equal(renamed.sys.version, 2);

    // As Contentful's: made on the content type's first publish, a new version on each publish.
    let ct = await client.contentType.createWithId({ ...env, contentTypeId: 'page' }, { name: 'Page', fields: [{ id: 'title', name: 'Title', type: 'Symbol', localized: true }] } as any);
    assert.equal((await refusal(client.editorInterface.get({ ...env, contentTypeId: 'page' }))).name, 'NotFound');
    ct = await client.contentType.publish({ ...env, contentTypeId: 'page' }, ct);
    const ei = await client.editorInterface.get({ ...env, contentTypeId: 'page' });
    assert.deepEqual(ei.controls, [{ fieldId: 'title', widgetId: 'singleLine', widgetNamespace: 'builtin' }]);
    assert.equal(ei.sys.contentType.sys.id, 'page');
    assert.equal(ei.sys.version, 1);
    const saved = await client.editorInterface.update({ ...env, contentTypeId: 'page' }, { ...ei, controls: [{ fieldId: 'title', widgetId: 'slugEditor', widgetNamespace: 'builtin', settings: { helpText: 'The headline' } }] });
    assert.equal(saved.sys.version, 2);
    assert.equal((await client.editorInterface.get({ ...env, contentTypeId: 'page' })).controls![0].widgetId, 'slugEditor');
    ct = await client.contentType.update({ ...env, contentTypeId: 'page' }, { ...ct, fields: [...ct.fields, { id: 'teaser', name: 'Teaser', type: 'Text', localized: false, required: false }] });
    await client.contentType.publish({ ...env, contentTypeId: 'page' }, ct);
    const synced = await client.editorInterface.get({ ...env, contentTypeId: 'page' });
    assert.equal(synced.sys.version, 3);
    assert.deepEqual(synced.controls!.map((c: any) => [c.fieldId, c.widgetId]), [['title', 'slugEditor'], ['teaser', 'markdown']], 'the saved control kept, the new field given its default');
    assert.deepEqual((await client.editorInterface.getMany(env)).items.map((i: any) => i.sys.contentType.sys.id).sort(), ['article', 'book', 'page', 'writer'], 'one for each activated content type');
    const wrong = await refusal(client.editorInterface.update({ ...env, contentTypeId: 'page' }, { ...synced, controls: [{ fieldId: 'nope', widgetId: 'singleLine' }] }));
    assert.equal(wrong.status, 422);
  });

  it("takes a tag's visibility from X-Contentful-Tag-Visibility, which overrides the body's, as Contentful's create a tag says", async () => {
    const only = await cma('PUT', '/tags/fromHeader', { name: 'From the header' }, { 'x-contentful-tag-visibility': 'public' });
    assert.deepEqual([only.status, only.body.sys.visibility], [201, 'public']);
    const both = await cma('PUT', '/tags/headerWins', { name: 'Header wins', sys: { visibility: 'private' } }, { 'x-contentful-tag-visibility': 'public' });
    assert.deepEqual([both.status, both.body.sys.visibility], [201, 'public']);
    const bad = await cma('PUT', '/tags/badHeader', { name: 'Bad header' }, { 'x-contentful-tag-visibility': 'secret' });
    assert.equal(bad.status, 422);
    assert.deepEqual(bad.body.details.errors.map((e: any) => e.path.join('.')), ['X-Contentful-Tag-Visibility']);
  });
});
