import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { until } from '../helpers/engine.ts';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';

/**
 * An asset published in two locales in one request is two Herald events (one per locale), but one
 * Contentful-format call, as Contentful sends (the later locale's event is a repeat,
 * EventInput.contentful_repeat). The mark is stored with the event (store 027): a replay of the range
 * and a dry run of the webhook give what the receiver got the first time. A Contentstack-format
 * webhook gets each locale's, live and replayed. Runs on PostgreSQL too.
 */
describe('a Contentful-format webhook gets one call per asset publish, live, replayed and in a dry run', () => {
  let h: TestHerald;
  let api_key: string;
  let token: string;
  let cf: Awaited<ReturnType<typeof startReceiver>>;
  let cs: Awaited<ReturnType<typeof startReceiver>>;
  let cfHook: string;
  let csHook: string;
  let asset: string;
  let from = 0;
  let to = 0;
  const headers = () => ({ api_key, authorization: token });
  const ok = async (method: string, path: string, body?: unknown, status = 200) => {
    const r = await h.request(method, path, { headers: headers(), ...(body === undefined ? {} : { body }) });
    assert.equal(r.status, status, `${method} ${path}: ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const replayed = async (webhook: string) => {
    const started = await ok('POST', `/v3/webhooks/${webhook}/replay`, { from, to, mode: 'events' }, 202);
    return until(async () => {
      const j = (await ok('GET', `/v3/webhooks/${webhook}/replays/${started.job.uid}`)).job;
      return j.state === 'done' ? j : null;
    }, 30_000, 'the replay to be done');
  };
  /** The publish calls a receiver got for the asset (Contentful's carry the topic; Contentstack's the event). */
  const publishes = (r: typeof cf) =>
    r.received.filter((x) => (x.headers['x-contentful-topic'] === 'ContentManagement.Asset.publish' ? x.json.sys.id : x.json.event === 'publish' ? x.json.data.asset.uid : null) === asset);

  before(async () => {
    h = await startHerald();
    ({ api_key, token } = await h.newStack('Repeats'));
    cf = await startReceiver();
    cs = await startReceiver();
    await ok('POST', '/v3/locales', { locale: { code: 'fr-fr', name: 'French' } }, 201);
    await ok('POST', '/v3/environments', { environment: { name: 'production' } }, 201);
    cfHook = (await ok('POST', '/v3/webhooks', { webhook: { name: 'contentful', destinations: [{ target_url: cf.url + '/cf' }], channels: ['Asset.publish'], format: 'contentful' } }, 201)).webhook.uid;
    csHook = (await ok('POST', '/v3/webhooks', { webhook: { name: 'contentstack', destinations: [{ target_url: cs.url + '/cs' }], channels: ['assets.publish'] } }, 201)).webhook.uid;
    const form = new FormData();
    form.append('asset[upload]', new Blob(['png bytes']), 'photo.png');
    const up = await fetch(`${h.url}/v3/assets`, { method: 'POST', headers: headers(), body: form });
    assert.equal(up.status, 201);
    asset = (await up.json()).asset.uid;
    from = Date.now();
    await ok('POST', `/v3/assets/${asset}/publish`, { asset: { environments: ['production'], locales: ['en-us', 'fr-fr'] } });
    to = Date.now();
    await until(async () => publishes(cs).length === 2 && publishes(cf).length === 1, 30_000, 'the live calls');
  });
  after(async () => {
    await h.close();
    await cf.close();
    await cs.close();
  });

  test('records one event per locale, the later one marked, and sends the Contentful-format webhook one call', async () => {
    const feed = (await ok('GET', '/v3/events?after=0&limit=1000')).events as any[];
    const events = feed.filter((e) => e.uid === asset && e.action === 'publish');
    assert.deepEqual(events.map((e) => [e.locale, e.contentful_repeat ?? false]), [['en-us', false], ['fr-fr', true]]);
    // Nothing more comes: the webhook's log holds one execution.
    assert.equal((await ok('GET', `/v3/webhooks/${cfHook}/executions?limit=10`)).count, 1);
    assert.equal(publishes(cf).length, 1);
  });

  test('a replay of the range sends the Contentful-format webhook one call again, the Contentstack-format one each locale', async () => {
    const cfJob = await replayed(cfHook);
    assert.deepEqual([cfJob.total, cfJob.succeeded], [1, 1]);
    assert.equal(publishes(cf).length, 2, 'the first call, then the replay\'s one');
    const csJob = await replayed(csHook);
    assert.deepEqual([csJob.total, csJob.succeeded], [2, 2]);
    assert.equal(publishes(cs).length, 4, 'each locale\'s, first and replayed');
  });

  test('a dry run of the Contentful-format webhook matches the first locale\'s event and names the repeat', async () => {
    const res = await ok('POST', '/v3/webhooks/preview', { webhook_uid: cfHook, webhook: {}, last: 10 });
    const items = (res.preview.events as any[]).filter((e) => e.uid === asset && e.action === 'publish');
    assert.deepEqual(items.map((e) => [e.locale, e.matches, e.reason ?? null]), [['fr-fr', false, 'repeat'], ['en-us', true, null]]);
    assert.match(items[0].message, /one call per publish of an asset.*in locale fr-fr/);
    assert.equal(items[1].request.body.includes(asset), true);
  });
});
