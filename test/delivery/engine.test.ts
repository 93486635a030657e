import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { createWebhook, emit, emitTogether, executions, sleep, until, type Stack } from '../helpers/engine.ts';
import { testBackends } from '../helpers/postgres.ts';
import { SCAN_WINDOW } from '../../src/delivery/queue/index.ts';

/**
 * The auto-save window of this file's Herald, ms. Long enough that a loaded machine (the whole
 * suite on two cores) still emits a test's burst of auto-saves within one window; the tests
 * measure from the first call's claim (`first_attempt_at`), not from its arrival, so a slow
 * first request does not eat into the window they check. 1,500 was not enough on PostgreSQL at
 * load 14-15: the publish behind a waiting auto-save was recorded after the window had ended.
 */
const AUTO_SAVE_WINDOW_MS = 3_000;

/** When the execution of `seq` for `webhookUid` was first claimed (ms): an auto-save window starts there. */
async function firstClaimedAt(h: TestHerald, webhookUid: string, seq: number): Promise<number> {
  const row = await h.herald.db.get<{ at: number | null }>('SELECT first_attempt_at AS at FROM executions WHERE webhook_uid = ? AND event_seq = ?', [webhookUid, seq]);
  assert.ok(row?.at, `the execution of seq ${seq} was claimed`);
  return Number(row.at);
}

/**
 * A responder that answers nothing until `open()`: a receiver that holds every call it gets for as
 * long as a test needs, where a fixed sleep could be outlasted by a loaded machine.
 */
function held() {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  return { respond: () => gate, open };
}

