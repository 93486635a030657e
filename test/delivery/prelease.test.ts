/**
 * Executions leased by the INSERT that makes them (src/delivery/queue/prelease.ts): on SQLite while
 * this process's dispatcher runs, a plain delivery is written in_flight and sent from memory, with
 * no claim round for it; everything that is not plain, or finds no room, is written pending as
 * before. On PostgreSQL every execution is written pending, as before.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlite } from '../../src/store/sqlite.ts';
import { registerFormat } from '../../src/delivery/formats/index.ts';
import { Preleased, preleased, PRELEASE_CAP, PRELEASE_HOLD_MS, releaseStale, type Admitted, type Listed } from '../../src/delivery/queue/prelease.ts';
import { startHerald, removeDir, type TestHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { createWebhook, emit, emitTogether, executions, sleep, until } from '../helpers/engine.ts';

const ON_POSTGRES = process.env.HERALD_TEST_BACKEND === 'postgres';

/** The executions of `webhookUid` as the store holds them. */
async function rows(h: TestHerald, webhookUid: string) {
  return h.herald.db.all<{ uid: string; state: string; next_attempt_at: number | null; lease_until: number | null; attempts: number }>(
    'SELECT uid, state, next_attempt_at, lease_until, attempts FROM executions WHERE webhook_uid = ? ORDER BY uid',
    [webhookUid],
  );
}

