import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { freshSchema, testBackends, type TestSchema } from '../helpers/postgres.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { eventsAfter, lastSeq, stackOf, type SeenEvent, type TestStack } from './helpers/content.ts';

/**
 * `scheduled_at` on a publish or unpublish: stored, answered at once, and made at its time, with
 * its event and webhook call then, across a restart of Herald; with several processes on one
 * PostgreSQL database, exactly one makes it.
 */

/** Waits until `check` holds (polling the API, which is the test's view), up to `ms`. */
async function until<T>(what: string, check: () => Promise<T | undefined | false>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const inMs = (ms: number) => new Date(Date.now() + ms).toISOString();

for (const backend of await testBackends()) describe(`scheduled publishing on ${backend}`, () => {
  let h: TestHerald;
  let schema: TestSchema | null = null;
  let dataDir: string;
  let s: TestStack;
  let rx: Awaited<ReturnType<typeof startReceiver>>;
  const settings = () => (schema ? { databaseUrl: schema.url } : { backend: 'sqlite' as const });
  const ok = async (method: string, path: string, body?: unknown, status = 200) => {
    const r = await h.request(method, path, { headers: s.headers, ...(body === undefined ? {} : { body }) });
    assert.equal(r.status, status, `${method} ${path}: ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const newPost = async (title: string) => (await ok('POST', '/v3/content_types/post/entries', { entry: { title } }, 201)).entry.uid as string;
  const published = async (uid: string) => ((await ok('GET', `/v3/content_types/post/entries/${uid}`)).entry.publish_details as unknown[]).length > 0;

  before(async () => {
    // A data dir (and on PostgreSQL a schema) that outlives one Herald process: restarts reuse it.
    dataDir = mkdtempSync(join(tmpdir(), 'herald-schedule-'));
    schema = backend === 'postgres' ? await freshSchema() : null;
    h = await startHerald(settings(), dataDir);
    const { api_key, token } = await h.newStack('Scheduled site');
    s = { api_key, token, stack: stackOf(h.url, api_key, token), headers: { api_key, authorization: token } };
    rx = await startReceiver();
    await ok('POST', '/v3/environments', { environment: { name: 'production' } }, 201);
    await ok('POST', '/v3/content_types', { content_type: { title: 'Post', uid: 'post', schema: [{ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true }] } }, 201);
    await ok('POST', '/v3/webhooks', { webhook: { name: 'on publish', destinations: [{ target_url: rx.url }], channels: ['content_types.entries.publish', 'content_types.entries.unpublish', 'jobs.environments.publish.completed'] } }, 201);
  });
  after(async () => {
    await h.close();
    await rx.close();
    await schema?.drop();
  });

  it('publishes at scheduled_at (sent by the official client), and fires the publish webhook then', async () => {
    const uid = await newPost('Later');
    const at = Date.now() + 2_500;
    const res = await s.stack.contentType('post').entry(uid).publish({ publishDetails: { environments: ['production'], locales: ['en-us'] }, scheduledAt: new Date(at).toISOString() });
    assert.match(res.notice, /scheduled to be published at/);
    assert.equal(await published(uid), false, 'not published before its time');
    const calls = rx.received.length;
    const event = await until('the publish event', async () => (await eventsAfter(h, s)).find((e) => e.uid === uid && e.action === 'publish'));
    assert.ok(event.environment === 'production' && event.locale === 'en-us');
    const recordedAt = (event as SeenEvent & { created_at: number }).created_at;
    assert.ok(recordedAt >= at, `published ${at - recordedAt} ms before its time`);
    assert.equal(await published(uid), true);
    await rx.waitFor(calls + 1, 30_000);
    const call = rx.received[calls];
    assert.equal(call.json.event, 'publish');
    assert.equal(call.json.data.entry.uid, uid);
    assert.ok(call.at >= at);
  });

  it('keeps a schedule across a restart: made at its time by the new process', async () => {
    const uid = await newPost('Across a restart');
    const at = Date.now() + 4_000;
    await ok('POST', `/v3/content_types/post/entries/${uid}/publish`, { entry: { environments: ['production'], locales: ['en-us'] }, scheduled_at: new Date(at).toISOString() });
    const from = await lastSeq(h, s);
    await h.close();
    h = await startHerald(settings(), dataDir);
    const event = await until('the publish event after the restart', async () => (await eventsAfter(h, s, from)).find((e) => e.uid === uid && e.action === 'publish'));
    assert.ok((event as SeenEvent & { created_at: number }).created_at >= at);
    await until('the webhook call', async () => rx.received.find((r) => r.json?.event === 'publish' && r.json.data.entry.uid === uid));
  });

  it('makes a schedule that fell due while Herald was down as soon as it starts', async () => {
    const uid = await newPost('Due while down');
    const at = Date.now() + 1_500;
    await ok('POST', `/v3/content_types/post/entries/${uid}/publish`, { entry: { environments: ['production'] }, scheduled_at: new Date(at).toISOString() });
    await h.close();
    await new Promise((r) => setTimeout(r, Math.max(0, at - Date.now()) + 500));
    h = await startHerald(settings(), dataDir);
    await until('the publish after start', () => published(uid));
  });

  it('schedules an unpublish and a bulk publish; a past scheduled_at is done at once; a bad one is named', async () => {
    const a = await newPost('Unpublish later');
    await ok('POST', `/v3/content_types/post/entries/${a}/publish`, { entry: { environments: ['production'], locales: ['en-us'] }, scheduled_at: inMs(-60_000) });
    assert.equal(await published(a), true, 'a past scheduled_at publishes at once');
    const un = await ok('POST', `/v3/content_types/post/entries/${a}/unpublish`, { entry: { environments: ['production'], locales: ['en-us'] }, scheduled_at: inMs(1_500) });
    assert.equal(un.scheduled.action, 'unpublish');
    assert.equal(await published(a), true);
    const b = await newPost('Bulk later');
    const c = await newPost('Bulk later too');
    const job = await ok('POST', '/v3/bulk/publish', { entries: [{ uid: b, content_type: 'post' }, { uid: c, content_type: 'post' }], environments: ['production'], locales: ['en-us'], scheduled_at: inMs(1_500) });
    assert.ok(job.job_id);
    assert.equal(await published(b), false);
    assert.equal((await ok('GET', `/v3/bulk/jobs/${job.job_id}`)).job.status, 'scheduled');
    await until('the unpublish', async () => !(await published(a)));
    await until('the bulk job', async () => (await eventsAfter(h, s)).find((e) => e.module === 'job' && e.uid === job.job_id));
    assert.equal(await published(b), true);
    assert.equal(await published(c), true);
    const done = (await ok('GET', `/v3/bulk/jobs/${job.job_id}`)).job;
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.counts, { total: 2, success: 2, failed: 0 });
    const bad = await h.request('POST', `/v3/content_types/post/entries/${b}/publish`, { headers: s.headers, body: { entry: { environments: ['production'] }, scheduled_at: 'tomorrow' } });
    assert.equal(bad.status, 422);
    assert.ok('scheduled_at' in bad.body.errors);
    const missing = await h.request('POST', '/v3/content_types/post/entries/blt0000000000000000/publish', { headers: s.headers, body: { entry: { environments: ['production'] }, scheduled_at: inMs(60_000) } });
    assert.equal(missing.status, 404, 'a schedule for an entry that does not exist is refused at once');
  });

  it('lists scheduled changes in the publish queue and cancels one (unschedule): it never happens', async () => {
    const keep = await newPost('Queued, kept');
    const drop = await newPost('Queued, cancelled');
    const at = inMs(2_500);
    const a = await ok('POST', `/v3/content_types/post/entries/${keep}/publish`, { entry: { environments: ['production'], locales: ['en-us'] }, scheduled_at: at });
    const b = await ok('POST', `/v3/content_types/post/entries/${drop}/publish`, { entry: { environments: ['production'], locales: ['en-us'] }, version: 1, scheduled_at: at });
    const queue = (await ok('GET', '/v3/publish-queue?include_count=true')).queue as any[];
    const mine = queue.filter((q) => q.uid === a.scheduled.uid || q.uid === b.scheduled.uid);
    assert.equal(mine.length, 2);
    for (const q of mine) {
      assert.equal(q.type, 'entry');
      assert.equal(q.action, 'publish');
      assert.equal(q.status, 'scheduled');
      assert.deepEqual(q.environments, ['production']);
      assert.equal(Date.parse(q.scheduled_at), Date.parse(at));
    }
    // The version a schedule named is listed (a backup carries it: test/backup/policy.test.ts).
    assert.deepEqual(mine.find((q) => q.uid === a.scheduled.uid).entry, { uid: keep, content_type_uid: 'post' });
    assert.deepEqual(mine.find((q) => q.uid === b.scheduled.uid).entry, { uid: drop, content_type_uid: 'post', version: 1 });
    // A bulk job lists its items, as its request named them (a backup schedules them again: test/backup/policy.test.ts).
    const bulk = await ok('POST', '/v3/bulk/unpublish', { entries: [{ uid: keep, content_type: 'post', locale: 'en-us' }, { uid: drop, _content_type_uid: 'post', version: 1 }], environments: ['production'], scheduled_at: inMs(3_600_000) });
    const listed = ((await ok('GET', '/v3/publish-queue')).queue as any[]).find((q) => q.uid === bulk.job_id);
    assert.deepEqual([listed.type, listed.action, listed.items, listed.entries, listed.assets, listed.environments], [
      'bulk',
      'unpublish',
      2,
      [
        { uid: keep, content_type_uid: 'post', locale: 'en-us' },
        { uid: drop, content_type_uid: 'post', version: 1 },
      ],
      [],
      ['production'],
    ]);
    await ok('GET', `/v3/publish-queue/${bulk.job_id}/unschedule`);
    assert.deepEqual(await ok('GET', `/v3/publish-queue/${b.scheduled.uid}/unschedule`), { notice: 'The scheduled change was cancelled.' });
    assert.equal((await h.request('GET', `/v3/publish-queue/${b.scheduled.uid}/unschedule`, { headers: s.headers })).status, 404);
    await until('the kept one', () => published(keep));
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(await published(drop), false, 'the cancelled one never happened');
    assert.deepEqual(((await ok('GET', '/v3/publish-queue')).queue as any[]).filter((q) => q.uid === a.scheduled.uid || q.uid === b.scheduled.uid), [], 'both left the queue');
  });

  it('with two processes on one database, one of them makes each scheduled change', { skip: backend !== 'postgres' && 'two processes share PostgreSQL only' }, async () => {
    const second = await startHerald(settings(), mkdtempSync(join(tmpdir(), 'herald-schedule-2-')));
    try {
      const uids = [await newPost('Twice? 1'), await newPost('Twice? 2'), await newPost('Twice? 3')];
      const from = await lastSeq(h, s);
      const at = inMs(2_000);
      // Scheduled through both processes.
      for (const [i, uid] of uids.entries()) {
        const via = i % 2 === 0 ? h : second;
        const r = await via.request('POST', `/v3/content_types/post/entries/${uid}/publish`, { headers: s.headers, body: { entry: { environments: ['production'], locales: ['en-us'] }, scheduled_at: at } });
        assert.equal(r.status, 200, JSON.stringify(r.body));
      }
      await until('three publishes', async () => (await eventsAfter(h, s, from)).filter((e) => e.action === 'publish').length >= 3);
      await new Promise((r) => setTimeout(r, 1_000));
      const publishes = (await eventsAfter(h, s, from)).filter((e) => e.action === 'publish');
      assert.deepEqual(publishes.map((e) => e.uid).sort(), [...uids].sort(), 'each exactly once');
    } finally {
      await second.close();
    }
  });
});
