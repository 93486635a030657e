import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { createTargetPolicy } from '../../src/net/target.ts';
import type { OutgoingRequest } from '../../src/delivery/request.ts';
import type { AttemptRecord } from '../../src/delivery/send.ts';
import { createHttpTransport } from '../../src/delivery/transports/http.ts';
import { decodeRecords, encodeRecord, RequestDecoder, RequestEncoder, SHAPES_KEPT, type Flat, type Shape, type ToSender } from '../../src/delivery/transports/sender-wire.ts';
import { createThreadedHttpTransport } from '../../src/delivery/transports/threaded.ts';
import { startReceiver } from '../helpers/receiver.ts';

/**
 * What crosses to a sender thread and back (sender-wire.ts) is flat, each attempt carrying only the
 * header values that changed since its destination's last: whatever the sequence of headers and
 * responses, the receiver must get each request exactly as given and each record must carry the
 * response exactly as the receiver answered it.
 */
const silent = pino({ level: 'silent' });
/** Headers the HTTP client adds itself. */
const TRANSPORT = new Set(['host', 'connection', 'content-length', 'transfer-encoding']);

/** The i-th attempt's headers for one destination: values that change, some that stay, names that come and go. */
function headersOf(i: number): Record<string, string> {
  const h: Record<string, string> = {
    'content-type': 'application/json',
    'x-custom': i < 30 ? 'first' : 'second',
    'webhook-id': `msg_${i}`,
    'webhook-timestamp': String(1_700_000_000 + Math.floor(i / 7)),
    'x-herald-seq': String(i),
  };
  if (i % 4 !== 0) h['webhook-signature'] = `v1,sig${i}`;
  if (i % 9 === 0) h['x-herald-batch-size'] = '3';
  // Past a shape's 30 headers: sent whole.
  if (i === 17) for (let k = 0; k < 31; k++) h[`x-many-${k}`] = String(k);
  return h;
}