describe('executions leased by the INSERT that makes them', () => {
  let h: TestHerald;
  before(async () => {
    h = await startHerald({ deliveryTimeoutMs: 2_000, leaseMarginMs: 1_000 });
  });
  after(async () => {
    await h.close();
    removeDir(h.dataDir);
  });

  it('writes a plain delivery in_flight under a lease by its INSERT (SQLite), pending on PostgreSQL, and sends it once', async () => {
    const rx = await startReceiver();
    const stack = await h.newStack();
    const hook = await createWebhook(h, stack, rx.url);
    const t0 = Date.now();
    // Read inside the event's own transaction: what its INSERT wrote, before any claim round.
    const written = await h.herald.db.tx(async (tx) => {
      await h.herald.events.record(tx, { api_key: stack.api_key, branch: 'main', module: 'entry', action: 'update', uid: 'bltPlain', actor: 'test', data: {} });
      return tx.get<{ state: string; next_attempt_at: number; lease_until: number | null }>('SELECT state, next_attempt_at, lease_until FROM executions WHERE webhook_uid = ?', [hook.uid]);
    });
    if (ON_POSTGRES) {
      assert.equal(written?.state, 'pending');
    } else {
      assert.equal(written?.state, 'in_flight');
      // Out of the due index while this process holds it (lease.ts LEASE_SQLITE).
      assert.equal(written?.next_attempt_at, null);
      // A claim's lease (timeout + margin) and the time it may wait in the list.
      assert.ok(written!.lease_until! >= t0 + 3_000 + PRELEASE_HOLD_MS);
    }
    await rx.waitFor(1, 5_000);
    await until(async () => (await rows(h, hook.uid))[0]?.state === 'succeeded', 5_000, 'the outcome recorded against the lease it was written with');
    await sleep(100);
    assert.equal(rx.received.length, 1);
    assert.equal(preleased(h.herald.db).size, 0);
    await rx.close();
  });

  it('never sends the executions of an event whose transaction rolled back', async () => {
    const rx = await startReceiver();
    const stack = await h.newStack();
    await createWebhook(h, stack, rx.url);
    await assert.rejects(
      h.herald.db.tx(async (tx) => {
        await h.herald.events.record(tx, { api_key: stack.api_key, branch: 'main', module: 'entry', action: 'update', uid: 'bltRolledBack', actor: 'test', data: {} });
        throw new Error('the change failed');
      }),
      /the change failed/,
    );
    // A later event is sent: had the rolled-back one been listed, it would have gone first.
    await emit(h, stack, { uid: 'bltAfter' });
    await rx.waitFor(1, 5_000);
    await sleep(200);
    assert.equal(rx.received.length, 1, 'only the committed event');
    assert.match(rx.received[0].body, /"seq":/);
    assert.doesNotMatch(rx.received[0].body, /bltRolledBack/);
    assert.equal(preleased(h.herald.db).size, 0);
    await rx.close();
  });

  it('writes pending what is not plain: debounce, batches and rate limits as before', async () => {
    const rx = await startReceiver();
    const stack = await h.newStack();
    const debounced = await createWebhook(h, stack, rx.url, { debounce_ms: 60_000 });
    const batched = await createWebhook(h, stack, rx.url, { batch: { max_events: 10, window_ms: 60_000 } });
    const paced = await createWebhook(h, stack, rx.url, { rate_limit: { max: 1, per: 'minute' } });
    // Read inside the event's transaction: what the INSERT wrote for each.
    const written = await h.herald.db.tx(async (tx) => {
      await h.herald.events.record(tx, { api_key: stack.api_key, branch: 'main', module: 'entry', action: 'update', uid: 'bltNotPlain', actor: 'test', data: {} });
      return tx.all<{ webhook_uid: string; state: string; lease_until: number | null }>('SELECT webhook_uid, state, lease_until FROM executions WHERE webhook_uid IN (?, ?, ?) ORDER BY webhook_uid', [
        debounced.uid,
        batched.uid,
        paced.uid,
      ]);
    });
    assert.equal(written.length, 3);
    for (const x of written) assert.deepEqual([x.state, x.lease_until], ['pending', null], x.webhook_uid);
    // The paced one gets its slot and is sent; the debounced and batched ones wait their windows.
    await rx.waitFor(1, 5_000);
    await sleep(200);
    assert.equal(rx.received.length, 1);
    assert.equal((await rows(h, debounced.uid))[0].state, 'pending');
    assert.equal((await rows(h, batched.uid))[0].state, 'pending');
    await rx.close();
  });

  it('writes the executions of an event matching many webhooks as it writes each one alone', async () => {
    const rx = await startReceiver();
    // Plain (twice), debounced, batching, rate-limited: five, so the event's rows go in one statement
    // that binds their shared columns once (enqueue.ts insertExecutions); alone, one row each.
    const kinds: Array<Record<string, unknown>> = [{}, {}, { debounce_ms: 60_000 }, { batch: { max_events: 10, window_ms: 60_000 } }, { rate_limit: { max: 1, per: 'minute' } }];
    type Row = Record<string, string | number | null>;
    // Two changes of one entry in one transaction: the second finds the lanes busy (queued; folded
    // into the first for the debounced webhook). Each row as comparable across stacks: times
    // relative to its last write (a fold writes later than the INSERT), its webhook by kind, its
    // event by order.
    const written = async (hookUids: string[], stack: { api_key: string }) =>
      h.herald.db.tx(async (tx) => {
        const seqs: number[] = [];
        for (const n of [1, 2]) seqs.push((await h.herald.events.record(tx, { api_key: stack.api_key, branch: 'main', module: 'entry', action: 'update', uid: 'bltMany', actor: 'test', data: { n } })).seq);
        const rows = await tx.all<Row>(`SELECT * FROM executions WHERE webhook_uid IN (${hookUids.map(() => '?').join(', ')})`, hookUids);
        const since = (r: Row, col: string) => (r[col] === null ? null : Number(r[col]) - Number(r.updated_at));
        return rows.map((r) => ({
          kind: hookUids.indexOf(String(r.webhook_uid)),
          event: seqs.indexOf(Number(r.event_seq)),
          stack: r.api_key === stack.api_key,
          folded: r.folded_seqs === null ? null : (JSON.parse(String(r.folded_seqs)) as number[]).map((s) => seqs.indexOf(s)),
          ...Object.fromEntries(['lane', 'channel', 'action', 'state', 'batch_uid', 'last_outcome', 'last_reason'].map((c) => [c, r[c]])),
          ...Object.fromEntries(['attempts', 'coalesced', 'paced', 'last_status_code'].map((c) => [c, r[c] === null ? null : Number(r[c])])),
          ...Object.fromEntries(['next_attempt_at', 'lease_until', 'first_attempt_at', 'ended_at'].map((c) => [c, since(r, c)])),
          written: r.updated_at === r.created_at || Number(r.coalesced) > 0,
        }));
      });
    const byKind = (a: { kind: number; event: number }, b: { kind: number; event: number }) => a.kind - b.kind || a.event - b.event;
    try {
      const many = await h.newStack();
      const manyHooks = [];
      for (const k of kinds) manyHooks.push((await createWebhook(h, many, rx.url, k)).uid);
      const together = (await written(manyHooks, many)).sort(byKind);
      const alone = [];
      for (const [i, k] of kinds.entries()) {
        const stack = await h.newStack();
        const uid = (await createWebhook(h, stack, rx.url, k)).uid;
        alone.push(...(await written([uid], stack)).map((r) => ({ ...r, kind: i })));
      }
      assert.equal(together.length, 9, 'five executions of the first change, four queued behind them (one folded)');
      assert.deepEqual(together, alone.sort(byKind));
      assert.deepEqual(
        together.map((r) => (r as Record<string, unknown>).state),
        [ON_POSTGRES ? 'pending' : 'in_flight', 'queued', ON_POSTGRES ? 'pending' : 'in_flight', 'queued', 'pending', 'pending', 'queued', 'pending', 'queued'],
      );
    } finally {
      await rx.close();
    }
  });

  it('lets a webhook without a free slot keep its listed executions while another webhook’s are sent', async () => {
    // /hang answers after the attempt's deadline (2 s): its one slot stays taken.
    const rx = await startReceiver(async (r) => {
      if (r.url === '/hang') await sleep(3_000);
    });
    const stack = await h.newStack();
    await createWebhook(h, stack, rx.url + '/hang');
    await createWebhook(h, stack, rx.url + '/ok');
    // Many events in one transaction: each webhook's executions are listed (or pending past the room)
    // together; /hang's wait for its slots, /ok's are sent at once.
    await emitTogether(
      h,
      stack,
      Array.from({ length: 30 }, (_, i) => ({ uid: `bltTogether${i}` })),
    );
    await until(() => rx.received.filter((r) => r.url === '/ok').length === 30, 5_000, 'every /ok delivery while /hang holds its slots');
    assert.ok(rx.received.some((r) => r.url === '/hang'));
    await rx.close();
  });
});

