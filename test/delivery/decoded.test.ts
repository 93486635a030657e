import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { claim } from '../../src/delivery/queue/index.ts';
import { sharedSeqs } from '../../src/delivery/dispatcher.ts';
import { ClaimedEvent, dataJson, eventFromRow } from '../../src/events/record.ts';
import { openSqlite } from '../../src/store/sqlite.ts';
import { openPostgres } from '../../src/store/postgres.ts';
import type { Db } from '../../src/store/db.ts';
import { freshSchema, testBackends, type BackendName } from '../helpers/postgres.ts';
import { decodedEvents, decodedWebhook, DecodedEvents, EVENTS_PACKED, PACKED_BYTES } from '../../src/delivery/queue/decoded.ts';
import type { EventRow } from '../../src/events/record.ts';
import type { WebhookRow } from '../../src/webhooks/store.ts';

const webhookRow = (doc: object, over: Partial<WebhookRow> = {}): WebhookRow => ({
  doc: JSON.stringify(doc),
  disabled: 0,
  disabled_reason: null,
  version: 3,
  created_at: 1,
  updated_at: 2,
  ...over,
});

let seq = 1_000_000;
const eventRow = (data: object, over: Partial<EventRow> = {}): EventRow => ({
  seq,
  api_key: 'blt1',
  branch: 'main',
  module: 'entry',
  action: 'update',
  uid: 'e1',
  content_type_uid: 'post',
  locale: 'en-us',
  environment: null,
  actor: 'admin',
  actor_name: 'admin',
  changes: null,
  data: JSON.stringify(data),
  created_at: 5,
  ...over,
});

const backends = await testBackends();

/** A fresh store of `backend`, and how to remove it. */
async function openStore(backend: BackendName): Promise<{ db: Db; drop: () => Promise<void> }> {
  if (backend === 'postgres') {
    const schema = await freshSchema();
    return { db: await openPostgres(schema.url, { poolSize: 2 }), drop: schema.drop };
  }
  const dir = mkdtempSync(join(tmpdir(), 'herald-decoded-'));
  return { db: await openSqlite(join(dir, 'herald.db')), drop: async () => rmSync(dir, { recursive: true, force: true }) };
}

