import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createClient } from 'contentful';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { contentfulClient, type Client } from './helpers/space.ts';

/**
 * Contentful's Content Delivery and Preview APIs list activated (published) content types only.
 * Read with contentful.js (the `contentful` package, unmodified); content types made with
 * contentful-management and with Contentstack's /v3 (no activation there: delivered at once).
 */

const NAME = [{ id: 'name', name: 'Name', type: 'Symbol' }];
const V3_TYPE = (uid: string) => ({ content_type: { title: uid, uid, schema: [{ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true }] } });

/** A running Herald with one space, its management clients and a delivery + preview key pair. */
async function openSpace(h: TestHerald, space?: { api_key: string; token: string }) {
  const s = space ?? (await h.newStack('Delivered types'));
  const cma: Client = contentfulClient(h, s.token);
  const v3 = async (method: string, path: string, body?: unknown) => {
    const r = await h.request(method, `/v3${path}`, { headers: { api_key: s.api_key, authorization: s.token }, body });
    assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const keyFor = async (environments: string[]) => {
    const r = await h.request('POST', `/spaces/${s.api_key}/api_keys`, {
      headers: { authorization: `Bearer ${s.token}` },
      body: { name: `site ${environments.join(' ')}`, environments: environments.map((id) => ({ sys: { type: 'Link', linkType: 'Environment', id } })) },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return { delivery: r.body.accessToken as string, preview: r.body.preview_api_key.accessToken as string };
  };
  // Herald answers delivery and preview keys on one host: the key says which API it reads.
  const cda = (accessToken: string, environment = 'master') => createClient({ space: s.api_key, accessToken, host: new URL(h.url).host, insecure: true, environment, retryOnError: false } as any);
  const ids = async (accessToken: string, environment = 'master') => (await cda(accessToken, environment).getContentTypes()).items.map((t: any) => t.sys.id);
  return { s, cma, v3, keyFor, cda, ids, env: { spaceId: s.api_key, environmentId: 'master' } };
}

describe('content types in Contentful delivery', () => {
  let h: TestHerald;
  let sp: Awaited<ReturnType<typeof openSpace>>;
  let keys: { delivery: string; preview: string };

  before(async () => {
    h = await startHerald();
    sp = await openSpace(h);
    const { cma, env, v3 } = sp;
    await cma.contentType.createWithId({ ...env, contentTypeId: 'draftType' }, { name: 'Never activated', fields: NAME } as any);
    const live = await cma.contentType.createWithId({ ...env, contentTypeId: 'liveType' }, { name: 'Activated', fields: NAME } as any);
    await cma.contentType.publish({ ...env, contentTypeId: 'liveType' }, live);
    const gone = await cma.contentType.createWithId({ ...env, contentTypeId: 'goneType' }, { name: 'Deactivated', fields: NAME } as any);
    await cma.contentType.publish({ ...env, contentTypeId: 'goneType' }, gone);
    await cma.contentType.unpublish({ ...env, contentTypeId: 'goneType' });
    await v3('POST', '/content_types', V3_TYPE('made_in_v3'));
    keys = await sp.keyFor(['master']);
  });
  after(() => h.close());

  it('lists activated content types and those made through /v3, never drafts, to delivery and preview keys', async () => {
    assert.deepEqual(await sp.ids(keys.delivery), ['liveType', 'made_in_v3']);
    assert.deepEqual(await sp.ids(keys.preview), ['liveType', 'made_in_v3'], "the Preview API shows content types as the CDA does");
    const r = await sp.cda(keys.delivery).getContentTypes({ 'sys.id[in]': 'draftType,liveType' } as any);
    assert.deepEqual([r.items.map((t: any) => t.sys.id), r.total], [['liveType'], 1], 'total counts what is listed');
    const all = await sp.cma.contentType.getMany({ ...sp.env });
    assert.deepEqual(all.items.map((t: any) => t.sys.id), ['draftType', 'liveType', 'goneType', 'made_in_v3'], 'the management API still lists drafts');
  });

  it('answers one draft content type with NotFound, one activated or /v3 one with its definition', async () => {
    for (const id of ['draftType', 'goneType']) {
      await assert.rejects(sp.cda(keys.delivery).getContentType(id), (err: any) => JSON.parse(err.message).status === 404, id);
      await assert.rejects(sp.cda(keys.preview).getContentType(id), (err: any) => JSON.parse(err.message).status === 404, id);
    }
    assert.equal((await sp.cda(keys.delivery).getContentType('liveType')).name, 'Activated');
    assert.equal((await sp.cda(keys.delivery).getContentType('made_in_v3')).name, 'made_in_v3');
  });

  it('delivers a draft once it is published, and hides an activated one (also made through /v3) once unpublished', async () => {
    const { cma, env } = sp;
    const draft = await cma.contentType.get({ ...env, contentTypeId: 'draftType' });
    await cma.contentType.publish({ ...env, contentTypeId: 'draftType' }, draft);
    assert.deepEqual(await sp.ids(keys.delivery), ['draftType', 'liveType', 'made_in_v3']);
    const v3Type = await cma.contentType.get({ ...env, contentTypeId: 'made_in_v3' });
    await cma.contentType.publish({ ...env, contentTypeId: 'made_in_v3' }, v3Type);
    await cma.contentType.unpublish({ ...env, contentTypeId: 'made_in_v3' });
    assert.deepEqual(await sp.ids(keys.delivery), ['draftType', 'liveType']);
    const again = await cma.contentType.get({ ...env, contentTypeId: 'made_in_v3' });
    await cma.contentType.publish({ ...env, contentTypeId: 'made_in_v3' }, again);
    assert.deepEqual(await sp.ids(keys.delivery), ['draftType', 'liveType', 'made_in_v3']);
  });

  it('delivers a content type made again through /v3 after a draft of the same uid was deleted', async () => {
    const { cma, env, v3 } = sp;
    await cma.contentType.createWithId({ ...env, contentTypeId: 'reborn' }, { name: 'Reborn', fields: NAME } as any);
    assert.ok(!(await sp.ids(keys.delivery)).includes('reborn'));
    await v3('DELETE', '/content_types/reborn');
    await v3('POST', '/content_types', V3_TYPE('reborn'));
    assert.ok((await sp.ids(keys.delivery)).includes('reborn'), 'the draft mark went with the deleted content type');
  });

  it('keeps drafts drafts in an environment copied from master', async () => {
    const { cma, env, v3 } = sp;
    await cma.contentType.createWithId({ ...env, contentTypeId: 'copiedDraft' }, { name: 'Copied draft', fields: NAME } as any);
    await v3('POST', '/stacks/branches', { branch: { uid: 'staging', source: 'main' } });
    const staging = await sp.keyFor(['staging']);
    const ids = await sp.ids(staging.delivery, 'staging');
    assert.ok(!ids.includes('copiedDraft'), `drafts stay drafts: ${ids.join(', ')}`);
    assert.ok(ids.includes('liveType') && ids.includes('reborn'), `the others are delivered: ${ids.join(', ')}`);
    await v3('DELETE', '/content_types/copied_draft');
    assert.ok(!(await sp.ids(keys.delivery)).includes('copiedDraft'));
  });
});

describe('content types in Contentful delivery, on a store from before drafts were recorded', () => {
  it('treats the content types the dialect made and never activated as drafts after the upgrade', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'herald-drafts-'));
    let h = await startHerald({}, dataDir);
    try {
      const sp = await openSpace(h);
      const { cma, env, v3 } = sp;
      await cma.contentType.createWithId({ ...env, contentTypeId: 'oldDraft' }, { name: 'Old draft', fields: NAME } as any);
      const live = await cma.contentType.createWithId({ ...env, contentTypeId: 'oldLive' }, { name: 'Old live', fields: NAME } as any);
      await cma.contentType.publish({ ...env, contentTypeId: 'oldLive' }, live);
      await v3('POST', '/content_types', V3_TYPE('old_v3'));
      // The store as migration 020 finds it: no draft marks yet.
      await h.herald.db.tx(async (tx) => {
        await tx.exec('DROP TABLE contentful_draft_content_types');
        await tx.run('DELETE FROM schema_migrations WHERE id = ?', [20]);
      });
      await h.close();
      h = await startHerald({}, dataDir);
      const after = await openSpace(h, sp.s);
      const keys = await after.keyFor(['master']);
      assert.deepEqual(await after.ids(keys.delivery), ['oldLive', 'old_v3']);
      const draft = await after.cma.contentType.get({ ...env, contentTypeId: 'oldDraft' });
      await after.cma.contentType.publish({ ...env, contentTypeId: 'oldDraft' }, draft);
      assert.deepEqual(await after.ids(keys.delivery), ['oldDraft', 'oldLive', 'old_v3']);
    } finally {
      await h.close();
    }
  });
});

