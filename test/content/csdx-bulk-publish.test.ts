import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { csdx, skipCsdxVersionCheck } from '../helpers/csdx.ts';
import { startHttpsHerald, toolEnv, type HttpsHerald } from '../helpers/https.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { eventsAfter, lastSeq, stackOf, type TestStack } from './helpers/content.ts';

/**
 * `csdx cm:entries:publish --bulk-publish true` (Contentstack's CLI, unmodified) against Herald over
 * HTTPS: it lists the entries through the management API and publishes them with POST
 * /v3/bulk/publish, as many items per request as its rate-limit config allows (one by default;
 * ten here). Every entry gets its publish event, every request one job event, and a webhook on the
 * job channel one call per request.
 */
describe('csdx cm:entries:publish --bulk-publish against Herald', () => {
  let h: HttpsHerald;
  let s: TestStack;
  let rx: Awaited<ReturnType<typeof startReceiver>>;
  const env = toolEnv();

  before(async () => {
    h = await startHttpsHerald({ backend: 'sqlite' });
    const { api_key, token } = await h.newStack('csdx bulk');
    s = { api_key, token, stack: stackOf(h.url, api_key, token), headers: { api_key, authorization: token } };
    rx = await startReceiver();
    const ok = async (path: string, body: unknown) => {
      const r = await h.request('POST', path, { headers: s.headers, body });
      assert.equal(r.status, 201, `${path}: ${JSON.stringify(r.body)}`);
      return r.body;
    };
    await ok('/v3/environments', { environment: { name: 'production' } });
    await ok('/v3/content_types', { content_type: { title: 'Post', uid: 'post', schema: [{ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true }] } });
    await ok('/v3/webhooks', { webhook: { name: 'rebuild', destinations: [{ target_url: rx.url }], channels: ['jobs.environments.production.publish.completed'] } });
    skipCsdxVersionCheck(env);
    // Ten items per bulk request (csdx's default is one): what `csdx config:set:rate-limit` would
    // store after reading the organization's plan, which Herald does not have.
    const script = `require('@contentstack/cli-utilities').configHandler.set('rateLimit', { default: { getLimit: { value: 10, utilize: 50 }, limit: { value: 10, utilize: 50 }, bulkLimit: { value: 10, utilize: 100 } } });`;
    execFileSync(process.execPath, ['-e', script], { env, cwd: process.cwd(), stdio: ['ignore', 'ignore', 'pipe'] });
  });
  after(async () => {
    await h.close();
    await rx.close();
  });

  it('publishes 50 entries in jobs of ten: 50 publish events, 5 job events, 5 calls to the job webhook', async () => {
    const uids: string[] = [];
    for (let i = 0; i < 50; i++) {
      const r = await h.request('POST', '/v3/content_types/post/entries', { headers: s.headers, body: { entry: { title: `Post ${i}` } } });
      uids.push(r.body.entry.uid);
    }
    const from = await lastSeq(h, s);
    const region = await csdx(env, ['config:set:region', '--cma', h.origin, '--cda', h.origin, '--ui-host', h.origin, '--name', 'Herald']);
    assert.equal(region.code, 0, region.stdout + region.stderr);
    const alias = await csdx(env, ['auth:tokens:add', '--alias', 'herald', '--management', '--stack-api-key', s.api_key, '--token', s.token, '--yes']);
    assert.equal(alias.code, 0, alias.stdout + alias.stderr);
    const run = await csdx(env, ['cm:entries:publish', '--alias', 'herald', '--content-types', 'post', '--locales', 'en-us', '--environments', 'production', '--bulk-publish', 'true', '--yes']);
    const out = run.stdout + run.stderr;
    assert.equal(run.code, 0, out.slice(-3000));
    assert.doesNotMatch(out, /\b(error|failed)\b/i, out.slice(-3000));
    const events = await eventsAfter(h, s, from);
    const publishes = events.filter((e) => e.module === 'entry' && e.action === 'publish');
    assert.deepEqual(publishes.map((e) => e.uid).sort(), [...uids].sort(), 'each entry published once');
    const jobs = events.filter((e) => e.module === 'job');
    assert.equal(jobs.length, 5, 'one job per bulk request of ten');
    assert.ok(jobs.every((j) => j.data.counts.success === 10 && j.data.counts.failed === 0));
    await rx.waitFor(5, 30_000);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(rx.received.length, 5);
    assert.deepEqual(rx.received.map((r) => r.json.data.job_id).sort(), jobs.map((j) => j.uid).sort());
  });
});
