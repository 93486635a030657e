import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createClient } from 'contentful-management';
import { ADMIN_TOKEN, spawnHerald, type SpawnedHerald } from '../helpers/herald.ts';
import { Source } from '../../src/backup/source.ts';
import { caughtUp, runRestoreHere, spawnBackup, testSecret, type SpawnedBackup } from './helpers/backup.ts';
import { stackApi, type StackApi } from './helpers/content.ts';

/**
 * A restore into a branch the target lacks makes it as the backup last read it at the source: from
 * its source branch, with its Contentful environment name (branches.contentful_name, renamed
 * through `environment.update`). Before, the backup kept no branches and such a restore stopped at
 * its first call ("Branch staging was not found").
 */
describe('the backup center and branches', () => {
  let h: SpawnedHerald;
  let b: SpawnedBackup;
  let source: { api_key: string; token: string };
  let api: StackApi;
  let stagingEntry: string;

  const cmaOf = (token: string) => {
    const host = `127.0.0.1:${new URL(h.url).port}`;
    return createClient({ accessToken: token, host, hostUpload: host, insecure: true, retryOnError: false } as Parameters<typeof createClient>[0], { type: 'plain' });
  };
  const environments = async (s: { api_key: string; token: string }) => {
    const r = await h.request('GET', `/spaces/${s.api_key}/environments`, { headers: { authorization: `Bearer ${s.token}` } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return Object.fromEntries((r.body.items as any[]).map((e) => [e.sys.id, { name: e.name, version: e.sys.version }]));
  };
  const restore = (target: { api_key: string; token: string }, branch: string) =>
    runRestoreHere(['--from', b.dataDir, '--to', h.url, '--api-key', target.api_key, '--token', target.token, '--stack', source.api_key, '--branch', branch]);

  before(async () => {
    h = await spawnHerald();
    source = await h.newStack('Source');
    api = stackApi(h, source);
    const secret = testSecret(5);
    b = await spawnBackup(['--secret', secret, '--source', h.url, '--api-key', source.api_key, '--settle-time', '0', '--catch-up-interval', '1s'], {
      env: { HERALD_BACKUP_TOKEN: source.token },
    });
    const cma = cmaOf(source.token);
    const master = { spaceId: source.api_key, environmentId: 'master' };
    const post = await cma.contentType.createWithId({ ...master, contentTypeId: 'post' }, { name: 'Post', displayField: 'title', fields: [{ id: 'title', name: 'Title', type: 'Symbol' }] } as any);
    await cma.contentType.publish({ ...master, contentTypeId: 'post' }, post);
    // Published in master before staging is made: the environment copy takes the publication.
    const inMaster = await cma.entry.create({ ...master, contentTypeId: 'post' }, { fields: { title: { 'en-US': 'In master' } } } as any);
    await cma.entry.publish({ ...master, entryId: inMaster.sys.id }, inMaster);
    // staging: made named, then renamed (sys.version 2); plain: a /v3 branch of staging, unnamed.
    const made = await cma.environment.createWithId({ spaceId: source.api_key, environmentId: 'staging' }, { name: 'Staging' });
    await cma.environment.update({ spaceId: source.api_key, environmentId: 'staging' }, { ...made, name: 'QA site' });
    stagingEntry = (await cma.entry.create({ spaceId: source.api_key, environmentId: 'staging', contentTypeId: 'post' }, { fields: { title: { 'en-US': 'Only in staging' } } } as any)).sys.id;
    await api.post('/v3/stacks/branches', { branch: { uid: 'plain', source: 'staging' } });
    assert.deepEqual(await environments(source), { master: { name: 'master', version: 1 }, staging: { name: 'QA site', version: 2 }, plain: { name: 'plain', version: 1 } });

    const changedAt = Date.now();
    const last = (await api.events()).at(-1).seq;
    await caughtUp(b, source.api_key, last, changedAt);
  });

  after(async () => {
    await b?.stop();
    await h?.close();
  });

  it('makes a missing branch from its source, with its Contentful name, then restores its content into it', async () => {
    const target = await h.newStack('Target');
    const main = await restore(target, 'main');
    assert.equal(main.code, 0, main.stderr);

    const staging = await restore(target, 'staging');
    assert.equal(staging.code, 0, staging.stderr);
    assert.deepEqual(staging.report.warnings, []);
    assert.deepEqual(staging.report.steps[0], { module: 'branch', uid: 'staging', target_uid: 'staging', action: 'created', name: 'QA site' });
    const plain = await restore(target, 'plain');
    assert.equal(plain.code, 0, plain.stderr);
    assert.deepEqual(plain.report.steps[0], { module: 'branch', uid: 'plain', target_uid: 'plain', action: 'created' });

    // The name is carried; sys.version starts anew in the target, as a recreated entry's _version does.
    assert.deepEqual(await environments(target), { master: { name: 'master', version: 1 }, staging: { name: 'QA site', version: 1 }, plain: { name: 'plain', version: 1 } });
    const branches = ((await stackApi(h, target).get('/v3/stacks/branches')).branches as any[]).filter((x) => x.uid !== 'main').map((x) => [x.uid, x.source]);
    assert.deepEqual(branches, [
      ['staging', 'main'],
      ['plain', 'staging'],
    ]);

    const titles = async (environmentId: string) =>
      ((await cmaOf(target.token).entry.getMany({ spaceId: target.api_key, environmentId, query: { order: 'sys.createdAt' } })).items as any[]).map((e) => e.fields.title['en-US']);
    assert.deepEqual(await titles('master'), ['In master']);
    assert.deepEqual(await titles('staging'), ['In master', 'Only in staging']);
    // Recreated in the made branch, under its own uid (free there).
    assert.ok(staging.report.steps.some((s: any) => s.module === 'entry' && s.uid === stagingEntry && s.target_uid === stagingEntry && s.action === 'created'), 'the staging entry was recreated in the made branch');
    assert.deepEqual(staging.report.uid_map, {});

    // A branch the target has is left as it is: its name stays the target's.
    const again = await restore(target, 'staging');
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.report.steps.filter((s: any) => s.module === 'branch').length, 0);
    assert.equal((await environments(target)).staging.name, 'QA site');
  });

  it("schedules a branch's publishes again on that branch, not main, as the token that scheduled them when the restore's is the same", async () => {
    const day = 24 * 3600_000;
    const at = (ms: number) => new Date(Math.ceil((Date.now() + ms) / 1000) * 1000).toISOString();
    await api.post('/v3/environments', { environment: { name: 'production' } });
    const admin = { api_key: source.api_key, authorization: ADMIN_TOKEN };
    const schedule = async (branch: string, uid: string, when: string, headers: Record<string, string>) => {
      const r = await h.request('POST', `/v3/content_types/post/entries/${uid}/publish`, { headers: { ...headers, ...(branch === 'main' ? {} : { branch }) }, body: { entry: { environments: ['production'], locales: ['en-us'] }, scheduled_at: when } });
      assert.ok(r.status < 300, JSON.stringify(r.body));
    };
    const inMaster = ((await api.get('/v3/content_types/post/entries')).entries as any[])[0].uid;
    // staging's, with the admin token; main's, with the stack's own.
    const stagingAt = at(day);
    const mainAt = at(2 * day);
    await schedule('staging', stagingEntry, stagingAt, admin);
    await schedule('main', inMaster, mainAt, api.headers);
    const scheduledAt = Date.now();
    await caughtUp(b, source.api_key, (await api.events()).at(-1).seq, scheduledAt);

    const target = await h.newStack('Queues');
    const queue = async (branch: string) => {
      const r = await h.request('GET', '/v3/publish-queue', { headers: { api_key: target.api_key, authorization: ADMIN_TOKEN, ...(branch === 'main' ? {} : { branch }) } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return (r.body.queue as any[]).map((q) => `${q.action} ${q.entry.uid} ${q.scheduled_at} ${q.created_by}`);
    };
    const asAdmin = (branch: string) => runRestoreHere(['--from', b.dataDir, '--to', h.url, '--api-key', target.api_key, '--token', ADMIN_TOKEN, '--stack', source.api_key, '--branch', branch]);
    // main first: a branch's copy of main's content types and entries has no events in the branch, so the backup holds them in main.
    const main = await asAdmin('main');
    assert.equal(main.code, 0, main.stderr);
    assert.deepEqual(await queue('main'), [`publish ${inMaster} ${mainAt} admin`]);
    // Scheduled by the stack's token, restored by the admin token: said, naming both.
    assert.equal(main.report.warnings.length, 1, JSON.stringify(main.report.warnings));
    assert.match(main.report.warnings[0], /^1 of the 1 publishes and unpublishes scheduled again will be made as this restore's token \(admin\), not as the token that scheduled them at the source \(/);

    const staging = await asAdmin('staging');
    assert.equal(staging.code, 0, staging.stderr);
    // Scheduled by the admin token, restored by it: kept as it was, no warning.
    assert.deepEqual(staging.report.warnings, []);
    assert.deepEqual(await queue('staging'), [`publish ${stagingEntry} ${stagingAt} admin`]);
    assert.deepEqual(await queue('main'), [`publish ${inMaster} ${mainAt} admin`]);
    assert.deepEqual(
      staging.report.steps.filter((s: any) => s.action === 'scheduled').map((s: any) => `${s.scheduled} ${s.module} ${s.uid} ${s.scheduled_by}`),
      [`publish entry ${stagingEntry} admin`],
    );
  });

  it('restores a branch into a target that lacks it and its sources, with what it took from them when it was made, and nothing else', async () => {
    // Made in master after staging and plain were: never in them.
    await api.post('/v3/content_types/post/entries', { entry: { title: 'After the branches' } });
    await caughtUp(b, source.api_key, (await api.events()).at(-1).seq, Date.now());
    const target = await h.newStack('Branch alone');
    const plain = await restore(target, 'plain');
    assert.equal(plain.code, 0, plain.stderr);
    assert.deepEqual(plain.report.warnings, ['Branch plain was made from main: its source branch staging is not in the target. What plain took from staging is restored from the backup all the same.']);
    const titles = async (environmentId: string) =>
      ((await cmaOf(target.token).entry.getMany({ spaceId: target.api_key, environmentId, query: { order: 'sys.createdAt' } })).items as any[]).map((e) => e.fields.title['en-US']);
    // plain's own history is empty: its content is main's (through staging) and staging's, as at each copy.
    assert.deepEqual(await titles('plain'), ['In master', 'Only in staging']);
    assert.deepEqual(await titles('master'), [], 'main is left as it was');
    assert.deepEqual(plain.report.uid_map, {});
  });

  it('publishes what a Contentful environment took from its source where the copy published it, and nothing a /v3 branch took', async () => {
    const target = await h.newStack('Copied publications');
    const staging = await restore(target, 'staging');
    assert.equal(staging.code, 0, staging.stderr);
    const byTitle = async (s: { api_key: string; token: string }, branch: string) => {
      const headers = { api_key: s.api_key, authorization: s.token, branch };
      const envs = await h.request('GET', '/v3/environments', { headers });
      const name = new Map((envs.body.environments as any[]).map((e) => [e.uid, e.name]));
      const r = await h.request('GET', '/v3/content_types/post/entries', { headers });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return Object.fromEntries((r.body.entries as any[]).map((e) => [e.title, (e.publish_details as any[]).map((p) => `${name.get(p.environment)}/${p.locale}`)]));
    };
    // At the source: staging's copy of master took its publication, as its own environment's; plain (/v3) took none.
    const want = { 'In master': ['staging/en-us'], 'Only in staging': [] };
    assert.deepEqual(await byTitle(source, 'staging'), want);
    assert.deepEqual(await byTitle(target, 'staging'), want);
    assert.ok(staging.report.steps.some((s: any) => s.action === 'published' && s.environment === 'staging' && s.locale === 'en-us'), JSON.stringify(staging.report.steps));
    assert.deepEqual(await byTitle(source, 'plain'), { 'In master': [], 'Only in staging': [] });
    const alone = await h.newStack('Plain copied alone');
    const plain = await restore(alone, 'plain');
    assert.equal(plain.code, 0, plain.stderr);
    assert.deepEqual(await byTitle(alone, 'plain'), { 'In master': [], 'Only in staging': [] });
  });

  it('publishes what a Contentful environment named after its own id took from its source (Herald records how each branch was made)', async () => {
    // Named as its id: by its name alone it looks like a /v3 branch, and the restore made it one, unpublished.
    await cmaOf(source.token).environment.createWithId({ spaceId: source.api_key, environmentId: 'review' }, { name: 'review' });
    const origins = await h.request('GET', '/v3/herald/branches', { headers: api.headers });
    assert.equal(origins.status, 200, JSON.stringify(origins.body));
    assert.deepEqual(
      (origins.body.branches as any[]).map((x) => [x.uid, x.source, x.publications_copied]),
      [
        ['main', null, false],
        ['staging', 'main', true],
        ['plain', 'staging', false],
        ['review', 'main', true],
      ],
    );
    await caughtUp(b, source.api_key, (await api.events()).at(-1).seq, Date.now());
    const target = await h.newStack('Unnamed environment');
    const review = await restore(target, 'review');
    assert.equal(review.code, 0, review.stderr);
    assert.deepEqual(review.report.steps[0], { module: 'branch', uid: 'review', target_uid: 'review', action: 'created' });
    const published = async (s: { api_key: string; token: string }) => {
      const headers = { api_key: s.api_key, authorization: s.token, branch: 'review' };
      const envs = await h.request('GET', '/v3/environments', { headers });
      const name = new Map((envs.body.environments as any[]).map((e) => [e.uid, e.name]));
      const r = await h.request('GET', '/v3/content_types/post/entries', { headers });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return Object.fromEntries((r.body.entries as any[]).map((e) => [e.title, (e.publish_details as any[]).map((p) => `${name.get(p.environment)}/${p.locale}`)]));
    };
    assert.deepEqual((await published(source))['In master'], ['review/en-us'], 'the set-up: the copy took the publication');
    assert.deepEqual(await published(target), await published(source));
    // Made again as it was: a Contentful environment named after its id.
    const envs = await h.request('GET', `/spaces/${target.api_key}/environments/review`, { headers: { authorization: `Bearer ${target.token}` } });
    assert.equal(envs.body.name, 'review');
    await cmaOf(source.token).environment.delete({ spaceId: source.api_key, environmentId: 'review' });
  });

  it('refuses, writing nothing, to restore on a branch one entity that its source made after the branch was copied', async () => {
    // Made in master after staging was copied from it (the test before made one; made here too to stand alone).
    const late = (await api.post('/v3/content_types/post/entries', { entry: { title: 'Never in staging' } })).entry.uid;
    await caughtUp(b, source.api_key, (await api.events()).at(-1).seq, Date.now());
    const target = await h.newStack('Not on staging');
    const one = (branch: string) =>
      runRestoreHere(['--from', b.dataDir, '--to', h.url, '--api-key', target.api_key, '--token', target.token, '--stack', source.api_key, '--branch', branch, '--entry', late]);
    const r = await one('staging');
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`^herald: The backup holds no history of entry ${late} on branch staging: it was made on branch main at \\S+, after staging was copied from it at \\S+, so staging never had it\\. A restore on main brings it back there\\.\\n$`));
    // Through plain (copied from staging): the copy that left it out is staging's.
    assert.match((await one('plain')).stderr, /on branch plain: it was made on branch main at \S+, after staging was copied from it/);
    const branches = ((await stackApi(h, target).get('/v3/stacks/branches')).branches as any[]).map((x) => x.uid);
    assert.deepEqual(branches, ['main'], 'no branch made for a restore that brought nothing');
    // On main it is there to restore.
    const main = await one('main');
    assert.equal(main.code, 0, main.stderr);
    assert.ok(main.report.steps.some((s: any) => s.module === 'entry' && s.uid === late && s.action === 'created'));
  });

  it('restores an entry a branch changed in one locale with the locales it took from its source too', async () => {
    await api.post('/v3/locales', { locale: { code: 'fr-fr', name: 'French' } });
    await api.post('/v3/content_types', { content_type: { uid: 'note', title: 'Note', schema: [{ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true }] } });
    const note = (await api.post('/v3/content_types/note/entries', { entry: { title: 'English' } })).entry.uid;
    await api.put(`/v3/content_types/note/entries/${note}?locale=fr-fr`, { entry: { title: 'Français' } });
    await api.post('/v3/stacks/branches', { branch: { uid: 'loc', source: 'main' } });
    // Only the French line changes in the branch: its English line is in main's history alone.
    const r = await h.request('PUT', `/v3/content_types/note/entries/${note}?locale=fr-fr`, { headers: { ...api.headers, branch: 'loc' }, body: { entry: { title: 'Français, dans la branche' } } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await caughtUp(b, source.api_key, (await api.events()).at(-1).seq, Date.now());

    const target = await h.newStack('Locales of a branch');
    const loc = await restore(target, 'loc');
    assert.equal(loc.code, 0, loc.stderr);
    const line = async (locale: string) => {
      const got = await h.request('GET', `/v3/content_types/note/entries/${note}?locale=${locale}`, { headers: { api_key: target.api_key, authorization: target.token, branch: 'loc' } });
      assert.equal(got.status, 200, JSON.stringify(got.body));
      return [got.body.entry.locale, got.body.entry.title];
    };
    assert.deepEqual(await line('en-us'), ['en-us', 'English']);
    assert.deepEqual(await line('fr-fr'), ['fr-fr', 'Français, dans la branche']);
    await api.del('/v3/stacks/branches/loc');
  });

  it('reads the Contentful state of the branches still there when one is deleted after the branch list was read', async () => {
    // The race a catch-up can meet: the list is read, then a branch is deleted before its state is.
    await api.post('/v3/stacks/branches', { branch: { uid: 'brief', source: 'main' } });
    const reader = new Source(h.url, source.token);
    const listed = await reader.branches(source.api_key);
    assert.ok(listed.some((x: any) => x.uid === 'brief'));
    await api.del('/v3/stacks/branches/brief');
    const states = await reader.contentfulStates(source.api_key, listed);
    assert.deepEqual(Object.keys(states).sort(), ['main', 'plain', 'staging']);
  });
});