describe('executions of a slow receiver shown in_flight', () => {
  let h: TestHerald;
  before(async () => {
    h = await startHerald({ deliveryTimeoutMs: 10_000, leaseMarginMs: 1_000, maxInFlightPerWebhook: 2 });
  });
  after(async () => {
    await h.close();
    removeDir(h.dataDir);
  });

  it('lists only about a second’s worth of a slow receiver: the rest are pending until their attempts near', async () => {
    // Each answer takes 500 ms; at most 2 at once: about 2 + 2 x (1 s / 0.5 s) = 6 start within a second.
    // Bounds a little wider: the latency counts only this process's idle time, and the receiver
    // shares this process (it reads the receiver as a bit faster).
    const rx = await startReceiver(async () => void (await sleep(500)));
    try {
      const stack = await h.newStack();
      const hook = await createWebhook(h, stack, rx.url);
      // Counted from the store (the log's state is the row's): a poll of the log's page every 20 ms
      // is work of this process, which Herald's latency estimate does not count as the receiver's (it
      // counts only the loop's idle time), so on a busy machine such polls made the 500 ms receiver
      // read as 80-300 ms, and 13-27 were listed (load 6-18).
      const states = async () => {
        const n = await h.herald.db.get<{ in_flight: number; succeeded: number }>(
          `SELECT COALESCE(SUM(CASE WHEN state = 'in_flight' THEN 1 ELSE 0 END), 0) AS in_flight,
                  COALESCE(SUM(CASE WHEN state = 'succeeded' THEN 1 ELSE 0 END), 0) AS succeeded
             FROM executions WHERE webhook_uid = ?`,
          [hook.uid],
        );
        return { in_flight: Number(n!.in_flight), succeeded: Number(n!.succeeded) };
      };
      // One answer first: the receiver's pace is known.
      await emit(h, stack, { uid: 'bltPace' });
      await until(async () => (await states()).succeeded === 1, 5_000, 'the first answer');
      await emitTogether(
        h,
        stack,
        Array.from({ length: 40 }, (_, i) => ({ uid: `bltSlow${i}` })),
      );
      const count = (xs: any[], state: string) => xs.filter((x) => x.state === state).length;
      const first = await executions(h, stack, hook.uid);
      // Written leased (SQLite) or claimed: at most the expected second's worth; before, all 40 were
      // in_flight ("Sending…") for up to 30 s.
      assert.ok(count(first, 'in_flight') <= 10, `in_flight right after the commit: ${count(first, 'in_flight')}`);
      if (!ON_POSTGRES) assert.ok(count(first, 'in_flight') >= 3, `listed ahead on SQLite: ${count(first, 'in_flight')}`);
      assert.ok(count(first, 'pending') >= 30, `pending: ${count(first, 'pending')}`);
      // While they are sent, 2 at a time, what the log shows in_flight stays about to be sent.
      let most = 0;
      await until(
        async () => {
          const n = await states();
          most = Math.max(most, n.in_flight);
          return n.succeeded === 41;
        },
        20_000,
        'every delivery',
      );
      assert.ok(most <= 10, `most in_flight at once: ${most}`);
      assert.equal(count(await executions(h, stack, hook.uid), 'succeeded'), 41, 'the log shows every delivery succeeded');
      assert.equal(rx.received.length, 41);
    } finally {
      await rx.close();
    }
  });
});