// The engine's behaviour holds on both stores (PostgreSQL when reachable, see helpers/postgres.ts).
for (const backend of await testBackends()) describe(`delivery engine on ${backend}`, () => {
  let h: TestHerald;
  before(async () => {
    h = await startHerald({ backend, retryDelaysMs: [150, 150, 150, 150], autoSaveWindowMs: AUTO_SAVE_WINDOW_MS, circuitBreakerThreshold: 3 });
  });
  after(() => h.close());

  it('posts the change as signed JSON with basic auth and custom headers', async () => {
    const rx = await startReceiver();
    const stack = await h.newStack();
    const hook = await createWebhook(h, stack, rx.url + '/hook', {
      destinations: [
        {
          target_url: rx.url + '/hook',
          http_basic_auth: 'site',
          http_basic_password: 'pa55word-long',
          custom_header: [
            { header_name: 'X-Team', value: 'web' },
            { header_name: 'X-Token', value: 'secret-header-value' },
          ],
        },
      ],
    });
    const event = await emit(h, stack, { action: 'update' });
    await rx.waitFor(1);
    const got = rx.received[0];
    assert.equal(got.method, 'POST');
    assert.equal(got.url, '/hook');
    assert.equal(got.headers['content-type'], 'application/json');
    assert.match(String(got.headers['user-agent']), /^Herald/);
    assert.equal(got.headers.authorization, 'Basic ' + Buffer.from('site:pa55word-long').toString('base64'));
    assert.equal(got.headers['x-team'], 'web');
    assert.equal(got.headers['x-token'], 'secret-header-value');
    assert.deepEqual(Object.keys(got.json).sort(), ['actor', 'api_key', 'branch', 'data', 'event', 'module', 'seq', 'triggered_at']);
    assert.equal(got.json.event, 'update');
    assert.equal(got.json.module, 'entry');
    assert.equal(got.json.api_key, stack.api_key);
    assert.equal(got.json.seq, event.seq);
    assert.equal(got.json.data.entry.title, 'Hello');
    assert.equal(got.json.branch.uid, 'main');
    // Verifiable with the public Standard Webhooks library.
    new StandardWebhook(hook.signing_secret).verify(got.body, got.headers as Record<string, string>);
    await rx.close();
  });

  it('keeps the delivery id across retries, retries on schedule, then fails', async () => {
    const rx = await startReceiver((_r, res) => void (res.statusCode = 500));
    const stack = await h.newStack();
    const hook = await createWebhook(h, stack, rx.url);
    await emit(h, stack);
    await rx.waitFor(5);
    const ex = await until(async () => (await executions(h, stack, hook.uid)).find((x) => x.state === 'failed'), 5000, 'failed state');
    assert.equal(ex.attempts, 5);
    assert.equal(ex.status, 500);
    assert.equal(ex.request_details.length, 5);
    const ids = new Set(rx.received.map((r) => r.headers['webhook-id']));
    assert.deepEqual([...ids], [ex.uid]);
    const gaps = rx.received.slice(1).map((r, i) => r.at - rx.received[i].at);
    for (const gap of gaps) assert.ok(gap >= 140, `retry came after ${gap} ms, before the 150 ms delay`);
    // Late means nothing woke the dispatcher at the retry's due time (the safety net is 5 s).
    for (const gap of gaps) assert.ok(gap < 2_500, `retry came after ${gap} ms, long after the 150 ms delay`);
    await sleep(400);
    assert.equal(rx.received.length, 5, 'no automatic attempt after the fifth');

    // Manual retry sends it again now, and the log shows the new attempt.
    rx.respond = undefined;
    const retry = await h.request('POST', `/v3/webhooks/${hook.uid}/retry`, {
      headers: { api_key: stack.api_key, authorization: stack.token },
      body: { execution_uid: ex.uid },
    });
    assert.equal(retry.status, 200);
    await rx.waitFor(6);
    const done = await until(async () => (await executions(h, stack, hook.uid)).find((x) => x.state === 'succeeded'), 5000, 'succeeded');
    assert.equal(done.attempts, 6);
    assert.equal(done.request_details[5].response.status, 200);
    assert.equal(rx.received[5].headers['webhook-id'], ex.uid);
    await rx.close();
  });

  it('records the request and response of each attempt, with secrets masked', async () => {
    const rx = await startReceiver((_r, res) => {
      res.statusCode = 422;
      res.setHeader('x-why', 'bad');
      res.end('{"error":"nope"}');
    });
    const stack = await h.newStack();
    const hook = await createWebhook(h, stack, rx.url, {
      destinations: [
        {
          target_url: rx.url,
          http_basic_auth: 'u',
          http_basic_password: 'a-basic-password',
          custom_header: [{ header_name: 'X-Key', value: 'a-secret-header', secret: true }],
        },
      ],
    });
    await emit(h, stack);
    await rx.waitFor(1);
    const ex = await until(async () => {
      const list = await executions(h, stack, hook.uid);
      return list[0]?.request_details.length ? list[0] : null;
    });
    const a = ex.request_details[0];
    assert.equal(a.outcome, 'http_error');
    assert.equal(a.reason, 'HTTP 422');
    assert.equal(a.response.status, 422);
    assert.equal(a.response.headers['x-why'], 'bad');
    assert.equal(a.response.body, '{"error":"nope"}');
    assert.equal(a.request.url, rx.url);
    assert.equal(JSON.parse(a.request.body).seq, ex.seq);
    assert.equal(a.request.headers.authorization, 'Basic ****');
    assert.ok(typeof a.duration_ms === 'number');
    const text = JSON.stringify(ex);
    assert.ok(!text.includes('a-basic-password'));
    assert.ok(!text.includes('a-secret-header'));
    await rx.close();
  });

  it('delivers one entity in event order while other entities flow', async () => {
    let failFirst = true;
    const rx = await startReceiver((r, res) => {
      if (r.json?.data?.entry?.uid === 'bltA' && failFirst) {
        failFirst = false;
        // A's retry waits a full second, so B arriving first cannot be a scheduling accident.
        res.statusCode = 503;
        res.setHeader('retry-after', '1');
      }
    });
    const stack = await h.newStack();
    await createWebhook(h, stack, rx.url);
    // Recorded together: B is due while A's first attempt fails, however slow the machine. One by one,
    // a loaded machine could record B more than A's Retry-After second after A's first call.
    const [a1, a2, b1, a3] = await emitTogether(h, stack, [{ uid: 'bltA' }, { uid: 'bltA' }, { uid: 'bltB' }, { uid: 'bltA' }]);
    await rx.waitFor(5, 30_000);
    const aSeqs = rx.received.filter((r) => r.json.data.entry.uid === 'bltA').map((r) => r.json.seq);
    assert.deepEqual(aSeqs, [a1.seq, a1.seq, a2.seq, a3.seq]);
    // B was not held behind A's failed attempt: it arrived before A's retry.
    const bAt = rx.received.findIndex((r) => r.json.seq === b1.seq);
    const aRetryAt = rx.received.findIndex((r, i) => i > 0 && r.json.seq === a1.seq);
    assert.ok(bAt < aRetryAt, 'B waited for A');
    await rx.close();
  });

  it('keeps each webhook’s own order for one entity when several webhooks get its events: a busy lane does not hold an idle one', async () => {
    // Webhook A fails its first call (retry after a second); webhook B answers at once.
    let failFirst = true;
    const slow = await startReceiver((_r, res) => {
      if (failFirst) {
        failFirst = false;
        res.statusCode = 503;
        res.setHeader('retry-after', '1');
      }
    });
    const fast = await startReceiver();
    const stack = await h.newStack();
    await createWebhook(h, stack, slow.url);
    await createWebhook(h, stack, fast.url);
    const e1 = await emit(h, stack, { uid: 'bltFan' });
    await slow.waitFor(1, 10_000);
    await fast.waitFor(1, 10_000);
    // A's lane of this entity is busy (its first execution waits for the retry); B's is idle.
    const e2 = await emit(h, stack, { uid: 'bltFan' });
    await fast.waitFor(2, 10_000);
    assert.deepEqual(fast.received.map((r) => r.json.seq), [e1.seq, e2.seq]);
    assert.equal(slow.received.length, 1, 'A sent nothing behind its failed first call');
    await slow.waitFor(3, 10_000);
    assert.deepEqual(slow.received.map((r) => r.json.seq), [e1.seq, e1.seq, e2.seq], 'A: the retry, then the queued one');
    await slow.close();
    await fast.close();
  });

  it('calls an auto_save webhook at most once per window per entity, with the latest state', async () => {
    const rx = await startReceiver();
    const stack = await h.newStack();
    const hook = await createWebhook(h, stack, rx.url, { channels: ['Entry.auto_save'] });
    const first = await emit(h, stack, { action: 'auto_save', uid: 'bltDoc' });
    await rx.waitFor(1);
    // The eight in one transaction: one instant, however loaded the machine (one by one, at load ~13
    // on PostgreSQL, they outlasted the window).
    const drafts = await emitTogether(
      h,
      stack,
      Array.from({ length: 8 }, (_, i) => ({ action: 'auto_save' as const, uid: 'bltDoc', data: { entry: { uid: 'bltDoc', title: `draft ${i}` } } })),
    );
    const last = drafts[7];
    const window = (await firstClaimedAt(h, hook.uid, first.seq)) + AUTO_SAVE_WINDOW_MS;
    assert.ok(Date.now() < window, 'premise: the eight auto-saves were recorded within the first call\'s window');
    await rx.waitFor(2, AUTO_SAVE_WINDOW_MS + 5_000);
    await sleep(800);
    assert.equal(rx.received.length, 2, 'nine auto-saves within one window make two calls');
    assert.equal(rx.received[0].json.seq, first.seq);
    assert.equal(rx.received[1].json.seq, last.seq);
    assert.equal(rx.received[1].json.data.entry.title, 'draft 7');
    assert.ok(rx.received[1].at >= window, 'the second call waited for the window (from the first call\'s claim)');
    const list = await executions(h, stack, hook.uid);
    assert.equal(list.length, 2);
    assert.equal(list[0].coalesced, 7);
    await rx.close();
  });

  it('does not hold a publish behind a waiting auto-save', async () => {
    // A window no loaded machine outlasts: a publish held behind the draft would arrive a minute
    // after the first call, long past the wait below. Against the file's 3 s window, the two emits
    // and the calls had to fit in 3 s: it failed once at load 14-15 (PostgreSQL, session 12).
    const windowMs = 60_000;
    const own = await startHerald({ backend, autoSaveWindowMs: windowMs });
    const rx = await startReceiver();
    try {
      const stack = await own.newStack();
      const hook = await createWebhook(own, stack, rx.url, { channels: ['Entry.*'] });
      const first = await emit(own, stack, { action: 'auto_save', uid: 'bltPub' });
      await rx.waitFor(1);
      const draft = await emit(own, stack, { action: 'auto_save', uid: 'bltPub' });
      const publish = await emit(own, stack, { action: 'publish', uid: 'bltPub' });
      await rx.waitFor(3, windowMs / 2);
      assert.deepEqual(
        rx.received.map((r) => r.json.seq).slice(1),
        [draft.seq, publish.seq],
      );
      // Alone, the draft would have waited for the window after the first call; the publish sent it at once.
      assert.ok(rx.received[2].at < (await firstClaimedAt(own, hook.uid, first.seq)) + windowMs, 'the publish did not wait for the auto-save window');
    } finally {
      await rx.close();
      await own.close();
    }
  });

  for (const status of [429, 503]) it(`waits at least Retry-After after a ${status}`, async () => {
    let n = 0;
    const rx = await startReceiver((_r, res) => {
      if (n++ === 0) {
        res.statusCode = status;
        res.setHeader('retry-after', '1');
      }
    });
    const stack = await h.newStack();
    await createWebhook(h, stack, rx.url);
    await emit(h, stack);
    await rx.waitFor(2, 5000);
    assert.ok(rx.received[1].at - rx.received[0].at >= 990, 'retried before Retry-After');
    await rx.close();
  });

  it('disables the webhook with a visible reason on 410 Gone', async () => {
    const rx = await startReceiver((_r, res) => void (res.statusCode = 410));
    const stack = await h.newStack();
    const hook = await createWebhook(h, stack, rx.url);
    await emit(h, stack);
    await rx.waitFor(1);
    const w = await until(async () => {
      const r = await h.request('GET', `/v3/webhooks/${hook.uid}`, { headers: { api_key: stack.api_key, authorization: stack.token } });
      return r.body.webhook.disabled ? r.body.webhook : null;
    });
    assert.match(w.disabled_reason, /410/);
    await emit(h, stack, { uid: 'bltOther' });
    await sleep(300);
    assert.equal(rx.received.length, 1, 'a disabled webhook receives nothing');
    await rx.close();
  });

  it('opens the circuit after N failed executions, and one call re-enables it', async () => {
    const rx = await startReceiver((_r, res) => void (res.statusCode = 500));
    const stack = await h.newStack();
    const hook = await createWebhook(h, stack, rx.url);
    const headers = { api_key: stack.api_key, authorization: stack.token };
    for (let i = 0; i < 3; i++) await emit(h, stack, { uid: `bltCB${i}` });
    const w = await until(async () => {
      const r = await h.request('GET', `/v3/webhooks/${hook.uid}`, { headers });
      return r.body.webhook.disabled ? r.body.webhook : null;
    }, 10_000, 'breaker');
    assert.match(w.disabled_reason, /3 consecutive failed executions/);
    await emit(h, stack, { uid: 'bltCBafter' });
    await sleep(300);
    const seen = rx.received.length;
    assert.ok(!rx.received.some((r) => r.json.data.entry.uid === 'bltCBafter'));

    rx.respond = undefined;
    const enable = await h.request('POST', `/v3/webhooks/${hook.uid}/enable`, { headers });
    assert.equal(enable.status, 200);
    const again = await h.request('GET', `/v3/webhooks/${hook.uid}`, { headers });
    assert.equal(again.body.webhook.disabled, false);
    assert.equal(again.body.webhook.disabled_reason, null);
    const e = await emit(h, stack, { uid: 'bltCBenabled' });
    await until(() => rx.received.some((r) => r.json.seq === e.seq), 5000, 'delivery after re-enable');
    assert.ok(rx.received.length > seen);
    await rx.close();
  });

  // The two tests below hold the slow receiver's calls unanswered (held()) until they have seen what
  // they wait for. They once answered after a fixed 10 s and gave the other webhook 5 s: the race
  // against that answer failed under load (its recording outlasted it at load ~11, 5374d0a; each
  // test failed once more at load 15-20 in sessions 20-21). Held, the slow webhook's slots are freed
  // only by Herald's delivery deadline, so a webhook that had to wait for them would get nothing
  // before it: whatever the other webhook gets within heldWait() (2/3 of the deadline) it got past
  // a webhook holding every one of its slots, however slow the machine.
  const heldWait = () => {
    const ms = (h.herald.config.deliveryTimeoutMs * 2) / 3;
    assert.ok(ms >= 5_000, `premise: the delivery deadline (${h.herald.config.deliveryTimeoutMs} ms) is long enough to wait within`);
    return ms;
  };

  it('does not let a slow receiver delay another webhook', async () => {
    const slow = held();
    const slowRx = await startReceiver(slow.respond);
    const fast = await startReceiver();
    try {
      const stack = await h.newStack();
      await createWebhook(h, stack, slowRx.url);
      await createWebhook(h, stack, fast.url);
      // Many entities, so the slow webhook has many lanes due at once and fills its slots.
      await emitTogether(h, stack, Array.from({ length: 40 }, (_, i) => ({ uid: `bltSlow${i}` })));
      // The slow webhook holds every one of its 16 slots (its limit's start; it grows only with
      // answers), and every fast delivery arrives while it does.
      await Promise.all([slowRx.waitFor(16, heldWait()), fast.waitFor(40, heldWait())]);
      assert.equal(slowRx.received.length, 16, 'the slow webhook holds no more than its per-webhook slots');
    } finally {
      slow.open();
      await fast.close();
      await slowRx.close();
    }
  });

  it('does not let a hanging webhook delay another webhook on the same host', async () => {
    // One receiver, two paths: /hang answers nothing while the test runs, /ok answers at once. The
    // two share the host's connection pool.
    const hang = held();
    const rx = await startReceiver(async (r) => {
      if (r.url === '/hang') await hang.respond();
    });
    try {
      const stack = await h.newStack();
      await createWebhook(h, stack, rx.url + '/hang');
      await createWebhook(h, stack, rx.url + '/ok');
      await emitTogether(h, stack, Array.from({ length: 40 }, (_, i) => ({ uid: `bltShared${i}` })));
      const count = (url: string) => rx.received.filter((r) => r.url === url).length;
      await until(() => count('/ok') === 40 && count('/hang') >= 16, heldWait(), 'every /ok delivery while /hang holds its 16 slots');
      assert.equal(count('/hang'), 16, '/hang holds no more than its per-webhook slots');
    } finally {
      hang.open();
      await rx.close();
    }
  });

  it('finds another webhook’s work behind a saturated webhook’s long due backlog', async () => {
    const slow = await startReceiver(async () => void (await sleep(10_000)));
    const fast = await startReceiver();
    const slowStack = await h.newStack();
    const fastStack = await h.newStack();
    await createWebhook(h, slowStack, slow.url);
    await createWebhook(h, fastStack, fast.url);
    // More due work for the saturated webhook than a claim round looks past (SCAN_WINDOW), all
    // due before the other webhook's: only a deep scan reaches the other one's.
    await h.herald.db.tx(async (tx) => {
      for (let i = 0; i < SCAN_WINDOW + 50; i++) {
        await h.herald.events.record(tx, { api_key: slowStack.api_key, branch: 'main', module: 'entry', action: 'update', uid: `bltBacklog${i}`, actor: 'test', data: {} });
      }
    });
    await until(() => slow.received.length > 0, 5000, 'the slow webhook saturated');
    const sent = Date.now();
    await emit(h, fastStack, { uid: 'bltBehind' });
    await fast.waitFor(1, 3000);
    assert.ok(fast.received[0].at - sent < 3000);
    await fast.close();
    await slow.close();
  });
});
