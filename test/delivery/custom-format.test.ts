import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { registerFormat, type DeliveryFormat } from '../../src/delivery/formats/index.ts';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { createWebhook, emit, executions, until } from '../helpers/engine.ts';

/**
 * A delivery format of the test's own, registered with one line: webhooks that name it receive
 * their deliveries in it (method, headers, body), retry on its schedule, and the activity log
 * shows its requests, with no change to the engine.
 */
const plainText: DeliveryFormat = {
  name: 'x-plain-text',
  prepare(_q, event) {
    const line = `${event.module} ${event.uid} ${event.action} #${event.seq}`;
    return {
      bodyKey: 'line',
      body: () => line,
      request: ({ deliveryId }) => ({ method: 'PUT', headers: { 'content-type': 'text/plain', 'x-plain-id': deliveryId }, chunked: false }),
      retryDelaysMs: [50],
      logged: { line },
    };
  },
  loggedBody: (_event, logged) => String(logged.line),
};
registerFormat(plainText);

/** A format that fails as a bug in one would, for the events it names: its prepare throws or rejects, or its body throws. */
const failing: DeliveryFormat = {
  name: 'x-failing',
  prepare(_q, event) {
    if (event.uid === 'bltThrows') throw new Error('prepare threw');
    if (event.uid === 'bltRejects') return Promise.reject(new Error('prepare rejected'));
    const line = `#${event.seq}`;
    return {
      bodyKey: 'line',
      body: () => {
        if (event.uid === 'bltBodyThrows') throw new Error('body threw');
        return line;
      },
      request: () => ({ method: 'POST', headers: {}, chunked: false }),
      logged: { line },
    };
  },
  loggedBody: (_event, logged) => String(logged.line),
};
registerFormat(failing);

describe('a delivery format registered by a test', () => {
  let h: TestHerald;
  before(async () => {
    h = await startHerald({ retryDelaysMs: [60_000, 60_000] });
  });
  after(() => h.close());

  it('delivers in that format, retries on its schedule and shows its requests in the log', async () => {
    let calls = 0;
    const rx = await startReceiver((_r, res) => void (res.statusCode = calls++ === 0 ? 500 : 204));
    const stack = await h.newStack();
    const hook = await createWebhook(h, stack, rx.url + '/plain', { format: 'x-plain-text' });
    assert.equal(hook.format, 'x-plain-text');
    const event = await emit(h, stack, { uid: 'bltPlain' });

    // The first attempt fails; the format's 50 ms schedule, not the engine's minute, brings the second.
    await rx.waitFor(2);
    for (const got of rx.received) {
      assert.equal(got.method, 'PUT');
      assert.equal(got.headers['content-type'], 'text/plain');
      assert.equal(got.body, `entry bltPlain update #${event.seq}`);
      assert.equal(got.headers['x-plain-id'], got.headers['webhook-id'], "the format's header, and Herald's own");
      assert.ok(got.headers['webhook-signature'], 'signed as every delivery is');
    }
    const x = await until(async () => {
      const [first] = await executions(h, stack, hook.uid);
      return first?.state === 'succeeded' ? first : null;
    }, 5000, 'the execution to succeed');
    assert.equal(x.attempts, 2);
    const logged = x.request_details.map((a: any) => [a.request.method, a.request.format, a.request.body]);
    assert.deepEqual(logged, [
      ['PUT', 'x-plain-text', `entry bltPlain update #${event.seq}`],
      ['PUT', 'x-plain-text', `entry bltPlain update #${event.seq}`],
    ]);
    await rx.close();
  });

  it('refuses a format no one registered, naming the ones there are', async () => {
    const stack = await h.newStack();
    const r = await h.request('POST', '/v3/webhooks', {
      headers: { api_key: stack.api_key, authorization: stack.token },
      body: { webhook: { name: 'x', destinations: [{ target_url: 'http://127.0.0.1:9/' }], channels: ['*.*'], format: 'x-nobody' } },
    });
    assert.equal(r.status, 422);
    assert.match(r.body.errors.format[0], /"contentstack" or "contentful" or "cloudevents" or "x-plain-text"/);
  });
});

describe('a delivery format that fails as a bug would', () => {
  let h: TestHerald;
  before(async () => {
    // One attempt in flight at a time: a slot an attempt kept would hold every later one.
    h = await startHerald({ maxInFlight: 1, retryDelaysMs: [60_000] });
  });
  after(() => h.close());

  it('records each such attempt as failed with "internal error", sends nothing for it and frees its slot', async () => {
    const rx = await startReceiver();
    const stack = await h.newStack();
    const hook = await createWebhook(h, stack, rx.url + '/failing', { format: 'x-failing' });
    for (const uid of ['bltThrows', 'bltRejects', 'bltBodyThrows', 'bltFine']) await emit(h, stack, { uid });
    await rx.waitFor(1);
    const xs = (await until(async () => {
      const list = await executions(h, stack, hook.uid);
      return list.length === 4 && list.every((x) => x.request_details.length === 1) ? list : undefined;
    }, 10_000, 'one attempt of each execution'))!;
    const byUid = new Map(xs.map((x) => [x.event_data.data.entry?.uid ?? x.event_data.data.uid, x]));
    for (const uid of ['bltThrows', 'bltRejects', 'bltBodyThrows']) {
      const a = byUid.get(uid)?.request_details[0];
      assert.deepEqual([a?.outcome, a?.reason], ['network', 'internal error'], uid);
    }
    const fine = byUid.get('bltFine')?.request_details[0];
    assert.deepEqual([fine?.outcome, fine?.reason], ['success', null]);
    assert.equal(rx.received.length, 1);
    assert.equal(rx.received[0].body, `#${byUid.get('bltFine')!.seq}`);
    await rx.close();
  });
});