describe('the list of executions leased at enqueue', () => {
  let h: TestHerald;
  before(async () => {
    // More global slots than the cap: the cap is what bounds the list here.
    h = await startHerald({ deliveryTimeoutMs: 2_000, leaseMarginMs: 1_000, maxInFlight: PRELEASE_CAP + 500 });
  });
  after(async () => {
    await h.close();
    removeDir(h.dataDir);
  });

  it(`admits at most ${PRELEASE_CAP} at once (SQLite), none on PostgreSQL; a transaction that never committed holds none`, async () => {
    const list = preleased(h.herald.db);
    const tx: Admitted = { listed: [], perWebhook: new Map() };
    let admitted = 0;
    // One webhook per execution: only the cap (and the dispatcher's global slots) bounds them.
    for (let i = 0; i < PRELEASE_CAP + 10; i++) {
      const lease = list.admit(tx, `hook${i}`, Date.now());
      if (lease === null) break;
      tx.listed.push({ uid: `x${i}`, webhook_uid: `hook${i}`, lane: 'l', event_seq: i, leaseUntil: lease });
      admitted++;
    }
    if (ON_POSTGRES) assert.equal(admitted, 0);
    else assert.equal(admitted, PRELEASE_CAP);
    // That transaction never committed (its rows never joined the list): another is admitted.
    const next = list.admit({ listed: [], perWebhook: new Map() }, 'hook0', Date.now());
    assert.equal(next === null, ON_POSTGRES);
  });

  it('hands out only executions with at least a claim’s lease left; a stale one is made due now while it carries its lease', { skip: ON_POSTGRES && 'SQLite only' }, async () => {
    const rx = await startReceiver();
    const stack = await h.newStack();
    const hook = await createWebhook(h, stack, rx.url);
    await emit(h, stack, { uid: 'bltStale' });
    await until(async () => (await rows(h, hook.uid))[0]?.state === 'succeeded', 5_000, 'sent');
    const [x] = await rows(h, hook.uid);
    const now = Date.now();
    // As if it had been listed and waited past PRELEASE_HOLD_MS: leased, its lease shorter than a claim's.
    const lease = now + 1_000;
    await h.herald.db.run("UPDATE executions SET state = 'in_flight', next_attempt_at = ?, lease_until = ?, ended_at = NULL WHERE uid = ?", [lease, lease, x.uid]);
    const stale = { uid: x.uid, webhook_uid: hook.uid, lane: 'l', event_seq: 0, leaseUntil: lease };
    assert.equal(await releaseStale(h.herald.db, [{ ...stale, leaseUntil: lease + 1 }], now), 0, 'not a lease it wrote: left alone');
    assert.equal(await releaseStale(h.herald.db, [stale], now), 1);
    const [after] = await rows(h, hook.uid);
    assert.equal(after.state, 'pending');
    assert.equal(after.next_attempt_at, now);
    assert.equal(after.lease_until, null);
    await rx.close();
  });
});

