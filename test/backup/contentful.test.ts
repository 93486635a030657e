import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { createClient } from 'contentful-management';
import { spawnHerald, type SpawnedHerald } from '../helpers/herald.ts';
import { caughtUp, runRestoreHere, spawnBackup, testSecret, until, type SpawnedBackup } from './helpers/backup.ts';
import { stackApi } from './helpers/content.ts';

/**
 * A space made and used through the Contentful dialect (contentful-management, as a user would)
 * comes back whole from a backup -> restore: content types activated as they were (the activated
 * definition too, when changed since), drafts still drafts, editor interfaces, tags; and the
 * restored space is usable through the CMA (an entry can be saved and published). Before, a
 * restore carried none of the dialect's own state.
 */
describe('the backup center and a Contentful space', () => {
  let h: SpawnedHerald;
  let b: SpawnedBackup;
  let source: { api_key: string; token: string };
  /** An entry of memo (activated, then its entry deleted and memo deactivated: a draft at the source). */
  let memoEntry: string;

  const cmaOf = (token: string) => {
    const host = `127.0.0.1:${new URL(h.url).port}`;
    return createClient({ accessToken: token, host, hostUpload: host, insecure: true, retryOnError: false } as Parameters<typeof createClient>[0], { type: 'plain' });
  };
  const at = (s: { api_key: string }) => ({ spaceId: s.api_key, environmentId: 'master' });
  /** What a user compares: each content type's definition and activation, without ids and times. */
  const typesOf = async (s: { api_key: string; token: string }) => {
    const cma = cmaOf(s.token);
    const all = (await cma.contentType.getMany({ ...at(s), query: { order: 'sys.id' } })).items as any[];
    const r = await h.request('GET', `/spaces/${s.api_key}/environments/master/public/content_types?order=sys.id`, { headers: { authorization: `Bearer ${s.token}` } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const def = (t: any) => ({ name: t.name, description: t.description, displayField: t.displayField, fields: t.fields });
    return {
      types: Object.fromEntries(all.map((t) => [t.sys.id, { ...def(t), activated: t.sys.publishedVersion !== undefined }])),
      activated: Object.fromEntries((r.body.items as any[]).map((t) => [t.sys.id, def(t)])),
    };
  };
  const editorInterfaceOf = async (s: { api_key: string; token: string }, contentTypeId: string) => {
    const ei = (await cmaOf(s.token).editorInterface.get({ ...at(s), contentTypeId })) as any;
    return { controls: ei.controls, sidebar: ei.sidebar };
  };
  const tagsOf = async (s: { api_key: string; token: string }) =>
    ((await cmaOf(s.token).tag.getMany({ ...at(s), query: { order: 'sys.id' } } as any)).items as any[]).map((t) => ({ id: t.sys.id, name: t.name, visibility: t.sys.visibility }));

  before(async () => {
    h = await spawnHerald();
    source = await h.newStack('Contentful source');
    const api = stackApi(h, source);
    b = await spawnBackup(['--secret', testSecret(6), '--source', h.url, '--api-key', source.api_key, '--settle-time', '0', '--catch-up-interval', '1s'], {
      env: { HERALD_BACKUP_TOKEN: source.token },
    });
    const cma = cmaOf(source.token);
    const env = at(source);
    const title = { id: 'title', name: 'Title', type: 'Symbol' };
    // A locale that is not optional (Contentful's flag: required fields must be filled in it too).
    await cma.locale.create(env, { name: 'German', code: 'de-DE', fallbackCode: 'en-US', optional: false } as any);
    // post: activated, then changed (a field added) and not activated again.
    const post = await cma.contentType.createWithId({ ...env, contentTypeId: 'post' }, { name: 'Post', displayField: 'title', fields: [title] } as any);
    const activated = await cma.contentType.publish({ ...env, contentTypeId: 'post' }, post);
    await cma.contentType.update({ ...env, contentTypeId: 'post' }, { ...activated, name: 'Blog post', fields: [title, { id: 'body', name: 'Body', type: 'Text' }] } as any);
    // note: activated, unchanged since. idea: a draft, never activated.
    const note = await cma.contentType.createWithId({ ...env, contentTypeId: 'note' }, { name: 'Note', displayField: 'title', fields: [title] } as any);
    await cma.contentType.publish({ ...env, contentTypeId: 'note' }, note);
    await cma.contentType.createWithId({ ...env, contentTypeId: 'idea' }, { name: 'Idea', fields: [title] } as any);

    const ei = (await cma.editorInterface.get({ ...env, contentTypeId: 'note' })) as any;
    await cma.editorInterface.update({ ...env, contentTypeId: 'note' }, { ...ei, controls: [{ fieldId: 'title', widgetId: 'slugEditor', widgetNamespace: 'builtin', settings: { helpText: 'Short' } }] } as any);
    await cma.tag.createWithId({ ...env, tagId: 'featured' } as any, { name: 'Featured', sys: { visibility: 'public' } } as any);
    await cma.tag.createWithId({ ...env, tagId: 'internal' } as any, { name: 'Internal use', sys: { visibility: 'private' } } as any);
    const entry = await cma.entry.create({ ...env, contentTypeId: 'note' }, { fields: { title: { 'en-US': 'Hello' } }, metadata: { tags: [{ sys: { type: 'Link', linkType: 'Tag', id: 'featured' } }] } } as any);
    await cma.entry.publish({ ...env, entryId: entry.sys.id }, entry);

    // A draft leaving a required field empty (Contentful checks required fields at publish).
    const strict = await cma.contentType.createWithId({ ...env, contentTypeId: 'strict' }, { name: 'Strict', displayField: 'title', fields: [{ ...title, required: true }, { id: 'body', name: 'Body', type: 'Text' }] } as any);
    await cma.contentType.publish({ ...env, contentTypeId: 'strict' }, strict);
    await cma.entry.create({ ...env, contentTypeId: 'strict' }, { fields: { body: { 'en-US': 'No title yet' } } } as any);

    // An entry and an asset archived (kept, unpublished, left out of the Preview API).
    const old = await cma.entry.create({ ...env, contentTypeId: 'post' }, { fields: { title: { 'en-US': 'Old news' } } } as any);
    await cma.entry.archive({ ...env, entryId: old.sys.id });
    const attic = await api.upload('attic.txt', Buffer.from('kept for the record'), 'text/plain', 'Attic');
    await cma.asset.archive({ ...env, assetId: attic.uid });

    // memo: activated, an entry made and deleted, then deactivated (a content type with entries stays activated).
    const memo = await cma.contentType.createWithId({ ...env, contentTypeId: 'memo' }, { name: 'Memo', displayField: 'title', fields: [title] } as any);
    await cma.contentType.publish({ ...env, contentTypeId: 'memo' }, memo);
    const memoNote = await cma.entry.create({ ...env, contentTypeId: 'memo' }, { fields: { title: { 'en-US': 'Remember' } } } as any);
    memoEntry = memoNote.sys.id;
    await cma.entry.delete({ ...env, entryId: memoEntry });
    await cma.contentType.unpublish({ ...env, contentTypeId: 'memo' });

    // gone: activated, changed since, then deleted through /v3 (which, unlike the dialect, deletes an activated one).
    const gone = await cma.contentType.createWithId({ ...env, contentTypeId: 'gone' }, { name: 'Gone', displayField: 'title', fields: [title] } as any);
    const goneActivated = await cma.contentType.publish({ ...env, contentTypeId: 'gone' }, gone);
    await cma.contentType.update({ ...env, contentTypeId: 'gone' }, { ...goneActivated, name: 'Gone, changed' } as any);
    await api.del('/v3/content_types/gone');

    // staging: a copy of master, plus a content type and a tag of its own.
    await cma.environment.createWithId({ spaceId: source.api_key, environmentId: 'staging' }, { name: 'Staging' });
    const stagingEnv = { spaceId: source.api_key, environmentId: 'staging' };
    const event = await cma.contentType.createWithId({ ...stagingEnv, contentTypeId: 'event' }, { name: 'Event', displayField: 'title', fields: [title] } as any);
    await cma.contentType.publish({ ...stagingEnv, contentTypeId: 'event' }, event);
    await cma.tag.createWithId({ ...stagingEnv, tagId: 'draftOnly' } as any, { name: 'Draft only', sys: { visibility: 'private' } } as any);

    const changedAt = Date.now();
    const last = (await api.events()).at(-1).seq;
    await caughtUp(b, source.api_key, last, changedAt);
  });

  after(async () => {
    await b?.stop();
    await h?.close();
  });

  it('restores activation (the activated definition too), drafts, editor interfaces and tags, and the CMA can save and publish entries', async () => {
    const target = await h.newStack('Contentful target');
    const r = await runRestoreHere(['--from', b.dataDir, '--to', h.url, '--api-key', target.api_key, '--token', target.token, '--stack', source.api_key]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.report.warnings, []);
    const dialect = r.report.steps.filter((s: any) => (s.module === 'content_type' && s.action === 'published') || s.action === 'draft' || s.module === 'editor_interface' || s.module === 'tag');
    assert.deepEqual(dialect, [
      { module: 'content_type', uid: 'post', target_uid: 'post', action: 'published', name: 'Post' },
      { module: 'content_type', uid: 'note', target_uid: 'note', action: 'published' },
      { module: 'content_type', uid: 'idea', target_uid: 'idea', action: 'draft' },
      { module: 'content_type', uid: 'strict', target_uid: 'strict', action: 'published' },
      { module: 'content_type', uid: 'memo', target_uid: 'memo', action: 'draft' },
      { module: 'editor_interface', uid: 'note', target_uid: 'note', action: 'updated' },
      { module: 'tag', uid: 'featured', target_uid: 'featured', action: 'created', name: 'Featured' },
      { module: 'tag', uid: 'internal', target_uid: 'internal', action: 'created', name: 'Internal use' },
    ]);

    const before = await typesOf(source);
    assert.deepEqual(Object.keys(before.activated), ['note', 'post', 'strict'], 'the set-up: idea and memo are drafts');
    assert.equal(before.activated.post.name, 'Post', 'the set-up: post changed since its activation');
    assert.deepEqual(await typesOf(target), before);
    assert.deepEqual(await editorInterfaceOf(target, 'note'), await editorInterfaceOf(source, 'note'));
    assert.deepEqual(await tagsOf(target), [
      { id: 'featured', name: 'Featured', visibility: 'public' },
      { id: 'internal', name: 'Internal use', visibility: 'private' },
    ]);

    // A draft is made a draft: its making is all content type webhooks hear, as at the source (no activation and deactivation).
    const typeEvents = (await stackApi(h, target).events()).filter((e: any) => e.module === 'content_type' && ['idea', 'memo'].includes(e.uid));
    assert.deepEqual(typeEvents.map((e: any) => `${e.uid} ${e.action}`), ['idea create', 'memo create']);

    // The restored space is usable through the CMA: its entry can be saved and published.
    const cma = cmaOf(target.token);
    const [restored] = (await cma.entry.getMany({ ...at(target), query: { content_type: 'note' } })).items as any[];
    assert.deepEqual(restored.metadata.tags.map((t: any) => t.sys.id), ['featured']);
    assert.ok(restored.sys.publishedVersion, 'the entry is published again');
    const saved = await cma.entry.update({ ...at(target), entryId: restored.sys.id }, { ...restored, fields: { title: { 'en-US': 'Hello again' } } });
    const published = (await cma.entry.publish({ ...at(target), entryId: restored.sys.id }, saved)) as any;
    assert.equal(published.fields.title['en-US'], 'Hello again');
    const locales = async (x: { api_key: string; token: string }) => ((await cmaOf(x.token).locale.getMany({ ...at(x) })).items as any[]).map((l) => [l.code, l.name, l.fallbackCode, l.optional]);
    assert.deepEqual(await locales(target), await locales(source));
    assert.deepEqual((await locales(source))[1], ['de-DE', 'German', 'en-US', false], 'the set-up');

    // A draft with a required field empty comes back as it was (/v3 refuses such a save; the dialect keeps it).
    const strictEntries = (await cma.entry.getMany({ ...at(target), query: { content_type: 'strict' } })).items as any[];
    assert.deepEqual(strictEntries.map((e) => [e.fields, e.sys.publishedVersion]), [[{ body: { 'en-US': 'No title yet' } }, undefined]]);

    // Archived as at the source.
    const posts = (await cma.entry.getMany({ ...at(target), query: { content_type: 'post' } })).items as any[];
    assert.deepEqual(posts.map((e) => [e.fields.title['en-US'], e.sys.archivedVersion !== undefined, e.sys.publishedVersion !== undefined]), [['Old news', true, false]]);
    const assets = (await cma.asset.getMany({ ...at(target) })).items as any[];
    assert.deepEqual(assets.map((a) => [a.fields.title['en-US'], a.sys.archivedVersion !== undefined]), [['Attic', true]]);
    const made = await cma.entry.create({ ...at(target), contentTypeId: 'post' }, { fields: { title: { 'en-US': 'New' } } } as any);
    await cma.entry.publish({ ...at(target), entryId: made.sys.id }, made);
    // A draft stays a draft: entries on it are refused, as at the source.
    await assert.rejects(cma.entry.create({ ...at(target), contentTypeId: 'idea' }, { fields: { title: { 'en-US': 'No' } } } as any), (err: any) => JSON.parse(err.message).status === 400);
  });

  it("restores a branch's own content types and tags with its Contentful state, as its environment", async () => {
    const target = await h.newStack('Contentful target with staging');
    const restore = (branch: string) => runRestoreHere(['--from', b.dataDir, '--to', h.url, '--api-key', target.api_key, '--token', target.token, '--stack', source.api_key, '--branch', branch]);
    const main = await restore('main');
    assert.equal(main.code, 0, main.stderr);
    const staging = await restore('staging');
    assert.equal(staging.code, 0, staging.stderr);
    assert.deepEqual(staging.report.warnings, []);
    const cma = cmaOf(target.token);
    const stagingEnv = { spaceId: target.api_key, environmentId: 'staging' };
    const event = (await cma.contentType.get({ ...stagingEnv, contentTypeId: 'event' })) as any;
    assert.ok(event.sys.publishedVersion, 'activated in staging');
    const tags = ((await cma.tag.getMany({ ...stagingEnv, query: { order: 'sys.id' } } as any)).items as any[]).map((t) => [t.sys.id, t.name]);
    assert.deepEqual(tags, [
      ['draftOnly', 'Draft only'],
      ['featured', 'Featured'],
      ['internal', 'Internal use'],
    ]);
    await assert.rejects(cma.contentType.get({ ...at(target), contentTypeId: 'event' }), (err: any) => JSON.parse(err.message).status === 404, 'not in master');
  });

  it('restores one entry of a content type that is a draft at the source: the content type made a draft, the entry on it, a warning saying so', async () => {
    const target = await h.newStack('Contentful target, one entry');
    const r = await runRestoreHere(['--from', b.dataDir, '--to', h.url, '--api-key', target.api_key, '--token', target.token, '--stack', source.api_key, '--entry', memoEntry]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      r.report.steps.map((s: any) => [s.module, s.uid, s.action]),
      [
        ['content_type', 'memo', 'created'],
        ['entry', memoEntry, 'created'],
        ['content_type', 'memo', 'draft'],
      ],
    );
    assert.equal(r.report.warnings.length, 1, r.report.warnings.join('\n'));
    assert.match(r.report.warnings[0], /^content type memo is a draft, as at the source, and this restore brought entries of it .*once the content type is activated/);
    const { types, activated } = await typesOf(target);
    assert.deepEqual([types.memo.activated, activated.memo], [false, undefined], 'a draft, as at the source');
    const typeEvents = (await stackApi(h, target).events()).filter((e: any) => e.module === 'content_type');
    assert.deepEqual(typeEvents.map((e: any) => e.action), ['create']);
    const restored = (await stackApi(h, target).get(`/v3/content_types/memo/entries/${r.report.uid_map[`entry:memo/${memoEntry}`] ?? memoEntry}`)).entry;
    assert.equal(restored.title, 'Remember');
  });

  it('brings a deleted content type back activated as its history tells (the definition activated, then the one restored)', async () => {
    const r = await runRestoreHere(['--from', b.dataDir, '--to', h.url, '--api-key', source.api_key, '--token', source.token, '--content-type', 'gone']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.report.steps.map((s: any) => [s.module, s.uid, s.action, s.name ?? null]), [
      ['content_type', 'gone', 'created', null],
      ['content_type', 'gone', 'published', 'Gone'],
    ]);
    assert.equal(r.report.warnings.length, 1);
    assert.match(r.report.warnings[0], /^content type gone is not in the Contentful state the backup last read .* its activation comes from its history/);
    const { types, activated } = await typesOf(source);
    assert.deepEqual([types.gone.name, types.gone.activated, activated.gone.name], ['Gone, changed', true, 'Gone']);
  });

  it('restores a deleted entry and asset made through the CMA under their own ids, a draft with a required field empty too', async () => {
    const cma = cmaOf(source.token);
    const env = at(source);
    const up = await cma.upload.create({ spaceId: source.api_key }, { file: Buffer.from('a picture') } as any);
    const made = await cma.asset.createWithId({ ...env, assetId: 'picture-1' }, {
      fields: { title: { 'en-US': 'Picture' }, file: { 'en-US': { fileName: 'p.png', contentType: 'image/png', uploadFrom: { sys: { type: 'Link', linkType: 'Upload', id: up.sys.id } } } } },
    } as any);
    await cma.asset.processForAllLocales(env, made as any);
    await cma.entry.createWithId({ ...env, contentTypeId: 'note', entryId: 'hard-coded-note' }, { fields: { title: { 'en-US': 'Fetched by id' } } } as any);
    // /v3 refuses this one (title is required): the restore makes it through the dialect.
    await cma.entry.createWithId({ ...env, contentTypeId: 'strict', entryId: 'unfinished' }, { fields: { body: { 'en-US': 'Half done' } } } as any);
    const api = stackApi(h, source);
    await until('the backup to hold the file of picture-1', async () => {
      const v = await b.get(`/stacks/${source.api_key}/entities/asset/picture-1/versions`);
      return v.status === 200 && v.body.versions.some((x: any) => x.file?.status === 'stored');
    });
    for (const entryId of ['hard-coded-note', 'unfinished']) await cma.entry.delete({ ...env, entryId });
    await cma.asset.delete({ ...env, assetId: 'picture-1' });
    await caughtUp(b, source.api_key, (await api.events()).at(-1).seq);

    for (const [flag, uid] of [['--asset', 'picture-1'], ['--entry', 'hard-coded-note'], ['--entry', 'unfinished']]) {
      const r = await runRestoreHere(['--from', b.dataDir, '--to', h.url, '--api-key', source.api_key, '--token', source.token, flag, uid]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual([r.report.uid_map, r.report.warnings], [{}, []], uid);
    }
    // Sites call getEntry('hard-coded-note') and getAsset('picture-1'): the same ids answer.
    assert.equal(((await cma.entry.get({ ...env, entryId: 'hard-coded-note' })) as any).fields.title['en-US'], 'Fetched by id');
    assert.deepEqual(((await cma.entry.get({ ...env, entryId: 'unfinished' })) as any).fields, { body: { 'en-US': 'Half done' } });
    const asset = (await cma.asset.get({ ...env, assetId: 'picture-1' })) as any;
    assert.equal(asset.fields.title['en-US'], 'Picture');
    assert.equal(await (await fetch(asset.fields.file['en-US'].url)).text(), 'a picture');
  });

  it('restores activation and drafts from the history when the backup holds no Contentful state (one from before it was read), and says so', async () => {
    // The backup holds the restore of gone above (a restore records events as any write does).
    const last = (await stackApi(h, source).events()).at(-1).seq;
    await caughtUp(b, source.api_key, last);
    await b.stop();
    const db = new Database(join(b.dataDir, 'backup.db'));
    db.prepare('DELETE FROM contentful_branches').run();
    db.close();
    const target = await h.newStack('Contentful target, old backup');
    const r = await runRestoreHere(['--from', b.dataDir, '--to', h.url, '--api-key', target.api_key, '--token', target.token, '--stack', source.api_key]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      r.report.warnings.map((w: string) => /^content type (\w+) is not in the Contentful state the backup last read/.exec(w)?.[1] ?? w),
      ['post', 'note', 'idea', 'strict', 'memo', 'gone'],
    );
    assert.deepEqual(await typesOf(target), await typesOf(source), 'activation, activated definitions and drafts as at the source');
  });
});
