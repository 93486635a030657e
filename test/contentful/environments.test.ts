import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createClient } from 'contentful';
import { createClient as entityClient } from 'contentful-management';
import { COPIED, NOT_COPIED } from '../../src/content/branches.ts';
import type { TestHerald } from '../helpers/herald.ts';
import { refusal, startSpace, type Client } from './helpers/space.ts';

/**
 * A new Contentful environment is a copy of its source as Contentful makes it: content types with
 * their published (activated) state, editor interfaces, tags, entries and assets with their publish
 * state. Made with contentful-management (`environment.createWithId`, with and without a source),
 * read back with it and with contentful.js (the CDA).
 */

const FIELDS = [{ id: 'title', name: 'Title', type: 'Symbol' }];

/** A running Herald with one space (startSpace) whose master has the content type `post` (FIELDS) activated; `post` as made. */
async function spaceWithPost() {
  const s = await startSpace();
  const post = await s.client.contentType.createWithId({ ...s.env, contentTypeId: 'post' }, { name: 'Post', displayField: 'title', fields: FIELDS } as any);
  await s.client.contentType.publish({ ...s.env, contentTypeId: 'post' }, post);
  return { ...s, token: s.space.token, post };
}

describe('Contentful environments made from another', () => {
  let h: TestHerald;
  let cma: Client;
  let spaceId: string;
  let token: string;
  const master = () => ({ spaceId, environmentId: 'master' });
  const ids: Record<string, string> = {};

  const keyFor = async (environment: string) => {
    const r = await h.request('POST', `/spaces/${spaceId}/api_keys`, {
      headers: { authorization: `Bearer ${token}` },
      body: { name: `site ${environment}`, environments: [{ sys: { type: 'Link', linkType: 'Environment', id: environment } }] },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.accessToken as string;
  };
  const cda = async (environment: string) => createClient({ space: spaceId, accessToken: await keyFor(environment), host: new URL(h.url).host, insecure: true, environment, retryOnError: false } as any);
  /** What the CMA shows of every entity in an environment: versions and publish state. */
  const state = async (environmentId: string) => {
    const env = { spaceId, environmentId };
    const sysOf = (x: any) => ({ version: x.sys.version, publishedVersion: x.sys.publishedVersion ?? null, publishedCounter: x.sys.publishedCounter ?? null });
    const types = await cma.contentType.getMany(env);
    const entries = await cma.entry.getMany({ ...env, query: { order: 'sys.createdAt' } });
    const assets = await cma.asset.getMany(env);
    return {
      types: Object.fromEntries(types.items.map((t: any) => [t.sys.id, sysOf(t)])),
      entries: Object.fromEntries(entries.items.map((e: any) => [e.sys.id, { ...sysOf(e), title: e.fields.title['en-US'], tags: e.metadata.tags.map((t: any) => t.sys.id) }])),
      assets: Object.fromEntries(assets.items.map((a: any) => [a.sys.id, sysOf(a)])),
      editor: (await cma.editorInterface.get({ ...env, contentTypeId: 'post' })).controls,
      tags: (await cma.tag.getMany(env)).items.map((t: any) => [t.sys.id, t.name]),
    };
  };
  const delivered = async (environment: string) => {
    const client = await cda(environment);
    return {
      types: (await client.getContentTypes()).items.map((t: any) => t.sys.id).sort(),
      entries: (await client.getEntries({ order: 'sys.createdAt' } as any)).items.map((e: any) => [e.sys.id, e.fields.title]),
      assets: (await client.getAssets()).items.map((a: any) => a.sys.id),
    };
  };

  before(async () => {
    ({ h, spaceId, token, client: cma } = await spaceWithPost());
    await cma.contentType.createWithId({ ...master(), contentTypeId: 'draftType' }, { name: 'Never activated', fields: FIELDS } as any);
    const ei = await cma.editorInterface.get({ ...master(), contentTypeId: 'post' });
    await cma.editorInterface.update({ ...master(), contentTypeId: 'post' }, { ...ei, controls: [{ fieldId: 'title', widgetId: 'slugEditor', widgetNamespace: 'builtin', settings: { helpText: 'The headline' } }] });
    await cma.tag.createWithId({ ...master(), tagId: 'featured' }, { name: 'Featured', sys: { visibility: 'public' } } as any);
    // live: published and unchanged; changed: published, then saved again; draft: never published.
    const entry = (title: string, tags: string[] = []) =>
      cma.entry.create({ ...master(), contentTypeId: 'post' }, { fields: { title: { 'en-US': title } }, metadata: { tags: tags.map((id) => ({ sys: { type: 'Link', linkType: 'Tag', id } })) } } as any);
    const live = await entry('Live', ['featured']);
    await cma.entry.publish({ ...master(), entryId: live.sys.id }, live);
    const changed = await entry('Changed, as published');
    const pub = await cma.entry.publish({ ...master(), entryId: changed.sys.id }, changed);
    await cma.entry.update({ ...master(), entryId: changed.sys.id }, { ...pub, fields: { title: { 'en-US': 'Changed, draft' } } } as any);
    const draft = await entry('Draft');
    const upload = await cma.upload.create({ spaceId }, { file: Buffer.from('a picture') } as any);
    const asset = await cma.asset.create(master(), {
      fields: { title: { 'en-US': 'Picture' }, file: { 'en-US': { contentType: 'text/plain', fileName: 'p.txt', uploadFrom: { sys: { type: 'Link', linkType: 'Upload', id: upload.sys.id } } } } },
    } as any);
    const processed = await cma.asset.processForAllLocales(master(), asset as any);
    await cma.asset.publish({ ...master(), assetId: asset.sys.id }, processed as any);
    Object.assign(ids, { live: live.sys.id, changed: changed.sys.id, draft: draft.sys.id, asset: asset.sys.id });
    // A global field, so that every copied table has rows in master (see the schema test below).
    const gf = await h.request('POST', '/v3/global_fields', { headers: { api_key: spaceId, authorization: token }, body: { global_field: { title: 'SEO', uid: 'seo', schema: [] } } });
    assert.equal(gf.status, 201, JSON.stringify(gf.body));
  });
  after(() => h.close());

  it('copies master with its publish state: the CMA shows the same versions, the CDA delivers the same content', async () => {
    const made = await cma.environment.createWithId({ spaceId, environmentId: 'staging' }, { name: 'staging' });
    assert.equal(made.sys.id, 'staging');
    assert.equal(made.sys.status.sys.id, 'ready');
    const before = await state('master');
    assert.deepEqual(await state('staging'), before);
    // The state compared is the one set up (so the comparison above can fail).
    assert.equal(before.types.post.publishedVersion, 1);
    assert.equal(before.types.draftType.publishedVersion, null);
    assert.deepEqual([before.entries[ids.live].publishedVersion, before.entries[ids.live].version], [1, 2]);
    assert.deepEqual([before.entries[ids.changed].publishedVersion, before.entries[ids.changed].version], [1, 3]);
    assert.equal(before.entries[ids.draft].publishedVersion, null);
    assert.ok(before.assets[ids.asset].publishedVersion >= 1);
    assert.equal((before.editor as any)[0].widgetId, 'slugEditor');
    assert.deepEqual(before.tags, [['featured', 'Featured']]);

    const cdaMaster = await delivered('master');
    assert.deepEqual(cdaMaster, {
      types: ['post'],
      entries: [
        [ids.live, 'Live'],
        [ids.changed, 'Changed, as published'],
      ],
      assets: [ids.asset],
    });
    assert.deepEqual(await delivered('staging'), cdaMaster);
    const synced = await (await cda('staging')).sync({ initial: true } as any);
    assert.deepEqual([synced.entries.map((e: any) => e.sys.id).sort(), synced.assets.map((a: any) => a.sys.id)], [[ids.live, ids.changed].sort(), [ids.asset]], 'an initial sync of the copy');
    // The copy's published asset is served from the copy's own file, at the copy's URL.
    const asset = (await (await cda('staging')).getAsset(ids.asset)) as any;
    assert.match(asset.fields.file.url, /^\/\/|^https?:/);
    const url = asset.fields.file.url.startsWith('//') ? `http:${asset.fields.file.url}` : asset.fields.file.url;
    assert.equal(await (await fetch(url)).text(), 'a picture');
  });

  it('keeps the copy apart: publishing or unpublishing in it leaves its source as it was', async () => {
    const env = { spaceId, environmentId: 'staging' };
    const draft = await cma.entry.get({ ...env, entryId: ids.draft });
    await cma.entry.publish({ ...env, entryId: ids.draft }, draft);
    await cma.entry.unpublish({ ...env, entryId: ids.live });
    await cma.contentType.unpublish({ ...env, contentTypeId: 'post' }).catch(() => {}); // refused while entries are published: fine either way
    assert.deepEqual((await delivered('staging')).entries, [
      [ids.changed, 'Changed, as published'],
      [ids.draft, 'Draft'],
    ]);
    assert.deepEqual((await delivered('master')).entries, [
      [ids.live, 'Live'],
      [ids.changed, 'Changed, as published'],
    ]);
    assert.equal((await cma.entry.get({ ...master(), entryId: ids.draft })).sys.publishedVersion, undefined);
  });

  it('copies the environment X-Contentful-Source-Environment names', async () => {
    await cma.environment.createWithId({ spaceId, environmentId: 'qa', sourceEnvironmentId: 'staging' }, { name: 'qa' });
    assert.deepEqual(await state('qa'), await state('staging'));
    assert.deepEqual((await delivered('qa')).entries, [
      [ids.changed, 'Changed, as published'],
      [ids.draft, 'Draft'],
    ]);
  });

  it('refuses an id that is not a branch uid, one that exists, a source that does not, and deleting master', async () => {
    assert.equal((await refusal(cma.environment.createWithId({ spaceId, environmentId: 'Has-Dashes' }, { name: 'x' }))).name, 'ValidationFailed');
    assert.equal((await refusal(cma.environment.createWithId({ spaceId, environmentId: 'staging' }, { name: 'staging' }))).status, 409);
    assert.equal((await refusal(cma.environment.createWithId({ spaceId, environmentId: 'nosource', sourceEnvironmentId: 'ghost' }, { name: 'x' }))).name, 'ValidationFailed');
    assert.equal((await refusal(cma.environment.delete({ spaceId, environmentId: 'master' }))).name, 'ValidationFailed');
    assert.equal((await cma.environment.get(master())).sys.id, 'master');
  });

  it('copies every table with a branch column that holds per-branch state, or says why not', async () => {
    const db = h.herald.db;
    const tables = (
      db.dialect === 'sqlite'
        ? await db.all<{ t: string }>("SELECT m.name AS t FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table' AND p.name = 'branch' ORDER BY 1")
        : await db.all<{ t: string }>("SELECT table_name AS t FROM information_schema.columns WHERE column_name = 'branch' AND table_schema = current_schema() ORDER BY 1")
    ).map((r) => r.t);
    const copied = COPIED.map((c) => c.table);
    const unclassified = tables.filter((t) => !copied.includes(t) && !(t in NOT_COPIED));
    assert.deepEqual(unclassified, [], 'a table with a branch column must be copied (COPIED) or listed in NOT_COPIED with the reason');
    assert.deepEqual([...copied, ...Object.keys(NOT_COPIED)].filter((t) => !tables.includes(t)), [], 'no stale names');

    // Each copied table has rows in master (else the next check proves nothing), and as many in a fresh copy.
    await cma.environment.createWithId({ spaceId, environmentId: 'copy' }, { name: 'copy' });
    const count = async (table: string, branch: string) => Number((await db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table} WHERE api_key = ? AND branch = ?`, [spaceId, branch]))!.n);
    for (const t of [...copied, 'assets', 'publications']) {
      const inMain = await count(t, 'main');
      assert.ok(inMain > 0, `${t} has rows in master`);
      assert.equal(await count(t, 'copy'), inMain, `${t} is copied`);
    }
  });

  it('deletes an environment with everything it kept, so a new one of the same id starts from its source', async () => {
    // A publish scheduled in qa goes with it.
    const scheduled = await h.request('POST', `/v3/content_types/post/entries/${ids.changed}/publish`, {
      headers: { api_key: spaceId, authorization: token, branch: 'qa' },
      body: { entry: { environments: ['qa'], locales: ['en-us'] }, scheduled_at: '2099-01-01T00:00:00.000Z' },
    });
    assert.ok(scheduled.status < 300, JSON.stringify(scheduled.body));
    const db = h.herald.db;
    assert.equal(Number((await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM schedules WHERE api_key = ? AND branch = ?', [spaceId, 'qa']))!.n), 1);
    await cma.environment.delete({ spaceId, environmentId: 'qa' });
    assert.equal((await refusal(cma.environment.get({ spaceId, environmentId: 'qa' }))).name, 'NotFound');
    for (const t of [...COPIED.map((c) => c.table), ...Object.keys(NOT_COPIED)].filter((t) => t !== 'events')) {
      const left = await db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${t} WHERE api_key = ? AND branch = ?`, [spaceId, 'qa']);
      assert.equal(Number(left!.n), 0, `${t} keeps nothing of the deleted environment`);
    }
    await cma.environment.createWithId({ spaceId, environmentId: 'qa' }, { name: 'qa' });
    assert.deepEqual(await state('qa'), await state('master'));
  });
});

describe('a branch made through /v3', () => {
  it("carries the Contentful dialect's content type activation, editor interfaces and tags, and starts unpublished", async () => {
    const { h, client: cma, env, space: s, post } = await spaceWithPost();
    try {
      const e = await cma.entry.create({ ...env, contentTypeId: 'post' }, { fields: { title: { 'en-US': 'One' } } } as any);
      await cma.entry.publish({ ...env, entryId: e.sys.id }, e);
      const r = await h.request('POST', '/v3/stacks/branches', { headers: { api_key: s.api_key, authorization: s.token }, body: { branch: { uid: 'dev', source: 'main' } } });
      assert.equal(r.status, 201);
      const dev = { spaceId: s.api_key, environmentId: 'dev' };
      const sysOf = async (environment: typeof env) => {
        const t = (await cma.contentType.get({ ...environment, contentTypeId: 'post' })).sys;
        return [t.version, t.publishedVersion, t.publishedCounter];
      };
      assert.equal((await sysOf(env))[1], post.sys.version);
      assert.deepEqual(await sysOf(dev), await sysOf(env), 'the content type is published (activated) in the copy as in main');
      const [inMain, copy] = [await cma.entry.get({ ...env, entryId: e.sys.id }), await cma.entry.get({ ...dev, entryId: e.sys.id })];
      assert.equal(copy.sys.publishedVersion, undefined, "Contentstack's branch copy leaves publish state behind");
      assert.equal(copy.sys.version, inMain.sys.version, 'sys.version stays what it was');
    } finally {
      await h.close();
    }
  });
});

describe('Contentful environment names, and environments whose id Herald picks', () => {
  let h: TestHerald;
  let cma: Client;
  let spaceId: string;
  let token: string;

  before(async () => {
    ({ h, spaceId, token, client: cma } = await spaceWithPost());
    await cma.entry.createWithId({ spaceId, environmentId: 'master', contentTypeId: 'post', entryId: 'hello' }, { fields: { title: { 'en-US': 'Hello' } } } as any);
  });
  after(() => h.close());

  it('keeps the name an environment is made with: the answer, GET and the list show it', async () => {
    const made = await cma.environment.createWithId({ spaceId, environmentId: 'staging' }, { name: 'Staging' });
    assert.deepEqual([made.sys.id, made.name], ['staging', 'Staging']);
    assert.equal((await cma.environment.get({ spaceId, environmentId: 'staging' })).name, 'Staging');
    const list = await cma.environment.getMany({ spaceId });
    assert.deepEqual(
      list.items.map((e) => [e.sys.id, e.name]),
      [
        ['master', 'master'],
        ['staging', 'Staging'],
      ],
    );
    // Made without a name: named after its id, as before.
    assert.equal((await cma.environment.createWithId({ spaceId, environmentId: 'unnamed' }, {})).name, 'unnamed');
    // /v3 shows the branch as it did: Contentstack's branches have no name.
    const branch = await h.request('GET', '/v3/stacks/branches/staging', { headers: { api_key: spaceId, authorization: token } });
    assert.equal(branch.status, 200, JSON.stringify(branch.body));
    assert.equal(JSON.stringify(branch.body).includes('Staging'), false, JSON.stringify(branch.body));
    // The name goes with its environment: one made again with the same id has the name it is made with.
    await cma.environment.delete({ spaceId, environmentId: 'staging' });
    assert.equal((await cma.environment.createWithId({ spaceId, environmentId: 'staging' }, {})).name, 'staging');
  });

  it('refuses a name that is not a string, is empty or is too long, naming `name`, and makes nothing', async () => {
    for (const name of [42, '', '   ', 'x'.repeat(65)]) {
      const r = await refusal(cma.environment.createWithId({ spaceId, environmentId: 'badname' }, { name } as any));
      assert.equal(r.name, 'ValidationFailed', String(name));
      assert.deepEqual(
        r.details.errors.map((e: any) => e.path),
        [['name']],
      );
    }
    assert.equal((await refusal(cma.environment.get({ spaceId, environmentId: 'badname' }))).name, 'NotFound');
    assert.equal((await refusal(cma.environment.create({ spaceId }, { name: '' }))).name, 'ValidationFailed');
    assert.equal((await cma.environment.getMany({ spaceId })).items.length, 3, 'master, staging, unnamed: nothing made');
  });

  it('makes an environment with POST: an id that is a branch uid, the name kept, a copy of its source', async () => {
    const made = await cma.environment.create({ spaceId }, { name: 'Preview' });
    assert.match(made.sys.id, /^[a-z0-9_]{1,15}$/);
    assert.equal(made.name, 'Preview');
    assert.equal(made.sys.status.sys.id, 'ready');
    assert.equal((await cma.environment.get({ spaceId, environmentId: made.sys.id })).name, 'Preview');
    assert.equal((await cma.entry.get({ spaceId, environmentId: made.sys.id, entryId: 'hello' })).fields.title['en-US'], 'Hello');
    // A second one gets another id.
    const other = await cma.environment.create({ spaceId }, { name: 'Preview' });
    assert.notEqual(other.sys.id, made.sys.id);

    // X-Contentful-Source-Environment names the source, as on PUT.
    await cma.entry.update({ spaceId, environmentId: 'staging', entryId: 'hello' }, {
      ...(await cma.entry.get({ spaceId, environmentId: 'staging', entryId: 'hello' })),
      fields: { title: { 'en-US': 'Hello from staging' } },
    } as any);
    const fromStaging = await cma.environment.create({ spaceId }, { name: 'From staging' }, { 'X-Contentful-Source-Environment': 'staging' });
    assert.equal((await cma.entry.get({ spaceId, environmentId: fromStaging.sys.id, entryId: 'hello' })).fields.title['en-US'], 'Hello from staging');
    assert.equal((await refusal(cma.environment.create({ spaceId }, { name: 'x' }, { 'X-Contentful-Source-Environment': 'ghost' }))).name, 'ValidationFailed');
  });

  it('renames an environment with environment.update: its version moves by one, a stale version is a 409, its content stays', async () => {
    const made = await cma.environment.createWithId({ spaceId, environmentId: 'renamed' }, { name: 'Before' });
    assert.equal(made.sys.version, 1);
    const renamed = await cma.environment.update({ spaceId, environmentId: 'renamed' }, { ...made, name: 'After' });
    assert.deepEqual([renamed.sys.id, renamed.name, renamed.sys.version], ['renamed', 'After', 2]);
    assert.ok(renamed.sys.updatedAt >= made.sys.updatedAt);
    const read = await cma.environment.get({ spaceId, environmentId: 'renamed' });
    assert.deepEqual([read.name, read.sys.version], ['After', 2]);
    assert.deepEqual(
      (await cma.environment.getMany({ spaceId })).items.filter((e) => ['master', 'renamed'].includes(e.sys.id)).map((e) => [e.sys.id, e.name, e.sys.version]),
      [
        ['master', 'master', 1],
        ['renamed', 'After', 2],
      ],
    );
    assert.equal((await cma.entry.get({ spaceId, environmentId: 'renamed', entryId: 'hello' })).fields.title['en-US'], 'Hello', 'the content stays');

    // The version read before the rename is stale now; the name stays.
    const stale = await refusal(cma.environment.update({ spaceId, environmentId: 'renamed' }, { ...made, name: 'Lost' }));
    assert.deepEqual([stale.status, stale.name], [409, 'VersionMismatch']);
    assert.equal((await cma.environment.get({ spaceId, environmentId: 'renamed' })).name, 'After');
    // Without a version a PUT still makes an environment, and this one exists.
    assert.equal((await refusal(cma.environment.createWithId({ spaceId, environmentId: 'renamed' }, { name: 'Again' }))).status, 409);
    // A bad name is refused as when made.
    assert.equal((await refusal(cma.environment.update({ spaceId, environmentId: 'renamed' }, { ...read, name: '' }))).name, 'ValidationFailed');
    // An environment that does not exist cannot be renamed.
    assert.equal((await refusal(cma.environment.update({ spaceId, environmentId: 'nowhere' }, { ...read, name: 'Ghost' }))).name, 'NotFound');

    // The nested (legacy) client's entity, as older scripts use it: change the name, then update().
    const space = await entityClient({ accessToken: token, host: `127.0.0.1:${new URL(h.url).port}`, insecure: true, retryOnError: false } as any, { type: 'legacy' }).getSpace(spaceId);
    const entity = await space.getEnvironment('renamed');
    entity.name = 'Third';
    const updated = await entity.update();
    assert.deepEqual([updated.name, updated.sys.version], ['Third', 3]);
  });

  it('refuses to rename master, as Contentful does ("The master environment cannot be changed, deleted or renamed")', async () => {
    const master = await cma.environment.get({ spaceId, environmentId: 'master' });
    const r = await refusal(cma.environment.update({ spaceId, environmentId: 'master' }, { ...master, name: 'Production' }));
    assert.deepEqual([r.status, r.name, r.details.errors.map((e: any) => e.path)], [422, 'ValidationFailed', [['name']]]);
    // Refused whatever the version says, and whatever the name (its own one too).
    assert.equal((await refusal(cma.environment.update({ spaceId, environmentId: 'master' }, { ...master, sys: { ...master.sys, version: 7 }, name: 'master' }))).name, 'ValidationFailed');
    const after = await cma.environment.get({ spaceId, environmentId: 'master' });
    assert.deepEqual([after.name, after.sys.version, after.sys.updatedAt], ['master', master.sys.version, master.sys.updatedAt]);
  });
});