/**
 * Bodies rendered, by event seq, in the `x-counted` format: each render counted. Its body key
 * changes with `generation`, so a test's second pass renders anew rather than finding the first
 * pass's bodies kept.
 */
const renders = new Map<number, number>();
let generation = 0;
registerFormat({
  name: 'x-counted',
  prepare(_q, event) {
    const line = `${event.uid} #${event.seq}`;
    return {
      bodyKey: `g${generation}`,
      body: () => {
        renders.set(event.seq, (renders.get(event.seq) ?? 0) + 1);
        return line;
      },
      request: () => ({ method: 'POST', headers: { 'content-type': 'text/plain' }, chunked: false }),
      logged: { line },
    };
  },
  loggedBody: (_event, logged) => String(logged.line),
});

/** The executions of `webhookUid` as the list holds them, leased until `leaseUntil` (their rows made so too). */
async function relisted(h: TestHerald, webhookUid: string, leaseUntil: number): Promise<Listed[]> {
  await h.herald.db.run("UPDATE executions SET state = 'in_flight', next_attempt_at = ?, lease_until = ?, ended_at = NULL WHERE webhook_uid = ?", [leaseUntil, leaseUntil, webhookUid]);
  const xs = await h.herald.db.all<{ uid: string; lane: string; event_seq: number }>('SELECT uid, lane, event_seq FROM executions WHERE webhook_uid = ? ORDER BY event_seq', [webhookUid]);
  return xs.map((x) => ({ uid: x.uid, webhook_uid: webhookUid, lane: x.lane, event_seq: Number(x.event_seq), leaseUntil }));
}

describe('claim rounds that take listed executions', () => {
  let h: TestHerald;
  before(async () => {
    h = await startHerald({ deliveryTimeoutMs: 2_000, leaseMarginMs: 1_000 });
  });
  after(async () => {
    await h.close();
    removeDir(h.dataDir);
  });

  it('renders a fan-out’s body once when one round takes its executions from the list and from the scan', { skip: ON_POSTGRES && 'SQLite only' }, async () => {
    const rx = await startReceiver();
    try {
      const stack = await h.newStack();
      const listed = await createWebhook(h, stack, rx.url + '/listed', { format: 'x-counted' });
      const scanned = await createWebhook(h, stack, rx.url + '/scanned', { format: 'x-counted' });
      const [e1, e2] = await emitTogether(h, stack, [{ uid: 'bltFan1' }, { uid: 'bltFan2' }]);
      await rx.waitFor(4, 5_000);
      await until(async () => [...(await rows(h, listed.uid)), ...(await rows(h, scanned.uid))].every((x) => x.state === 'succeeded'), 5_000, 'the first pass recorded');
      // The two events again, for both webhooks in one round: one webhook's executions as the list
      // holds those leased by their INSERT, the other's due now in the store (as retries are).
      generation++;
      renders.clear();
      const now = Date.now();
      const entries = await relisted(h, listed.uid, now + 60_000);
      await h.herald.db.run("UPDATE executions SET state = 'pending', next_attempt_at = ?, lease_until = NULL, ended_at = NULL WHERE webhook_uid = ?", [now, scanned.uid]);
      // In one turn: the round that follows hands out the list and scans the due index.
      preleased(h.herald.db).add(entries, now);
      h.herald.delivery.wake();
      await rx.waitFor(8, 5_000);
      assert.deepEqual(
        [renders.get(e1.seq), renders.get(e2.seq)],
        [1, 1],
        'each event’s body rendered once for its two executions',
      );
    } finally {
      await rx.close();
    }
  });

  it('puts listed executions back when the round that took them fails, and sends them on its next try', { skip: ON_POSTGRES && 'SQLite only' }, async () => {
    const rx = await startReceiver();
    try {
      const stack = await h.newStack();
      const hook = await createWebhook(h, stack, rx.url);
      await emitTogether(h, stack, [{ uid: 'bltBack1' }, { uid: 'bltBack2' }]);
      await rx.waitFor(2, 5_000);
      await until(async () => (await rows(h, hook.uid)).every((x) => x.state === 'succeeded'), 5_000, 'the first pass recorded');
      const now = Date.now();
      // Listed again: the first as if it had waited past PRELEASE_HOLD_MS (made pending by a write
      // before anything is sent), the second with its lease ahead.
      const [first, fresh] = await relisted(h, hook.uid, now + 60_000);
      const stale = { ...first, leaseUntil: now + 1_000 };
      await h.herald.db.run('UPDATE executions SET next_attempt_at = ?, lease_until = ? WHERE uid = ?', [stale.leaseUntil, stale.leaseUntil, stale.uid]);
      // Another connection holds the store's write lock: that write fails (busy), and the round with it.
      const writer = (h.herald.db as unknown as { handle: Database.Database }).handle;
      writer.pragma('busy_timeout = 50');
      const other = new Database(join(h.dataDir, 'herald.db'));
      try {
        other.exec('BEGIN IMMEDIATE');
        preleased(h.herald.db).add([stale, fresh], now);
        await sleep(300);
        other.exec('ROLLBACK');
      } finally {
        other.close();
        writer.pragma('busy_timeout = 5000');
      }
      // The next round (a second later) takes both again: the stale one made pending and claimed, the
      // fresh one sent from the list. Dropped from memory, it would wait out its lease (60 s here).
      await rx.waitFor(4, 5_000);
      await until(async () => (await rows(h, hook.uid)).every((x) => x.state === 'succeeded' && x.lease_until === null), 5_000, 'both recorded again');
      assert.equal(preleased(h.herald.db).size, 0);
    } finally {
      await rx.close();
    }
  });
});