describe('content types as last activated (the CMA public/content_types)', () => {
  let h: TestHerald;
  let sp: Awaited<ReturnType<typeof openSpace>>;
  const FIELDS = [{ id: 'title', name: 'Title', type: 'Symbol' }];
  const activated = async (path = `/spaces/${sp.s.api_key}/environments/master/public/content_types`) => {
    const r = await h.request('GET', path, { headers: { authorization: `Bearer ${sp.s.token}` } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body;
  };
  const shown = (body: any) => body.items.map((t: any) => [t.sys.id, t.name, t.fields.map((f: any) => f.id), t.sys.version, t.sys.publishedVersion ?? null]);

  before(async () => {
    h = await startHerald();
    sp = await openSpace(h);
    const { cma, env, v3 } = sp;
    await cma.contentType.createWithId({ ...env, contentTypeId: 'draftType' }, { name: 'Never activated', fields: NAME } as any);
    const post = await cma.contentType.createWithId({ ...env, contentTypeId: 'post' }, { name: 'Post', fields: FIELDS } as any);
    const published = await cma.contentType.publish({ ...env, contentTypeId: 'post' }, post);
    // Changed since it was activated: version 2 is a draft over the activated version 1.
    await cma.contentType.update({ ...env, contentTypeId: 'post' }, { ...published, name: 'Post, changed', fields: [...FIELDS, { id: 'body', name: 'Body', type: 'Text' }] } as any);
    await v3('POST', '/content_types', V3_TYPE('made_in_v3'));
  });
  after(() => h.close());

  it('shows each activated content type as it was activated, ignoring changes since, drafts left out, /v3 ones as they are', async () => {
    const body = await activated();
    assert.deepEqual(shown(body), [
      ['post', 'Post', ['title'], 1, 1],
      ['made_in_v3', 'made_in_v3', ['title'], 1, null],
    ]);
    assert.deepEqual([body.sys.type, body.total, body.skip, body.limit], ['Array', 2, 0, 100]);
    // The management API's own list shows the change; the environment-less path is master.
    assert.deepEqual((await sp.cma.contentType.get({ ...sp.env, contentTypeId: 'post' })).fields.map((f: any) => f.id), ['title', 'body']);
    assert.deepEqual(shown(await activated(`/spaces/${sp.s.api_key}/public/content_types`)), shown(body));
    // Contentful's collection parameters, as on the other lists; anything else is a 400 naming it.
    assert.deepEqual(shown(await activated(`/spaces/${sp.s.api_key}/environments/master/public/content_types?sys.id=post`)).map((t: any) => t[0]), ['post']);
    const bad = await h.request('GET', `/spaces/${sp.s.api_key}/environments/master/public/content_types?bogus=1`, { headers: { authorization: `Bearer ${sp.s.token}` } });
    assert.deepEqual([bad.status, bad.body.sys.id], [400, 'InvalidQuery']);
  });

  it('delivers each activated content type as it was activated, to contentful.js with a delivery and a preview key, as Contentful does', async () => {
    const keys = await sp.keyFor(['master']);
    for (const key of [keys.delivery, keys.preview]) {
      const one = (await sp.cda(key).getContentType('post')) as any;
      assert.deepEqual([one.name, one.fields.map((f: any) => f.id)], ['Post', ['title']], 'not the change made since the activation');
      const listed = (await sp.cda(key).getContentTypes()).items.map((t: any) => [t.sys.id, t.name, t.fields.map((f: any) => f.id)]);
      assert.deepEqual(listed, [
        ['post', 'Post', ['title']],
        ['made_in_v3', 'made_in_v3', ['title']],
      ]);
      const searched = await sp.cda(key).getContentTypes({ name: 'Post, changed' } as any);
      assert.equal(searched.total, 0, 'search parameters match the activated definition');
    }
  });

  it('keeps the activated definition in an environment copied from master, and shows the change once activated', async () => {
    const { cma, env } = sp;
    await cma.environment.createWithId({ spaceId: sp.s.api_key, environmentId: 'staging' }, { name: 'Staging' });
    assert.deepEqual(shown(await activated(`/spaces/${sp.s.api_key}/environments/staging/public/content_types`))[0], ['post', 'Post', ['title'], 1, 1]);
    const changed = await cma.contentType.get({ ...env, contentTypeId: 'post' });
    await cma.contentType.publish({ ...env, contentTypeId: 'post' }, changed);
    assert.deepEqual(shown(await activated())[0], ['post', 'Post, changed', ['title', 'body'], 2, 2]);
    assert.deepEqual(shown(await activated(`/spaces/${sp.s.api_key}/environments/staging/public/content_types`))[0], ['post', 'Post', ['title'], 1, 1], 'the copy keeps its own');
  });

  it('shows a content type made again through /v3 after an activated one of the same id was deleted as it is, not the old activation', async () => {
    const { cma, env, v3 } = sp;
    const old = await cma.contentType.createWithId({ ...env, contentTypeId: 'again' }, { name: 'Old', fields: FIELDS } as any);
    await cma.contentType.publish({ ...env, contentTypeId: 'again' }, old);
    await v3('DELETE', '/content_types/again');
    await v3('POST', '/content_types', V3_TYPE('again'));
    assert.deepEqual(
      shown(await activated()).find((t: any) => t[0] === 'again'),
      ['again', 'again', ['title'], 1, null],
    );
  });

  it("drops a content type's editor interface when it is deleted through /v3: one made again with the same id has none, not the old one", async () => {
    const { cma, env, v3 } = sp;
    const old = await cma.contentType.createWithId({ ...env, contentTypeId: 'edited' }, { name: 'Edited', fields: FIELDS } as any);
    await cma.contentType.publish({ ...env, contentTypeId: 'edited' }, old);
    const ei = (await cma.editorInterface.get({ ...env, contentTypeId: 'edited' })) as any;
    await cma.editorInterface.update({ ...env, contentTypeId: 'edited' }, { ...ei, controls: [{ fieldId: 'title', widgetId: 'slugEditor', widgetNamespace: 'builtin' }] });
    await v3('DELETE', '/content_types/edited');
    await v3('POST', '/content_types', V3_TYPE('edited'));
    await assert.rejects(cma.editorInterface.get({ ...env, contentTypeId: 'edited' }), (err: any) => JSON.parse(err.message).status === 404);
  });
});

describe('entries as their content type was last activated (delivery and preview)', () => {
  let h: TestHerald;
  let sp: Awaited<ReturnType<typeof openSpace>>;
  let keys: { delivery: string; preview: string };
  const ARTICLE = [
    { id: 'title', name: 'Title', type: 'Symbol' },
    { id: 'secret', name: 'Editors only', type: 'Symbol' },
    { id: 'body', name: 'Body', type: 'Text' },
  ];
  const fieldsOf = (e: any) => Object.entries(e.fields).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`);

  before(async () => {
    h = await startHerald();
    sp = await openSpace(h);
    const { cma, env } = sp;
    const ct = await cma.contentType.createWithId({ ...env, contentTypeId: 'article' }, { name: 'Article', displayField: 'title', fields: ARTICLE } as any);
    await cma.contentType.publish({ ...env, contentTypeId: 'article' }, ct);
    const e = await cma.entry.createWithId(
      { ...env, contentTypeId: 'article', entryId: 'first' },
      { fields: { title: { 'en-US': 'First' }, secret: { 'en-US': 'draft notes' }, body: { 'en-US': 'Text' } } } as any,
    );
    await cma.entry.publish({ ...env, entryId: 'first' }, e);
    keys = await sp.keyFor(['master']);
  });
  after(() => h.close());

  it('serves entries against the activated definition: a change saved and not activated is not served, an activated omitted field is left out, order as activated', async () => {
    const { cma, env } = sp;
    const current = (await cma.contentType.get({ ...env, contentTypeId: 'article' })) as any;
    // Saved, not activated: body first, secret omitted, title hidden in the editor (disabled), a new field.
    const changed = [
      { ...ARTICLE[2] },
      { ...ARTICLE[0], disabled: true },
      { ...ARTICLE[1], omitted: true },
      { id: 'extra', name: 'Extra', type: 'Symbol' },
    ];
    await cma.contentType.update({ ...env, contentTypeId: 'article' }, { ...current, fields: changed });
    const e = (await cma.entry.get({ ...env, entryId: 'first' })) as any;
    const saved = await cma.entry.update({ ...env, entryId: 'first' }, { ...e, fields: { ...e.fields, extra: { 'en-US': 'new value' } } });
    await cma.entry.publish({ ...env, entryId: 'first' }, saved);

    const before = ['title=First', 'secret=draft notes', 'body=Text'];
    for (const key of [keys.delivery, keys.preview]) {
      const api = key === keys.delivery ? 'CDA' : 'Preview API';
      assert.deepEqual(fieldsOf(await sp.cda(key).getEntry('first')), before, `${api}: as activated, the new field not served`);
      const listed = await sp.cda(key).getEntries({ content_type: 'article' } as any);
      assert.deepEqual(listed.items.map(fieldsOf), [before], api);
      const all = (await sp.cda(key).withAllLocales.getEntries({ content_type: 'article' } as any)).items[0] as any;
      assert.deepEqual(Object.keys(all.fields), ['title', 'secret', 'body'], `${api}, locale=*`);
      // A field the activated definition lacks cannot be searched yet: a 400 naming the parameter.
      await assert.rejects(
        sp.cda(key).getEntries({ content_type: 'article', 'fields.extra': 'new value' } as any),
        (err: any) => JSON.parse(err.message).status === 400 && /fields\.extra/.test(err.message),
        api,
      );
    }
    const synced = await sp.cda(keys.delivery).sync({ initial: true } as any);
    assert.deepEqual(Object.keys((synced.entries[0] as any).fields), ['title', 'secret', 'body'], 'sync as activated');

    const again = await cma.contentType.get({ ...env, contentTypeId: 'article' });
    await cma.contentType.publish({ ...env, contentTypeId: 'article' }, again);
    const afterActivation = ['body=Text', 'title=First', 'extra=new value'];
    for (const key of [keys.delivery, keys.preview]) {
      const api = key === keys.delivery ? 'CDA' : 'Preview API';
      assert.deepEqual(fieldsOf(await sp.cda(key).getEntry('first')), afterActivation, `${api}: omitted left out, disabled still served, the activated order`);
      const found = await sp.cda(key).getEntries({ content_type: 'article', 'fields.extra': 'new value' } as any);
      assert.equal(found.total, 1, api);
      await assert.rejects(
        sp.cda(key).getEntries({ content_type: 'article', 'fields.secret': 'draft notes' } as any),
        (err: any) => JSON.parse(err.message).status === 400 && /fields\.secret/.test(err.message),
        `${api}: an omitted field is not searched (its values would show which entries hold them)`,
      );
      assert.equal((await sp.cda(key).getEntries({ content_type: 'article', query: 'draft notes' } as any)).total, 0, `${api}: full-text search skips omitted fields`);
    }
    const resynced = await sp.cda(keys.delivery).sync({ initial: true } as any);
    assert.deepEqual(Object.keys((resynced.entries[0] as any).fields), ['body', 'title', 'extra'], 'sync as activated');
    // The management API shows every field, omitted too.
    assert.deepEqual(Object.keys(((await cma.entry.get({ ...env, entryId: 'first' })) as any).fields), ['body', 'title', 'secret', 'extra']);
  });
});

describe('entries on a content type that is a draft (delivery and preview)', () => {
  let h: TestHerald;
  let sp: Awaited<ReturnType<typeof openSpace>>;
  let keys: { delivery: string; preview: string };
  let memo: string;

  before(async () => {
    h = await startHerald();
    sp = await openSpace(h);
    const { cma, env, v3 } = sp;
    // Never activated: Contentful has no entries on it (its CMA refuses them); /v3 makes one all the same.
    await cma.contentType.createWithId({ ...env, contentTypeId: 'memo' }, { name: 'Memo', fields: NAME } as any);
    const post = await cma.contentType.createWithId({ ...env, contentTypeId: 'post' }, { name: 'Post', fields: [...NAME, { id: 'related', name: 'Related', type: 'Link', linkType: 'Entry' }] } as any);
    await cma.contentType.publish({ ...env, contentTypeId: 'post' }, post);
    memo = (await v3('POST', '/content_types/memo/entries', { entry: { name: 'Internal memo' } })).entry.uid;
    const e = await cma.entry.createWithId({ ...env, contentTypeId: 'post', entryId: 'hello' }, {
      fields: { name: { 'en-US': 'Hello' }, related: { 'en-US': { sys: { type: 'Link', linkType: 'Entry', id: memo } } } },
    } as any);
    await cma.entry.publish({ ...env, entryId: 'hello' }, e);
    await v3('POST', `/content_types/memo/entries/${memo}/publish`, { entry: { environments: ['master'], locales: ['en-us'] } });
    keys = await sp.keyFor(['master']);
  });
  after(() => h.close());

  it('serves no entry of a content type never activated, as Contentful has none: not listed, not found, not included, not synced', async () => {
    for (const key of [keys.delivery, keys.preview]) {
      const api = key === keys.delivery ? 'CDA' : 'Preview API';
      const listed = await sp.cda(key).getEntries();
      assert.deepEqual([listed.items.map((x: any) => x.sys.id), listed.total], [['hello'], 1], api);
      await assert.rejects(sp.cda(key).getEntry(memo), (err: any) => /NotFound/.test(err.sys?.id ?? err.name ?? err.message), `${api}: one entry`);
      await assert.rejects(
        sp.cda(key).getEntries({ content_type: 'memo' } as any),
        (err: any) => JSON.parse(err.message).status === 400 && /content_type/.test(err.message),
        `${api}: the content type is not delivered`,
      );
      // The link to it does not resolve, as a link to an entry not delivered.
      const raw = await h.request('GET', `/spaces/${sp.s.api_key}/environments/master/entries?sys.id=hello&include=1`, { headers: { authorization: `Bearer ${key}` } });
      assert.equal(raw.status, 200, JSON.stringify(raw.body));
      assert.equal(raw.body.includes, undefined, api);
      assert.deepEqual(raw.body.errors, [{ sys: { id: 'notResolvable', type: 'error' }, details: { type: 'Link', linkType: 'Entry', id: memo } }], api);
    }
    const synced = await sp.cda(keys.delivery).sync({ initial: true } as any);
    assert.deepEqual(synced.entries.map((x: any) => x.sys.id), ['hello'], 'initial sync');
    // Published again: nothing for a sync from the token, neither an entry nor a deletion.
    const updated = await sp.v3('PUT', `/content_types/memo/entries/${memo}`, { entry: { name: 'Internal memo, again' } });
    assert.equal(updated.entry.name, 'Internal memo, again');
    await sp.v3('POST', `/content_types/memo/entries/${memo}/publish`, { entry: { environments: ['master'], locales: ['en-us'] } });
    const delta = await sp.cda(keys.delivery).sync({ nextSyncToken: synced.nextSyncToken } as any);
    assert.deepEqual([delta.entries.length, delta.deletedEntries.length], [0, 0], 'delta sync');

    // Activated: its entries are delivered from then on.
    const ct = await sp.cma.contentType.get({ ...sp.env, contentTypeId: 'memo' });
    await sp.cma.contentType.publish({ ...sp.env, contentTypeId: 'memo' }, ct);
    assert.deepEqual((await sp.cda(keys.delivery).getEntries({ content_type: 'memo' } as any)).items.map((x: any) => x.fields.name), ['Internal memo, again']);
    // And the next delta sync announces it (it never did: its publish came while the type was a draft).
    const announced = await sp.cda(keys.delivery).sync({ nextSyncToken: delta.nextSyncToken } as any);
    assert.deepEqual([announced.entries.map((x: any) => [x.sys.id, x.fields.name['en-US']]), announced.deletedEntries.length], [[[memo, 'Internal memo, again']], 0]);
    const quiet = await sp.cda(keys.delivery).sync({ nextSyncToken: announced.nextSyncToken } as any);
    assert.deepEqual([quiet.entries.length, quiet.deletedEntries.length], [0, 0], 'announced once');
  });

  it("announces a content type's entries at its activation page by page (limit 1), each once, filtered by the initial sync's content_type", async () => {
    await sp.cma.contentType.createWithId({ ...sp.env, contentTypeId: 'note' }, { name: 'Note', fields: NAME } as any);
    const notes: string[] = [];
    for (const name of ['a', 'b', 'c']) {
      const uid = (await sp.v3('POST', '/content_types/note/entries', { entry: { name } })).entry.uid;
      await sp.v3('POST', `/content_types/note/entries/${uid}/publish`, { entry: { environments: ['master'], locales: ['en-us'] } });
      notes.push(uid);
    }
    const first = await sp.cda(keys.delivery).sync({ initial: true, limit: 1 } as any);
    assert.ok(!first.entries.some((x: any) => notes.includes(x.sys.id)), 'a draft type: not synced');
    const onlyPosts = await sp.cda(keys.delivery).sync({ initial: true, type: 'Entry', content_type: 'post' } as any);
    const ct = await sp.cma.contentType.get({ ...sp.env, contentTypeId: 'note' });
    await sp.cma.contentType.publish({ ...sp.env, contentTypeId: 'note' }, ct);
    // Raw pages: one entry each, nextPageUrl until the last.
    const auth = { authorization: `Bearer ${keys.delivery}` };
    let url: string | undefined = `/spaces/${sp.s.api_key}/environments/master/sync?sync_token=${first.nextSyncToken}`;
    const pages: string[][] = [];
    while (url) {
      const r = await h.request('GET', url.replace(h.url, ''), { headers: auth });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      pages.push(r.body.items.map((x: any) => x.sys.id));
      url = r.body.nextPageUrl;
      assert.ok(pages.length < 10, 'pages end');
    }
    assert.deepEqual(pages.flat().sort(), [...notes].sort());
    assert.ok(pages.every((p) => p.length <= 1), JSON.stringify(pages));
    // A sync of posts only hears nothing of the notes.
    const posts = await sp.cda(keys.delivery).sync({ nextSyncToken: onlyPosts.nextSyncToken } as any);
    assert.deepEqual(posts.entries.length, 0);
  });
});