describe("a sender thread's wire", () => {
  const done: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const d of done) await d();
  });

  it('delivers every header of every attempt as given and returns every response header as answered, the same concurrently and one at a time', async () => {
    const rx = await startReceiver((r, res) => {
      const i = r.json.n as number;
      res.setHeader('x-fixed', 'same');
      res.setHeader('x-n', String(i));
      if (i % 5 === 0) res.setHeader('x-extra', 'yes');
      if (i % 11 === 0) res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.end(i % 3 === 0 ? '' : `answer ${i}`);
    });
    done.push(() => rx.close());
    const fallback = createHttpTransport({ policy: createTargetPolicy(['127.0.0.0/8']), connections: 16 });
    const t = createThreadedHttpTransport({ policy: createTargetPolicy(['127.0.0.0/8']), threads: 1, startRate: 0, busy: 0, connections: 16, fallback, log: silent });
    done.push(() => t.close());
    assert.equal(await t.started(), true);
    // One destination object and one secrets list for all, as buildRequest gives every attempt of one webhook definition.
    const destination = { target_url: rx.url } as OutgoingRequest['destination'];
    const secrets = ['not-in-any-header'];
    const req = (i: number): OutgoingRequest => ({ url: `${rx.url}/d`, headers: headersOf(i), body: `{"n":${i}}`, logged: { method: 'POST', url: rx.url, headers: {} }, destination, secrets });
    const sent: OutgoingRequest[] = [];
    const records: AttemptRecord[] = [];
    // Concurrently (one message each way), then one at a time (a message each: the shapes carry over).
    const first = Array.from({ length: 40 }, (_, i) => req(i));
    sent.push(...first);
    records.push(...(await Promise.all(first.map((r) => t.send(r, 5_000)))));
    for (let i = 40; i < 70; i++) {
      const r = req(i);
      sent.push(r);
      records.push(await t.send(r, 5_000));
    }
    assert.equal(rx.received.length, 70);
    const byN = new Map(rx.received.map((r) => [JSON.parse(r.body).n as number, r]));
    for (let i = 0; i < 70; i++) {
      const got = byN.get(i)!;
      const own = Object.fromEntries(Object.entries(got.headers).filter(([k]) => !TRANSPORT.has(k)));
      assert.deepEqual(own, sent[i]!.headers, `attempt ${i}'s headers`);
    }
    for (let i = 0; i < 70; i++) {
      const r = records[i]!;
      assert.equal(r.outcome, 'success', `${i}: ${r.reason}`);
      assert.equal(r.status_code, 200);
      assert.equal(r.response?.body, i % 3 === 0 ? '' : `answer ${i}`);
      assert.equal(r.response?.encoding, 'utf8');
      assert.equal(r.response?.truncated, false);
      const h = { ...r.response!.headers };
      for (const k of ['date', 'connection', 'keep-alive', 'content-length']) delete h[k];
      const want: Record<string, string | string[]> = { 'x-fixed': 'same', 'x-n': String(i) };
      if (i % 5 === 0) want['x-extra'] = 'yes';
      if (i % 11 === 0) want['set-cookie'] = ['a=1', 'b=2'];
      assert.deepEqual(h, want, `record ${i}'s response headers`);
    }
  });

  it('reads every attempt and record as encoded across many destinations, when the shapes run out and start again', () => {
    const encoder = new RequestEncoder();
    const decoder = new RequestDecoder();
    /** The thread's shape of each attempt, by id, as the records are encoded against it. */
    const threadShapes = new Map<number, Shape | null>();
    const mainShapes = new Map<number, Shape | null>();
    const destinations = Array.from({ length: SHAPES_KEPT + 50 }, (_, d) => ({ target_url: `http://127.0.0.1/${d}` }));
    let id = 0;
    let resets = 0;
    const check = () => {
      const m: ToSender = structuredClone({ t: 'send', bodies: new ArrayBuffer(2), bodyEnds: [2], ...encoder.take() });
      if (m.t !== 'send') return;
      if (m.reset) resets++;
      const back: Flat = [];
      const expected: AttemptRecord[] = [];
      decoder.read(m, (r) => {
        const want = sentById.get(r.id)!;
        const pairs: string[] = Array.isArray(r.headers) ? r.headers : Object.entries(r.headers).flat();
        assert.deepEqual(pairs, Object.entries(want.headers).flat(), `attempt ${r.id}`);
        assert.equal(r.url, want.url);
        threadShapes.set(r.id, r.shape);
        const record: AttemptRecord = {
          outcome: r.id % 13 === 0 ? 'http_error' : 'success',
          status_code: r.id % 13 === 0 ? 503 : 200,
          retry_after_ms: null,
          reason: r.id % 13 === 0 ? 'HTTP 503' : null,
          response: r.id % 17 === 0 ? null : { headers: { date: `d${Math.floor(r.id / 100)}`, 'x-id': r.id % 3 === 0 ? String(r.id) : 'same' }, body: '', encoding: 'utf8', truncated: false },
          started_at: 1_700_000_000_000 + r.id,
          duration_ms: 3,
        };
        expected.push(record);
        encodeRecord(back, r.id, 1.5, r.shape, record);
      });
      const got: AttemptRecord[] = [];
      decodeRecords(structuredClone(back), (i) => mainShapes.get(i), (_i, rec, idle) => {
        assert.equal(idle, 1.5);
        got.push(rec);
      });
      assert.deepEqual(got, expected);
    };
    const sentById = new Map<number, OutgoingRequest>();
    // Each destination twice in a row, in two rounds; a message every 100 attempts.
    for (const round of [0, 1]) {
      for (const dest of destinations.flatMap((d) => [d, d])) {
        const r: OutgoingRequest = { url: dest.target_url, headers: { 'content-type': 'application/json', 'webhook-id': `msg_${id}`, 'x-round': String(round) }, body: '{}', logged: { method: 'POST', url: '', headers: {} }, destination: dest as OutgoingRequest['destination'] };
        sentById.set(++id, r);
        mainShapes.set(id, encoder.add(id, r, 0, 1_000));
        if (encoder.full || id % 100 === 0) check();
      }
    }
    check();
    assert.ok(resets >= 2, `shapes started again ${resets} times`);
  });
});