describe('executions leased at enqueue, at shutdown', () => {
  it('leaves none in_flight after a graceful stop: listed ones not started are made pending', { skip: ON_POSTGRES && 'SQLite only' }, async () => {
    // The first answer at once (the receiver's pace known: a fast one lists deep), the rest hang.
    let answered = 0;
    const rx = await startReceiver(async () => {
      if (answered++ > 0) await sleep(5_000);
    });
    const h = await startHerald({ deliveryTimeoutMs: 10_000, leaseMarginMs: 1_000, maxInFlightPerWebhook: 1, shutdownGraceMs: 100 });
    try {
      const stack = await h.newStack();
      const hook = await createWebhook(h, stack, rx.url);
      await emit(h, stack, { uid: 'bltFast' });
      await until(async () => (await rows(h, hook.uid))[0]?.state === 'succeeded', 5_000, 'the first answer');
      // Ten transactions sharing one SQLite commit (as the API's writes do): each finds the webhook's
      // one slot free, so all ten are listed; one is sent (and hangs), nine wait in the list.
      await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          h.herald.db.tx((tx) => h.herald.events.record(tx, { api_key: stack.api_key, branch: 'main', module: 'entry', action: 'update', uid: `bltStop${i}`, actor: 'test', data: {} }), {
            gather: true,
          }),
        ),
      );
      await rx.waitFor(2, 5_000);
      const inFlight = (await rows(h, hook.uid)).filter((x) => x.state === 'in_flight').length;
      assert.equal(inFlight, 10, 'one sent, nine leased but not started');
      assert.equal(preleased(h.herald.db).size, 9);
      await h.close();
      // Its dispatcher stopped: nothing more is written leased.
      assert.equal(preleased(h.herald.db).admit({ listed: [], perWebhook: new Map() }, hook.uid, Date.now()), null);
      const db = new Database(join(h.dataDir, 'herald.db'), { readonly: true });
      const states = db.prepare('SELECT state, COUNT(*) AS n FROM executions WHERE webhook_uid = ? GROUP BY state ORDER BY state').all(hook.uid) as Array<{ state: string; n: number }>;
      db.close();
      // The nine by the list's release, the one cut at the end of the grace period by the dispatcher's.
      assert.deepEqual(states, [
        { state: 'pending', n: 10 },
        { state: 'succeeded', n: 1 },
      ]);
    } finally {
      await h.close();
      removeDir(h.dataDir);
      await rx.close();
    }
  });
});

