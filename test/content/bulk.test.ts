import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { assertPayloadsMatchSchemas } from '../helpers/payload-schemas.ts';
import { testBackends } from '../helpers/postgres.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { clientError, clientStack, eventsAfter, lastSeq, type SeenEvent, type TestStack } from './helpers/content.ts';

/**
 * Bulk operations (POST /v3/bulk/publish, /unpublish, /delete) as Contentstack's management SDK
 * (`stack.bulkOperation()`) and plain HTTP send them: each item's change makes the events a single
 * call makes, and the job's completion is one more event, on its own channel
 * (jobs.environments.publish.completed), that a webhook gets once per job.
 */
for (const backend of await testBackends()) describe(`bulk operations on ${backend}`, () => {
  let h: TestHerald;
  let s: TestStack;
  const rx = {} as Record<'job' | 'items' | 'staging', Awaited<ReturnType<typeof startReceiver>>>;
  const hooks = {} as Record<'job' | 'items' | 'staging', string>;
  const ok = async (method: string, path: string, body?: unknown, status = 200) => {
    const r = await h.request(method, path, { headers: s.headers, ...(body === undefined ? {} : { body }) });
    assert.equal(r.status, status, `${method} ${path}: ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const newPosts = async (n: number, title = 'Post') => {
    const uids: string[] = [];
    for (let i = 0; i < n; i++) uids.push((await ok('POST', '/v3/content_types/post/entries', { entry: { title: `${title} ${i}` } }, 201)).entry.uid);
    return uids;
  };
  /** Calls a webhook has had (its executions), read from the activity log. */
  const executions = async (webhook: string) => (await ok('GET', `/v3/webhooks/${webhook}/executions?limit=100`)).webhooks as Array<{ event_channel?: string; channel?: string }>;

  before(async () => {
    h = await startHerald({ backend });
    s = await clientStack(h, 'Bulk site');
    await ok('POST', '/v3/environments', { environment: { name: 'production' } }, 201);
    await ok('POST', '/v3/environments', { environment: { name: 'staging' } }, 201);
    await ok('POST', '/v3/content_types', { content_type: { title: 'Post', uid: 'post', schema: [{ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true }, { uid: 'body', display_name: 'Body', data_type: 'text' }] } }, 201);
    for (const k of ['job', 'items', 'staging'] as const) rx[k] = await startReceiver();
    const hook = async (name: string, url: string, channels: string[]) =>
      (await ok('POST', '/v3/webhooks', { webhook: { name, destinations: [{ target_url: url }], channels } }, 201)).webhook.uid as string;
    hooks.job = await hook('site rebuild', rx.job.url, ['jobs.environments.publish.completed', 'jobs.environments.unpublish.completed', 'jobs.delete.completed']);
    hooks.items = await hook('per item', rx.items.url, ['content_types.entries.publish', 'content_types.entries.publish.fail', 'content_types.entries.unpublish', 'content_types.entries.delete', 'assets.delete']);
    hooks.staging = await hook('staging rebuild', rx.staging.url, ['jobs.environments.staging.publish.completed']);
  });
  after(async () => {
    await h.close();
    for (const r of Object.values(rx)) await r.close();
  });

  it('a bulk publish of 50 entries through the SDK gives 50 item events and one job event; the job webhook gets one call', async () => {
    const uids = await newPosts(50);
    const from = await lastSeq(h, s);
    const jobBefore = rx.job.received.length;
    const itemsBefore = rx.items.received.length;
    const res = await s.stack.bulkOperation().publish({
      details: { entries: uids.map((uid) => ({ uid, content_type: 'post', locale: 'en-us' })), locales: ['en-us'], environments: ['production'] },
    });
    assert.match(res.notice, /50 of 50 published/);
    assert.match(res.job_id, /^[0-9a-f-]{36}$/);

    const events = await eventsAfter(h, s, from);
    const items = events.filter((e) => e.module === 'entry');
    assert.equal(items.length, 50);
    assert.ok(items.every((e) => e.action === 'publish' && e.environment === 'production' && e.locale === 'en-us'));
    assert.deepEqual(items.map((e) => e.uid).sort(), [...uids].sort());
    const jobs = events.filter((e) => e.module === 'job');
    assert.equal(jobs.length, 1, 'one job event');
    const job = jobs[0];
    assert.equal(job.action, 'publish.completed');
    assert.equal(job.uid, res.job_id);
    assert.equal(job.environment, 'production');
    assert.ok(job.seq > Math.max(...items.map((e) => e.seq)), 'the job event comes after its items');
    assert.equal(job.data.job_id, res.job_id);
    assert.deepEqual(job.data.counts, { total: 50, success: 50, failed: 0 });
    assert.deepEqual(job.data.environment.name, 'production');
    assert.deepEqual(job.data.locales, ['en-us']);
    // Each item names its own event.
    const bySeq = new Map(items.map((e) => [e.seq, e.uid]));
    for (const it of job.data.items) assert.equal(bySeq.get(it.seq), it.uid);

    await rx.items.waitFor(itemsBefore + 50, 30_000);
    await rx.job.waitFor(jobBefore + 1, 30_000);
    const call = rx.job.received[jobBefore];
    assert.equal(call.headers['x-herald-event'], 'job.publish.completed');
    assert.equal(call.json.event, 'publish.completed');
    assert.equal(call.json.module, 'job');
    assert.equal(call.json.data.job_id, res.job_id);
    assert.equal(call.json.data.items.length, 50);
    // Exactly one: the activity log of the job webhook holds one execution for this job.
    const logged = (await executions(hooks.job)).length;
    assert.equal(logged, jobBefore + 1);
    // The staging webhook's channel names another environment: nothing for it.
    assert.equal((await executions(hooks.staging)).length, 0);
    const checked = await assertPayloadsMatchSchemas(h, s.headers, [call, ...rx.items.received.slice(itemsBefore)]);
    assert.equal(checked, 51);
  });

  it('reports each item that fails, publishes the others, and rolls a refused item back', async () => {
    const [good, archived] = await newPosts(2, 'Mixed');
    await ok('POST', `/v3/content_types/post/entries/${archived}/archive`);
    const from = await lastSeq(h, s);
    const res = await ok('POST', '/v3/bulk/publish', {
      entries: [
        { uid: good, content_type: 'post' },
        { uid: 'blt0000000000000000', content_type: 'post' },
        { uid: archived, _content_type_uid: 'post' },
      ],
      assets: [{ uid: 'blt1111111111111111' }],
      locales: ['en-us'],
      environments: ['production', 'staging'],
    });
    assert.equal(res.job.counts.total, 8);
    assert.equal(res.job.counts.success, 2);
    assert.equal(res.job.counts.failed, 6);
    assert.match(res.notice, /2 of 8 published, 6 failed/);
    const missing = res.job.items.filter((i: any) => i.uid === 'blt0000000000000000');
    assert.equal(missing.length, 2);
    assert.ok(missing.every((i: any) => i.status === 'failed' && /not found/.test(i.reason) && i.seq === undefined));
    assert.ok(res.job.items.filter((i: any) => i.uid === archived).every((i: any) => /archived/.test(i.reason)));
    assert.ok(res.job.items.filter((i: any) => i.type === 'asset').every((i: any) => i.status === 'failed' && /Asset blt1111111111111111/.test(i.reason)));

    // The job's status and items, through the SDK's jobStatus and getJobItems (the job-based webhook's way back).
    const status = await s.stack.bulkOperation().jobStatus({ job_id: res.job_id });
    assert.equal(status.job.status, 'completed');
    assert.deepEqual(status.job.counts, { total: 8, success: 2, failed: 6 });
    assert.deepEqual([...status.job.environments].sort(), ['production', 'staging']);
    const failedItems = await s.stack.bulkOperation().getJobItems(res.job_id, { status: 'failed', include_count: true });
    assert.equal(failedItems.total_count, 6);
    assert.ok(failedItems.items.every((i: any) => i.publish_details.status === 'failed' && i.publish_details.failure_reason && i.action === 'publish'));
    const assetItems = await s.stack.bulkOperation().getJobItems(res.job_id, { type: 'asset' });
    assert.deepEqual(assetItems.items.map((i: any) => i.environment).sort(), ['production', 'staging']);
    assert.equal((await h.request('GET', '/v3/bulk/jobs/00000000-0000-4000-8000-000000000000', { headers: s.headers })).status, 404);
    assert.equal((await h.request('GET', `/v3/bulk/jobs/${res.job_id}/items?include_reference=true`, { headers: s.headers })).status, 422);

    const events = await eventsAfter(h, s, from);
    const items = events.filter((e) => e.module !== 'job');
    assert.deepEqual(items.map((e) => `${e.uid} ${e.action}@${e.environment}`).sort(), [`${good} publish@production`, `${good} publish@staging`].sort());
    const jobs = events.filter((e) => e.module === 'job');
    assert.deepEqual(jobs.map((e) => e.environment).sort(), ['production', 'staging']);
    for (const j of jobs) assert.deepEqual(j.data.counts, { total: 4, success: 1, failed: 3 });
    // The staging webhook gets the staging job only.
    await rx.staging.waitFor(1, 30_000);
    assert.equal(rx.staging.received[0].json.data.environment.name, 'staging');
  });

  it('a refused item leaves nothing behind: what it did before the refusal is rolled back', async () => {
    await ok('POST', '/v3/locales', { locale: { code: 'fr-fr', name: 'French' } }, 201);
    const [uid] = await newPosts(1, 'Partly');
    // en-us reaches version 3; the French line has version 1 only.
    await ok('PUT', `/v3/content_types/post/entries/${uid}`, { entry: { title: 'Partly 2' } });
    await ok('PUT', `/v3/content_types/post/entries/${uid}`, { entry: { title: 'Partly 3' } });
    await ok('PUT', `/v3/content_types/post/entries/${uid}?locale=fr-fr`, { entry: { title: 'En partie' } });
    const [other] = await newPosts(1, 'Fine');
    const from = await lastSeq(h, s);
    // Version 3 publishes in en-us (events recorded), then fr-fr has no version 3: the item is refused.
    const res = await ok('POST', '/v3/bulk/publish', { entries: [{ uid, content_type: 'post', version: 3 }, { uid: other, content_type: 'post' }], locales: ['en-us', 'fr-fr'], environments: ['production'] });
    const mine = res.job.items.filter((i: any) => i.uid === uid);
    assert.equal(mine.length, 2);
    assert.ok(mine.every((i: any) => i.status === 'failed' && /no version 3/.test(i.reason)), JSON.stringify(mine));
    const events = await eventsAfter(h, s, from);
    assert.deepEqual(events.filter((e) => e.uid === uid), [], 'no event of the refused item survives');
    assert.equal(events.filter((e) => e.uid === other && e.action === 'publish').length, 2);
    const entry = await ok('GET', `/v3/content_types/post/entries/${uid}`);
    assert.deepEqual(entry.entry.publish_details, [], 'and it is not published');
  });

  it('an item that fails validation gets its publish.fail event, listed in the job', async () => {
    const ct = { content_type: { title: 'Strict', uid: 'strict', schema: [{ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true }, { uid: 'code', display_name: 'Code', data_type: 'text', mandatory: true }] } };
    await ok('POST', '/v3/content_types', ct, 201);
    // Entries saved before a mandatory field was added no longer pass validation: publishing fails.
    const ok1 = (await ok('POST', '/v3/content_types/strict/entries', { entry: { title: 'A', code: 'a' } }, 201)).entry.uid;
    const bad = (await ok('POST', '/v3/content_types/strict/entries', { entry: { title: 'B', code: 'b' } }, 201)).entry.uid;
    await ok('PUT', '/v3/content_types/strict', { content_type: { schema: [...ct.content_type.schema, { uid: 'extra', display_name: 'Extra', data_type: 'text', mandatory: true }] } });
    const from = await lastSeq(h, s);
    const res = await ok('POST', '/v3/bulk/publish', { entries: [{ uid: ok1, content_type: 'strict' }, { uid: bad, content_type: 'strict' }], environments: ['production'] });
    assert.equal(res.job.counts.failed, 2, JSON.stringify(res.job.items));
    const events = await eventsAfter(h, s, from);
    const fails = events.filter((e) => e.action === 'publish.fail');
    assert.equal(fails.length, 2);
    const job = events.find((e) => e.module === 'job')!;
    for (const f of fails) {
      const it = job.data.items.find((i: any) => i.uid === f.uid);
      assert.equal(it.event, 'publish.fail');
      assert.equal(it.seq, f.seq);
      assert.match(it.reason, /extra/);
    }
  });

  it('unpublishes and deletes in bulk, each with its job event', async () => {
    const uids = await newPosts(3, 'Gone');
    const form = new FormData();
    form.append('asset[upload]', new Blob(['bytes']), 'a.txt');
    const up = await fetch(`${h.url}/v3/assets`, { method: 'POST', headers: s.headers, body: form });
    const asset = (await up.json()).asset.uid as string;
    await s.stack.bulkOperation().publish({ details: { entries: uids.map((uid) => ({ uid, content_type: 'post', locale: 'en-us' })), assets: [{ uid: asset }], locales: ['en-us'], environments: ['production'] } });
    const from = await lastSeq(h, s);
    const un = await s.stack.bulkOperation().unpublish({ details: { entries: uids.map((uid) => ({ uid, content_type: 'post', locale: 'en-us' })), locales: ['en-us'], environments: ['production'] } });
    assert.match(un.notice, /3 of 3 unpublished/);
    const del = await s.stack.bulkOperation().delete({ details: { entries: uids.map((uid) => ({ uid, content_type: 'post', locale: 'en-us' })), assets: [{ uid: asset }] } });
    assert.match(del.notice, /4 of 4 deleted/);
    const events = await eventsAfter(h, s, from);
    assert.deepEqual(
      events.map((e) => `${e.module}.${e.action}`),
      ['entry.unpublish', 'entry.unpublish', 'entry.unpublish', 'job.unpublish.completed', 'entry.delete', 'entry.delete', 'entry.delete', 'asset.delete', 'job.delete.completed'],
    );
    const delJob = events.at(-1)!;
    assert.equal(delJob.environment, null);
    assert.deepEqual(delJob.data.counts, { total: 4, success: 4, failed: 0 });
    for (const uid of uids) assert.equal((await h.request('GET', `/v3/content_types/post/entries/${uid}`, { headers: s.headers })).status, 404);
  });

  it('refuses parameters and fields it does not implement, naming them, before doing anything', async () => {
    const [uid] = await newPosts(1, 'Refused');
    const from = await lastSeq(h, s);
    const body = { entries: [{ uid, content_type: 'post' }], locales: ['en-us'], environments: ['production'] };
    const refused = async (path: string, b: unknown, field: string) => {
      const r = await h.request('POST', path, { headers: s.headers, body: b });
      assert.equal(r.status, 422, `${path}: ${JSON.stringify(r.body)}`);
      assert.ok(field in r.body.errors, `${path}: ${field} named in ${JSON.stringify(r.body.errors)}`);
    };
    await refused('/v3/bulk/publish?colour=blue', body, 'colour');
    await refused('/v3/bulk/publish?nested=true&event_type=bulk', body, 'nested');
    await refused('/v3/bulk/publish?publish_all_localized=true', body, 'publish_all_localized');
    await refused('/v3/bulk/publish', { ...body, publish_with_reference: true }, 'publish_with_reference');
    await refused('/v3/bulk/publish', { ...body, workflow: {} }, 'workflow');
    await refused('/v3/bulk/publish', { ...body, entries: [{ uid, content_type: 'post', variants: [] }] }, 'entries.0.variants');
    await refused('/v3/bulk/publish', { ...body, entries: [{ uid }] }, 'entries.0.content_type');
    await refused('/v3/bulk/publish', { ...body, environments: ['nowhere'] }, 'environments');
    await refused('/v3/bulk/publish', { ...body, locales: ['xx-yy'] }, 'locales');
    await refused('/v3/bulk/publish', { locales: ['en-us'], environments: ['production'] }, 'entries');
    await refused('/v3/bulk/delete', { ...body }, 'locales');
    await refused('/v3/bulk/delete?force=true', { entries: [{ uid, content_type: 'post' }] }, 'force');
    assert.deepEqual(await eventsAfter(h, s, from), [], 'nothing happened');
    // Herald has no workflows or approvals: these flags change nothing, and are accepted.
    const r = await h.request('POST', '/v3/bulk/publish?skip_workflow_stage_check=true&approvals=true', {
      headers: { ...s.headers, skip_workflow_stage_check: 'true', approvals: 'true' },
      body: { ...body, rules: { approvals: 'true' } },
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    // Through the SDK, an unknown environment is the client's error with the field named.
    await assert.rejects(s.stack.bulkOperation().publish({ details: { ...body, environments: ['nowhere'] } }), clientError(422, 'environments'));
  });

  it('job channels are checked: a Contentful-format webhook cannot take them, an unknown one is named', async () => {
    const make = (webhook: Record<string, unknown>) => h.request('POST', '/v3/webhooks', { headers: s.headers, body: { webhook: { name: `w${Math.random()}`, destinations: [{ target_url: rx.job.url }], ...webhook } } });
    const cf = await make({ channels: ['jobs.environments.publish.completed'], format: 'contentful' });
    assert.equal(cf.status, 422);
    assert.ok('channels.0' in cf.body.errors);
    const bad = await make({ channels: ['jobs.environments.publish.done'] });
    assert.equal(bad.status, 422);
    assert.match(bad.body.errors['channels.0'][0], /job channel/);
    // A Contentful wildcard does not take job events (they are no Contentful type).
    const all = await make({ channels: ['*.*'] });
    assert.equal(all.status, 201);
    const from = await lastSeq(h, s);
    const [uid] = await newPosts(1, 'Wild');
    await ok('POST', '/v3/bulk/publish', { entries: [{ uid, content_type: 'post' }], environments: ['production'] });
    const events: SeenEvent[] = await eventsAfter(h, s, from);
    assert.equal(events.length, 3);
    // Executions are made in the change's transaction: all there once the request answered.
    const logged = await executions(all.body.webhook.uid);
    assert.equal(logged.length, 2, 'create and publish, not the job');
  });
});