describe('claims parse webhook documents and event data once (queue/decoded.ts)', () => {
  it('reuses the parsed webhook while its row is unchanged, and parses a changed one again', () => {
    const uid = `wh-${Math.random()}`;
    const a = decodedWebhook(uid, webhookRow({ uid, name: 'one', destinations: [] }));
    const b = decodedWebhook(uid, webhookRow({ uid, name: 'one', destinations: [] }));
    assert.equal(a, b, 'the same row: the same object, not parsed again');
    assert.equal(a.name, 'one');
    assert.equal(a.version, 3);
    // Another document under the same version number (a restored backup): parsed again.
    const c = decodedWebhook(uid, webhookRow({ uid, name: 'two', destinations: [] }));
    assert.notEqual(c, a);
    assert.equal(c.name, 'two');
    // A column that overrides the document changed (the breaker disabled it).
    const d = decodedWebhook(uid, webhookRow({ uid, name: 'two', destinations: [] }, { disabled: 1, disabled_reason: 'breaker' }));
    assert.equal(d.disabled, true);
    assert.equal(d.disabled_reason, 'breaker');
    assert.equal(c.disabled, false, 'an object handed out earlier is never changed');
  });

  it('reuses a parsed event by seq while its row is unchanged, and parses an upgraded one again', () => {
    seq++;
    const events = new DecodedEvents();
    const decodedEvent = (row: EventRow) => events.decoded(row);
    const a = decodedEvent(eventRow({ entry: { title: 'a' } }));
    const b = decodedEvent(eventRow({ entry: { title: 'a' } }));
    assert.equal(a, b);
    assert.deepEqual(a.data, { entry: { title: 'a' } });
    assert.equal(a.seq, seq);
    const c = decodedEvent(eventRow({ entry: { title: 'a', body: 'more' } }));
    assert.notEqual(c, a);
    assert.deepEqual(c.data, { entry: { title: 'a', body: 'more' } });
    const d = decodedEvent(eventRow({ entry: { title: 'a', body: 'more' } }, { changes: JSON.stringify({ fields: ['body'] }) }));
    assert.deepEqual(d.changes, { fields: ['body'] });
    assert.deepEqual(a.data, { entry: { title: 'a' } }, 'an object handed out earlier is never changed');
  });

  it('keeps a bounded number of events (a backlog is not held in memory)', () => {
    const events = new DecodedEvents();
    const decodedEvent = (row: EventRow) => events.decoded(row);
    const first = decodedEvent(eventRow({ n: 0 }, { seq: 5_000_000 }));
    for (let i = 1; i <= 2_000; i++) decodedEvent(eventRow({ n: i }, { seq: 5_000_000 + i }));
    const again = decodedEvent(eventRow({ n: 0 }, { seq: 5_000_000 }));
    assert.notEqual(again, first, 'the oldest was dropped and parsed again');
    assert.deepEqual(again.data, { n: 0 });
    assert.equal(events.known(5_000_001), undefined, 'dropped: a claim reads it again');
    assert.deepEqual(events.known(5_002_000)?.data, { n: 2_000 });
  });

  it('knows an event by seq in the store that decoded it, and in no other', () => {
    const storeA = {};
    const storeB = {};
    const a = decodedEvents(storeA).decoded(eventRow({ store: 'a' }, { seq: 7 }));
    assert.equal(decodedEvents(storeA).known(7), a, 'a claim in the same store need not read it');
    assert.equal(decodedEvents(storeB).known(7), undefined, 'seq 7 of another store is another event');
    const b = decodedEvents(storeB).decoded(eventRow({ store: 'b' }, { seq: 7 }));
    assert.deepEqual(b.data, { store: 'b' });
    assert.deepEqual(decodedEvents(storeA).known(7)?.data, { store: 'a' });
  });

  it('keeps an event as recorded, parsed only when first asked for, as its row would be', () => {
    const events = new DecodedEvents();
    const row = eventRow({ entry: { title: 'recorded' } }, { seq: 9_000_000, changes: JSON.stringify({ fields: ['title'] }) });
    events.recorded(row, 1);
    const a = events.known(9_000_000)!;
    // A spread copies the fields; `data` is read on its own (see the next test).
    assert.deepEqual({ ...a, data: a.data }, eventFromRow(row));
    assert.equal(events.known(9_000_000), a, 'parsed once');
    assert.equal(events.decoded({ ...row }), a, 'the same row read from the store: the kept event');
  });

  it('forgets an event kept as recorded once its claims took all its executions', () => {
    const events = new DecodedEvents();
    events.recorded(eventRow({ n: 1 }, { seq: 9_200_000 }), 3);
    const a = events.known(9_200_000, 2);
    assert.deepEqual(a?.data, { n: 1 });
    assert.equal(events.known(9_200_000, 1), a, 'one execution left: still kept for its claim');
    assert.equal(events.known(9_200_000), undefined, 'all three claimed: a retry reads it back');
  });

  it('lets an event it forgot die young: a claimed event is not promoted to the old generation by the map it passed through', () => {
    // In a process of its own with the collector at hand: events with ~1 KB of data each recorded
    // and claimed 8 behind, as a claim round follows its commits, a scavenge every 100; the map has
    // been through a mark-compact first, as in a process that has run a while. V8's Map keeps old
    // hash tables, entries and all, and one in the old generation kept every later entry alive
    // through scavenges (decoded.ts, emptied): ~1.66 KB per event reached the old generation, ~0.11
    // once emptied (what is left: the entries' small cells and the test's own).
    const child = `
      import { getHeapSpaceStatistics } from 'node:v8';
      import { DecodedEvents } from './src/delivery/queue/decoded.ts';
      const old = () => getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_used_size;
      const events = new DecodedEvents();
      const pad = 'x'.repeat(1000);
      const row = (seq) => ({ seq, api_key: 'blt1', branch: 'main', module: 'entry', action: 'update', uid: 'e1', content_type_uid: 'post', locale: 'en-us', environment: null, actor: 'admin', actor_name: 'admin', changes: null, data: JSON.stringify({ pad, seq }), created_at: 5 });
      let seq = 1;
      const pass = (n) => {
        for (let i = 0; i < n; i++, seq++) {
          events.recorded(row(seq), 1, 1);
          if (seq > 8) events.known(seq - 8, 1);
        }
      };
      pass(100);
      globalThis.gc();
      const before = old();
      for (let k = 0; k < 50; k++) {
        pass(100);
        globalThis.gc({ type: 'minor' });
      }
      console.log(JSON.stringify({ perEvent: (old() - before) / 5000 }));
    `;
    const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', child], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const { perEvent } = JSON.parse(r.stdout.trim().split('\n').pop()!);
    assert.ok(perEvent < 500, `${perEvent.toFixed(0)} bytes reached the old generation per event claimed (each ~1.1 KB with its data)`);
  });

  it("holds a fan-out's event listed for every execution until all were claimed, behind a backlog and past the kept count", () => {
    const events = new DecodedEvents();
    const base = 9_400_000;
    events.decoded(eventRow({ n: 0 }, { seq: base }));
    // A backlog: the claims are 1,000 seqs behind. Three executions, all listed: held for them.
    events.recorded(eventRow({ fan: 'out' }, { seq: base + 1_000 }), 3, 3);
    // One listed of two (the other written pending): kept as before, i.e. not behind a backlog.
    // (One listed of one is held packed: see the next tests.)
    events.recorded(eventRow({ fan: 'part' }, { seq: base + 1_001 }), 2, 1);
    events.recorded(eventRow({ fan: 'one' }, { seq: base + 1_002 }), 1, 0);
    // 2,000 other events claimed and read meanwhile push every kept one out.
    for (let i = 1; i <= 2_000; i++) events.decoded(eventRow({ n: i }, { seq: base + 2_000 + i }));
    assert.equal(events.known(base + 1_001), undefined);
    assert.equal(events.known(base + 1_002), undefined);
    assert.ok(events.holds(base + 1_000));
    const a = events.known(base + 1_000, 2);
    assert.deepEqual(a?.data, { fan: 'out' });
    assert.equal(events.known(base + 1_000, 1), a, 'its last execution claimed from the same event');
    assert.equal(events.holds(base + 1_000), false, 'all three claimed: forgotten');
    // Released with the list (the dispatcher stopped): forgotten at once.
    events.recorded(eventRow({ fan: 'again' }, { seq: base + 5_000 }), 2, 2);
    events.release();
    assert.equal(events.known(base + 5_000), undefined);
  });

  it('holds a fan-out 1 event listed behind a backlog packed until its claim, which gets the event as recorded, text and all', () => {
    const events = new DecodedEvents();
    const base = 9_500_000;
    events.decoded(eventRow({ n: 0 }, { seq: base }));
    // Text in every UTF-8 length (é: 2 bytes, €: 3, 😀: 4 as a surrogate pair), an escaped lone
    // surrogate, and spacing JSON.stringify would not write: the body splices this text.
    const text = '{"entry": {"title": "é € 😀 \\ud800", "n": 1}}';
    const row = eventRow({}, { seq: base + 1_000, data: text, changes: JSON.stringify({ fields: ['title'] }), actor_name: 'Ann' });
    events.recorded(row, 1, 1);
    // Not listed (written pending: a scan claims it) or another fan-out: not held, as before.
    events.recorded(eventRow({ n: 2 }, { seq: base + 1_001 }), 1, 0);
    // Other events claimed meanwhile (read back) do not push it out.
    for (let i = 1; i <= 2_000; i++) events.decoded(eventRow({ n: i }, { seq: base + 2_000 + i }));
    assert.ok(events.holds(base + 1_000));
    assert.equal(events.known(base + 1_001), undefined, 'not listed: its claim reads it');
    const a = events.known(base + 1_000, 1)!;
    assert.ok(a instanceof ClaimedEvent);
    assert.equal(dataJson(a), text, 'the text as recorded, byte for byte');
    assert.deepEqual({ ...a, data: a.data }, eventFromRow(row), 'every field as recorded');
    assert.deepEqual(JSON.parse(JSON.stringify(a)), JSON.parse(JSON.stringify(eventFromRow(row))));
    assert.equal(events.holds(base + 1_000), false, 'its one execution claimed: forgotten');
    assert.equal(events.known(base + 1_000), undefined, 'a retry reads it back');
    assert.equal(row.data, text, "the caller's row is left as it was");
    // Released with the list (the dispatcher stopped): forgotten at once; claims after a restart read them.
    events.recorded(eventRow({ n: 3 }, { seq: base + 5_000 }), 1, 1);
    assert.ok(events.holds(base + 5_000));
    events.release();
    assert.equal(events.holds(base + 5_000), false);
    assert.equal(events.known(base + 5_000), undefined);
  });

  it('holds at most EVENTS_PACKED fan-out 1 events packed; past it their claims read them', () => {
    const events = new DecodedEvents();
    const base = 20_000_000;
    events.decoded(eventRow({ n: 0 }, { seq: base }));
    for (let i = 0; i <= EVENTS_PACKED; i++) events.recorded(eventRow({ i }, { seq: base + 1_000 + i }), 1, 1);
    assert.ok(events.holds(base + 1_000 + EVENTS_PACKED - 1));
    assert.equal(events.holds(base + 1_000 + EVENTS_PACKED), false, 'one past the bound: not held');
    assert.deepEqual(events.known(base + 1_000, 1)?.data, { i: 0 });
  });

  it('bounds the bytes of packed texts: a slab with one text not claimed counts whole; a text longer than a slab is read back', () => {
    const events = new DecodedEvents();
    const base = 30_000_000;
    events.decoded(eventRow({ n: 0 }, { seq: base }));
    // Texts of 20,000 units (up to 60,000 bytes): one a slab (64 KiB).
    const big = (i: number) => eventRow({}, { seq: base + 1_000 + i, data: JSON.stringify({ i, pad: 'x'.repeat(19_980) }) });
    const slabs = PACKED_BYTES / (64 * 1024);
    for (let i = 0; i < slabs; i++) events.recorded(big(i), 1, 1);
    assert.ok(events.holds(base + 1_000 + slabs - 1));
    events.recorded(big(slabs), 1, 1);
    assert.equal(events.holds(base + 1_000 + slabs), false, 'past PACKED_BYTES: not held');
    // Every one claimed but the first: its slab still counts, the others' are free.
    for (let i = 1; i < slabs; i++) assert.equal(JSON.parse(dataJson(events.known(base + 1_000 + i, 1)!)).i, i);
    events.recorded(big(slabs + 1), 1, 1);
    assert.ok(events.holds(base + 1_000 + slabs + 1), 'room again');
    assert.equal(JSON.parse(dataJson(events.known(base + 1_000, 1)!)).i, 0, 'the first, still held');
    // Longer than a slab may hold: its claim reads it.
    events.recorded(eventRow({}, { seq: base + 5_000, data: JSON.stringify({ pad: 'x'.repeat(30_000) }) }), 1, 1);
    assert.equal(events.holds(base + 5_000), false);
  });

  it("lets a packed event's claimed row and text die young, however long it was held", () => {
    // In a process of its own with the collector at hand: 2,000 fan-out 1 events (~1 KB of data
    // each) recorded behind a backlog and held packed through scavenges (in the old generation by
    // then, as in the bench's burst), then claimed with their text read, as a body is made. The
    // claim's row and text are new: given to the packed row (old), the text was kept through
    // scavenges by it and promoted, ~1.1 KB per event.
    const child = `
      import { getHeapSpaceStatistics } from 'node:v8';
      import { DecodedEvents } from './src/delivery/queue/decoded.ts';
      import { dataJson } from './src/events/record.ts';
      const old = () => getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_used_size;
      const events = new DecodedEvents();
      const pad = 'x'.repeat(1000);
      const row = (seq) => ({ seq, api_key: 'blt1', branch: 'main', module: 'entry', action: 'update', uid: 'e1', content_type_uid: 'post', locale: 'en-us', environment: null, actor: 'admin', actor_name: 'admin', changes: null, data: JSON.stringify({ pad, seq }), created_at: 5 });
      events.decoded(row(1));
      for (let seq = 1000; seq < 3000; seq++) events.recorded(row(seq), 1, 1);
      globalThis.gc({ type: 'minor' });
      globalThis.gc({ type: 'minor' });
      const before = old();
      let n = 0;
      for (let seq = 1000; seq < 3000; seq++) {
        n += dataJson(events.known(seq, 1)).length;
        if (seq % 100 === 0) globalThis.gc({ type: 'minor' });
      }
      globalThis.gc({ type: 'minor' });
      globalThis.gc({ type: 'minor' });
      console.log(JSON.stringify({ perEvent: (old() - before) / 2000, n }));
    `;
    const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', child], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const { perEvent, n } = JSON.parse(r.stdout.trim().split('\n').pop()!);
    assert.ok(n > 2_000_000, 'every text read');
    assert.ok(perEvent < 300, `${perEvent.toFixed(0)} bytes reached the old generation per packed event claimed (its text ~1.1 KB)`);
  });

  it('keeps a recorded event only while the claims are close enough behind to find it kept', () => {
    const events = new DecodedEvents();
    const base = 9_300_000;
    events.recorded(eventRow({ n: 0 }, { seq: base }), 1);
    assert.ok(events.known(base), 'before any claim: kept');
    // The claims are at `base`; an event recorded more than the kept count (512) later would be
    // pushed out before they reach it: not kept, its claim reads it.
    events.recorded(eventRow({ n: 1 }, { seq: base + 513 }), 1);
    assert.equal(events.known(base + 513), undefined);
    // Caught up (a claim asked for base + 600): kept again.
    events.decoded(eventRow({ n: 2 }, { seq: base + 600 }));
    events.recorded(eventRow({ n: 3 }, { seq: base + 601 }), 1);
    assert.deepEqual(events.known(base + 601)?.data, { n: 3 });
  });

  it("parses a claimed event's data only when read, and its body splices the row's text", () => {
    const events = new DecodedEvents();
    // Text JSON.stringify would not write (spaces, key order kept): proves the body is the row's text, unparsed.
    const row = eventRow({}, { seq: 9_100_000, data: '{"entry": {"title": "t", "b": 1}}' });
    const a = events.decoded(row);
    assert.equal(dataJson(a), '{"entry": {"title": "t", "b": 1}}', 'the stored text, not a re-serialisation');
    assert.deepEqual(a.data, { entry: { title: 't', b: 1 } });
    assert.equal(a.data, a.data, 'parsed once');
    assert.equal(dataJson(a), '{"entry": {"title": "t", "b": 1}}', 'still the text once parsed');
    assert.deepEqual(JSON.parse(JSON.stringify(a)).data, { entry: { title: 't', b: 1 } }, 'JSON carries data');
    assert.deepEqual(Object.keys(JSON.parse(JSON.stringify(a))), Object.keys(eventFromRow(row)), 'the fields of an event read from its row, in its order');
  });

  it('a debounced copy of a claimed event keeps its data and its text, and the shared one is unchanged', () => {
    const events = new DecodedEvents();
    const row = eventRow({ entry: { title: 'folded' } }, { seq: 9_200_000 });
    const shared = events.decoded(row) as ClaimedEvent;
    const copy = shared.withFoldedSeqs([1, 2]);
    assert.deepEqual(copy.folded_seqs, [1, 2]);
    assert.equal(shared.folded_seqs, undefined);
    assert.deepEqual(copy.data, { entry: { title: 'folded' } });
    assert.equal(dataJson(copy), row.data);
    assert.equal(copy.seq, shared.seq);
    // `data` set on an event: its body follows it, no longer the row's text.
    copy.data = { entry: { title: 'changed' } };
    assert.equal(dataJson(copy), '{"entry":{"title":"changed"}}');
    assert.equal(dataJson(copy.withFoldedSeqs([3])), '{"entry":{"title":"changed"}}', 'a copy of a changed one keeps the change');
    assert.equal(dataJson(shared), row.data, 'the shared event is untouched');
  });

  it("keeps a round's bodies only for events other claims may want: a fan-out's, and the round's last (dispatcher.ts)", () => {
    const round = (...seqs: number[]) => seqs.map((seq) => ({ event: { seq } }));
    assert.deepEqual([...sharedSeqs(round(1, 2, 3))].sort(), [3], 'fan-out 1: the last only');
    assert.deepEqual([...sharedSeqs(round(1, 1, 2, 2, 3))].sort(), [1, 2, 3]);
    assert.deepEqual([...sharedSeqs(round(4, 5, 4))].sort(), [4], 'several executions of one event, not side by side');
    assert.deepEqual([...sharedSeqs([])], []);
  });

  it("keeps the round's last body only while its event is kept: not once all its executions were claimed (dispatcher.ts)", () => {
    const events = new DecodedEvents();
    events.recorded(eventRow({ n: 1 }, { seq: 9_400_001 }), 1);
    events.recorded(eventRow({ n: 2 }, { seq: 9_400_002 }), 2);
    const round = (...seqs: number[]) => seqs.map((seq) => ({ event: { seq } }));
    events.known(9_400_001, 1);
    assert.deepEqual([...sharedSeqs(round(9_400_001), events)], [], 'its only execution claimed: no later claim wants its body');
    events.known(9_400_002, 1);
    assert.deepEqual([...sharedSeqs(round(9_400_002), events)], [9_400_002], 'one execution still to come');
  });

  for (const backend of backends) {
    it(`keeps of the events a claim read back only the newest, whose other executions may come next (${backend})`, async () => {
      const { db, drop } = await openStore(backend);
      try {
        await db.run("INSERT INTO stacks (api_key, name, doc, created_at, updated_at) VALUES ('stk', 's', '{}', 0, 0)");
        for (const w of ['W1', 'W2']) {
          await db.run("INSERT INTO webhooks (uid, api_key, doc, created_at, updated_at) VALUES (?, 'stk', ?, 0, 0)", [w, JSON.stringify({ uid: w, name: w })]);
        }
        // Three events, never kept as recorded (so the claim reads them): two with one execution,
        // the newest with two (a fan-out of two), of which the round takes the first only.
        const seqs: number[] = [];
        await db.tx(async (tx) => {
          for (let i = 0; i < 3; i++) {
            const ev = await tx.get<{ seq: number }>(
              "INSERT INTO events (api_key, branch, module, action, uid, content_type_uid, locale, actor, actor_name, data, created_at) VALUES ('stk', 'main', 'entry', 'update', ?, 'post', 'en-us', 'admin', 'admin', ?, 5) RETURNING seq",
              [`blt${i}`, JSON.stringify({ i })],
            );
            seqs.push(Number(ev!.seq));
          }
          const exec = (uid: string, webhook: string, i: number, due: number) =>
            tx.run(
              `INSERT INTO executions (uid, api_key, webhook_uid, event_seq, lane, channel, action, state, next_attempt_at, created_at, updated_at)
               VALUES (?, 'stk', ?, ?, ?, 'c', 'update', 'pending', ?, 0, 0)`,
              [uid, webhook, seqs[i], `entry:blt${i}`, due],
            );
          await exec('exe_a', 'W1', 0, 1);
          await exec('exe_b', 'W1', 1, 2);
          await exec('exe_c', 'W1', 2, 3);
          await exec('exe_d', 'W2', 2, 4);
        });
        const events = decodedEvents(db);
        const first = await claim(db, { now: 10_000, limit: 3, freeSlots: () => 10, leaseMs: 60_000 });
        assert.deepEqual(
          first.claimed.map((c) => [c.uid, c.event.data]),
          [
            ['exe_a', { i: 0 }],
            ['exe_b', { i: 1 }],
            ['exe_c', { i: 2 }],
          ],
        );
        assert.equal(events.known(seqs[0]), undefined, 'an event only this round wanted is not kept');
        assert.equal(events.known(seqs[1]), undefined);
        assert.ok(events.known(seqs[2]), 'the newest is kept');
        const next = await claim(db, { now: 10_000, limit: 3, freeSlots: () => 10, leaseMs: 60_000 });
        assert.deepEqual(
          next.claimed.map((c) => [c.uid, c.event.data]),
          [['exe_d', { i: 2 }]],
        );
        assert.equal(next.claimed[0].event, first.claimed[2].event, 'the next round found the event kept');
      } finally {
        await db.close();
        await drop();
      }
    });
  }

  it('claims every execution with its event when the events read push kept ones of the same round out (SQLite)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-decoded-'));
    const db = await openSqlite(join(dir, 'herald.db'));
    try {
      await db.run("INSERT INTO stacks (api_key, name, doc, created_at, updated_at) VALUES ('stk', 's', '{}', 0, 0)");
      await db.run("INSERT INTO webhooks (uid, api_key, doc, created_at, updated_at) VALUES ('W', 'stk', ?, 0, 0)", [JSON.stringify({ uid: 'W', name: 'W' })]);
      const kept = decodedEvents(db);
      // More events than are kept, recorded in order: the oldest are pushed out and read by the
      // claim, which keeps them and pushes out others of the same round.
      const n = 600;
      await db.tx(async (tx) => {
        for (let i = 0; i < n; i++) {
          const row = eventRow({ i }, { seq: 0, api_key: 'stk', uid: `blt${i}` });
          const ev = await tx.get<{ seq: number }>(
            "INSERT INTO events (api_key, branch, module, action, uid, content_type_uid, locale, actor, actor_name, data, created_at) VALUES ('stk', 'main', 'entry', 'update', ?, 'post', 'en-us', 'admin', 'admin', ?, 5) RETURNING seq",
            [row.uid, row.data],
          );
          row.seq = Number(ev!.seq);
          await tx.run(
            `INSERT INTO executions (uid, api_key, webhook_uid, event_seq, lane, channel, action, state, next_attempt_at, created_at, updated_at)
             VALUES (?, 'stk', 'W', ?, ?, 'c', 'update', 'pending', ?, 0, 0)`,
            [`exe_${String(i).padStart(6, '0')}`, row.seq, `entry:${row.uid}`, 1 + i],
          );
          tx.afterCommit(() => kept.recorded(row, 1));
        }
      });
      const { claimed } = await claim(db, { now: 10_000, limit: n, freeSlots: () => n, leaseMs: 60_000 });
      assert.equal(claimed.length, n, 'every leased execution claimed with its event, none left leased');
      for (const c of claimed) assert.deepEqual(c.event.data, { i: Number(c.uid.slice(4)) });
    } finally {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