describe('the list hands out each listed execution once, in order', () => {
  /** An open list on a scratch SQLite store (its rows are never read here), leases of 1 s, at a fixed now. */
  async function withList(run: (list: Preleased, leaseMs: number, now: number) => void): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), 'herald-list-'));
    const db = await openSqlite(join(dir, 'herald.db'));
    try {
      const list = new Preleased(db);
      const leaseMs = 1_000;
      list.open({ leaseMs, room: () => true, wake: () => {} });
      run(list, leaseMs, 1_000_000);
    } finally {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('gives each webhook’s executions out oldest first, exactly once, through long lists, put-backs and stale heads', { skip: ON_POSTGRES && 'SQLite only' }, async () => {
    await withList((list, leaseMs, now) => {
      // 3,000 of A and 1,500 of B, listed in turns of 100; B's first 10 with a lease too short (stale).
      const entry = (w: string, i: number, leaseUntil = now + 60_000): Listed => ({ uid: `${w}${String(i).padStart(5, '0')}`, webhook_uid: w, lane: `l${i}`, event_seq: i, leaseUntil });
      for (let t = 0; t < 30; t++) {
        const batch: Listed[] = [];
        for (let i = t * 100; i < (t + 1) * 100; i++) batch.push(entry('A', i));
        if (t < 15) for (let i = t * 100; i < (t + 1) * 100; i++) batch.push(entry('B', i, t === 0 && i < 10 ? now + 10 : now + 60_000));
        list.add(batch, now);
      }
      assert.equal(list.size, 4_500);
      const got: Record<string, string[]> = { A: [], B: [] };
      const stale: string[] = [];
      let round = 0;
      while (list.size > 0) {
        round++;
        // A has 7 free slots, B 3 (B none every fifth round); pages of 9.
        const { fresh, stale: s } = list.take(9, (w) => (w === 'A' ? 7 : round % 5 === 0 ? 0 : 3), now, leaseMs);
        stale.push(...s.map((l) => l.uid));
        // From round 300 on (the first ones hand out past the point where a list drops its
        // handed-out front), every seventh round fails after taking: its entries go back to the
        // head of their lists.
        if (round >= 300 && round % 7 === 0) {
          list.putBack(fresh, now);
          continue;
        }
        for (const l of fresh) got[l.webhook_uid].push(l.uid);
        assert.equal(list.listed('A') + list.listed('B'), list.size);
        assert.ok(round < 5_000, 'the list empties');
      }
      assert.deepEqual(stale, Array.from({ length: 10 }, (_, i) => entry('B', i).uid), 'stale heads handed out once, as stale');
      assert.deepEqual(got.A, Array.from({ length: 3_000 }, (_, i) => entry('A', i).uid));
      assert.deepEqual(got.B, Array.from({ length: 1_490 }, (_, i) => entry('B', i + 10).uid));
    });
  });

  it('hands out the oldest event first across webhooks, a fan-out’s executions together, however far apart the webhooks’ heads are', { skip: ON_POSTGRES && 'SQLite only' }, async () => {
    await withList((list, leaseMs, now) => {
      // 100 events, each listed for webhooks A, B and C (a fan-out of three), as recording lists them.
      for (let seq = 0; seq < 100; seq++) {
        list.add(['A', 'B', 'C'].map((w) => ({ uid: `${w}${seq}`, webhook_uid: w, lane: `l${seq}`, event_seq: seq, leaseUntil: now + 60_000 })), now);
      }
      // Rounds where the webhooks had different free slots: A handed out 5, B 2, C none.
      const first = list.take(64, (w) => (w === 'A' ? 5 : w === 'B' ? 2 : 0), now, leaseMs);
      assert.deepEqual(first.fresh.map((l) => l.uid).sort(), ['A0', 'A1', 'A2', 'A3', 'A4', 'B0', 'B1'].sort());
      // Now each may hand out 9, in a page of 27: the oldest events first, each event's
      // executions one after another (in the webhooks' order), within each webhook's free slots.
      const { fresh } = list.take(27, () => 9, now, leaseMs);
      assert.deepEqual(
        fresh.map((l) => l.uid),
        ['C0', 'C1', 'B2', 'C2', 'B3', 'C3', 'B4', 'C4', 'A5', 'B5', 'C5', 'A6', 'B6', 'C6', 'A7', 'B7', 'C7', 'A8', 'B8', 'C8', 'A9', 'B9', 'A10', 'B10', 'A11', 'A12', 'A13'],
      );
      // What is left follows on, each webhook from where it stopped.
      const rest: string[] = [];
      while (list.size > 0) rest.push(...list.take(64, () => 64, now, leaseMs).fresh.map((l) => l.uid));
      const seqs = rest.map((uid) => Number(uid.slice(1)));
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'oldest event first');
      assert.equal(rest.length, 300 - 7 - 27);
    });
  });
});

describe('fan-out 1 events recorded behind a backlog (queue/decoded.ts, packed)', () => {
  let h: TestHerald;
  before(async () => {
    // A long timeout: 1,500 attempts to a receiver in this process, on a machine that may be busy.
    h = await startHerald({ deliveryTimeoutMs: 30_000, leaseMarginMs: 1_000 });
  });
  after(async () => {
    await h.close();
    removeDir(h.dataDir);
  });

  it('delivers each listed one with the data it was recorded with, without reading it back from the store', async () => {
    const rx = await startReceiver();
    const db = h.herald.db;
    const committedValues = db.committedValues;
    try {
      const stack = await h.newStack();
      const hook = await createWebhook(h, stack, rx.url);
      // A claim first: the events below are counted behind it (decoded.ts keeps what is near it).
      await emit(h, stack, { uid: 'bltBefore' });
      await rx.waitFor(1, 5_000);
      // The event rows claims read (lease.ts claimedRows, through committedValues on SQLite).
      let read = 0;
      if (committedValues) {
        db.committedValues = function <T extends unknown[]>(this: typeof db, sql: string, params?: unknown[]) {
          if (/FROM events WHERE seq IN/.test(sql)) read += params?.length ?? 0;
          return committedValues.call(this, sql, params) as Promise<T[]>;
        };
      }
      // One transaction of 1,500: past the first 512 after the claims' last seq, each is recorded
      // behind a backlog. Text of every UTF-8 length.
      const n = 1_500;
      const text = 'é € 😀 \ud83d\ude00';
      const listed = await db.tx(async (tx) => {
        for (let i = 0; i < n; i++) await h.herald.events.record(tx, { api_key: stack.api_key, branch: 'main', module: 'entry', action: 'update', uid: `bltPacked${i}`, actor: 'test', data: { i, text } });
        const r = await tx.get<{ n: number }>("SELECT COUNT(*) AS n FROM executions WHERE webhook_uid = ? AND state = 'in_flight' AND lane LIKE 'entry:bltPacked%'", [hook.uid]);
        return Number(r!.n);
      });
      await until(() => new Set(rx.received.slice(1).map((r) => r.json.data.i)).size === n, 30_000, 'every event delivered');
      const got = rx.received.slice(1).map((r) => r.json.data);
      // At least once: an attempt that outlived deliveryTimeoutMs on a loaded machine is sent again.
      assert.deepEqual(
        [...new Set(got.map((d) => d.i))].sort((a, b) => a - b),
        Array.from({ length: n }, (_, i) => i),
        'each event',
      );
      for (const d of got) assert.equal(d.text, text);
      if (!ON_POSTGRES) {
        // Listed ones (SQLite) are claimed from memory; only what was written pending (no room in
        // the list) is read back.
        assert.ok(listed > 600, `${listed} listed`);
        assert.ok(read <= n - listed, `${read} event rows read back for ${listed} listed of ${n}`);
      }
    } finally {
      db.committedValues = committedValues;
      await rx.close();
    }
  });
});
