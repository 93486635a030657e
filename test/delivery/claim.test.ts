/**
 * Claiming due work (src/delivery/queue/claim.ts), on a real store of each backend: oldest
 * first within each webhook's free slots, how deep a scan looks past a saturated webhook, no
 * execution claimed twice when claims run at once (several workers on one PostgreSQL), and an
 * outcome that arrives after its claim ended not undoing the claim that took over.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { choose, claim, complete, enqueue, expireClaims, resendFailed, retryNow, SCAN_WINDOW, type ClaimOptions, type Claimed, type Finished } from '../../src/delivery/queue/index.ts';
import { laneKey } from '../../src/delivery/queue/lanes.ts';
import type { HeraldEvent } from '../../src/events/event.ts';
import type { Webhook } from '../../src/webhooks/webhook.ts';
import type { Db } from '../../src/store/db.ts';
import { openPostgres } from '../../src/store/postgres.ts';
import { openSqlite } from '../../src/store/sqlite.ts';
import { freshSchema, testBackends } from '../helpers/postgres.ts';

// Asked before any test is registered: test/run.ts passes --test-force-exit, which ends a file once
// the tests registered so far have ended, so tests registered after a top-level await can be dropped.
const backends = await testBackends();

const LEASE_MS = 60_000;
const T0 = 1_700_000_000_000;

describe('choosing candidates', () => {
  it('takes them in due order, at most each webhook’s free slots and the limit in all', () => {
    const c = (uid: string, webhook_uid: string) => ({ uid, webhook_uid });
    const candidates = [c('a1', 'A'), c('a2', 'A'), c('b1', 'B'), c('a3', 'A'), c('b2', 'B'), c('c1', 'C')];
    const slots: Record<string, number> = { A: 2, B: 1, C: 5 };
    assert.deepEqual(choose(candidates, 10, (w) => slots[w]), { chosen: ['a1', 'a2', 'b1', 'c1'], capped: 2 });
    assert.deepEqual(choose(candidates, 2, (w) => slots[w]), { chosen: ['a1', 'a2'], capped: 0 });
    assert.deepEqual(choose(candidates, 10, () => 0), { chosen: [], capped: 6 });
  });
});

for (const backend of backends) {
  describe(`claiming on ${backend}`, () => {
    let db: Db;
    let drop: () => Promise<void>;
    let seq = 0;
    before(async () => {
      if (backend === 'sqlite') {
        const dir = mkdtempSync(join(tmpdir(), 'herald-claim-'));
        db = await openSqlite(join(dir, 'herald.db'));
        drop = async () => rmSync(dir, { recursive: true, force: true });
      } else {
        const schema = await freshSchema();
        db = await openPostgres(schema.url, { poolSize: 6 });
        drop = schema.drop;
      }
      await db.run("INSERT INTO stacks (api_key, name, doc, created_at, updated_at) VALUES ('stk', 'claims', '{}', 0, 0)");
      for (const w of ['A', 'B']) {
        await db.run("INSERT INTO webhooks (uid, api_key, doc, created_at, updated_at) VALUES (?, 'stk', ?, 0, 0)", [w, JSON.stringify({ uid: w, name: w })]);
      }
    });
    after(async () => {
      await db.close();
      await drop();
    });
    beforeEach(() => db.tx(async (tx) => void (await tx.run('DELETE FROM executions'))));

    /** `n` due executions of `webhook`, each its own event and lane, due from `dueAt` on, 1 ms apart. */
    async function due(webhook: string, n: number, dueAt: number): Promise<string[]> {
      const uids: string[] = [];
      await db.tx(async (tx) => {
        for (let i = 0; i < n; i++) {
          const s = ++seq;
          const ev = await tx.get<{ seq: number }>(
            "INSERT INTO events (api_key, branch, module, action, uid, actor, data, created_at) VALUES ('stk', 'main', 'entry', 'update', ?, 'test', '{}', 0) RETURNING seq",
            [`blt${s}`],
          );
          const uid = `exe_${webhook}_${String(s).padStart(6, '0')}`;
          await tx.run(
            `INSERT INTO executions (uid, api_key, webhook_uid, event_seq, lane, channel, action, state, next_attempt_at, created_at, updated_at)
             VALUES (?, 'stk', ?, ?, ?, 'content_types.entries.update', 'update', 'pending', ?, 0, 0)`,
            [uid, webhook, ev!.seq, `entry:blt${s}`, dueAt + i],
          );
          uids.push(uid);
        }
      });
      return uids;
    }

    const opts = (o: Partial<ClaimOptions> = {}): ClaimOptions => ({ now: T0 + 10_000_000, limit: 100, freeSlots: () => 100, leaseMs: LEASE_MS, ...o });

    it('claims due executions oldest first, within each webhook’s free slots, and leases them', async () => {
      const a = await due('A', 5, T0);
      const b = await due('B', 3, T0 + 2);
      await due('B', 1, T0 + 20_000_000); // not due yet
      const now = T0 + 10_000_000;
      const r = await claim(db, opts({ now, limit: 10, freeSlots: (w) => (w === 'A' ? 2 : 10) }));
      assert.deepEqual(r.claimed.map((c) => c.uid), [a[0], a[1], b[0], b[1], b[2]]);
      assert.equal(r.capped, 3);
      assert.equal(r.lost, 0);
      assert.equal(r.claimed[0].event.action, 'update');
      assert.equal(r.claimed[0].webhook.uid, 'A');
      const leased = await db.all<{ state: string; next_attempt_at: number; lease_until: number }>(
        `SELECT state, next_attempt_at, lease_until FROM executions WHERE uid IN (${r.claimed.map(() => '?').join(', ')})`,
        r.claimed.map((c) => c.uid),
      );
      // PostgreSQL: due again at the lease end (a dead worker's claims are taken over then); SQLite:
      // out of the due index while this process holds them (lease.ts LEASE_SQLITE).
      const dueAgainAt = backend === 'postgres' ? now + LEASE_MS : null;
      assert.ok(leased.every((x) => x.state === 'in_flight' && (x.next_attempt_at === null ? null : Number(x.next_attempt_at)) === dueAgainAt && Number(x.lease_until) === now + LEASE_MS));
      // Claimed ones are not due again until their lease ends.
      const again = await claim(db, opts({ now }));
      assert.deepEqual(again.claimed.map((c) => c.uid), [a[2], a[3], a[4]]);
      if (backend === 'sqlite') {
        // Held: not due even past the lease, until their holder gives up on their outcomes.
        assert.equal((await claim(db, opts({ now: now + LEASE_MS }))).claimed.length, 0, 'held claims are not taken over');
        assert.equal(await expireClaims(db, [...r.claimed, ...again.claimed].map((c) => c.uid)), 8);
        assert.equal((await claim(db, opts({ now: now + LEASE_MS - 1 }))).claimed.length, 0, 'given up: due at the lease end, not before');
      }
      const expired = await claim(db, opts({ now: now + LEASE_MS }));
      assert.equal(expired.claimed.length, 8, 'every lease ended: all are due again');
    });

    it('claims each execution with its webhook as its row reads now, whoever wrote it since the last claim', async () => {
      await db.run("INSERT INTO webhooks (uid, api_key, doc, created_at, updated_at) VALUES ('C', 'stk', ?, 0, 0)", [JSON.stringify({ uid: 'C', name: 'first' })]);
      const c = await due('C', 4, T0);
      const now = T0 + 10_000_000;
      const one = async () => (await claim(db, opts({ now, limit: 1 }))).claimed;
      assert.equal((await one())[0].webhook.name, 'first');
      // Written straight to the store (not through Herald's webhook API), as another writer would:
      // the next claim sees it (SQLite reuses the rows a claim read until a webhook is written).
      await db.run("UPDATE webhooks SET doc = ? WHERE uid = 'C'", [JSON.stringify({ uid: 'C', name: 'second' })]);
      const second = await one();
      assert.deepEqual([second[0].uid, second[0].webhook.name], [c[1], 'second']);
      await db.run("UPDATE webhooks SET disabled = 1 WHERE uid = 'C'");
      assert.deepEqual((await one()).map((x) => x.uid), [], 'disabled: parked, not claimed');
      await db.run("UPDATE webhooks SET disabled = 0 WHERE uid = 'C'");
      await db.run("DELETE FROM webhooks WHERE uid = 'C'");
      assert.deepEqual((await one()).map((x) => x.uid), [], 'deleted: failed, not claimed');
      const states = await db.all<{ uid: string; state: string }>("SELECT uid, state FROM executions WHERE webhook_uid = 'C' ORDER BY uid");
      assert.deepEqual(
        states.map((x) => [x.uid, x.state]),
        [
          [c[0], 'in_flight'],
          [c[1], 'in_flight'],
          [c[2], 'pending'],
          [c[3], 'failed'],
        ],
      );
    });

    it('looks past a saturated webhook’s due backlog only SCAN_WINDOW deep, unless asked to go deep', async () => {
      await due('A', SCAN_WINDOW + 10, T0);
      const [behind] = await due('B', 1, T0 + SCAN_WINDOW + 100);
      const shallow = await claim(db, opts({ saturated: ['A'] }));
      assert.deepEqual(shallow.claimed, []);
      const deep = await claim(db, opts({ saturated: ['A'], deep: true }));
      assert.deepEqual(deep.claimed.map((c) => c.uid), [behind]);
      // Work within the window is found without going deep.
      const [near] = await due('B', 1, T0 + 5);
      const windowed = await claim(db, opts({ saturated: ['A'] }));
      assert.deepEqual(windowed.claimed.map((c) => c.uid), [near]);
    });

    it('says when more due work may follow the scan', async () => {
      await due('A', 40, T0);
      const few = await claim(db, opts({ limit: 4 })); // reads limit + 32 candidates: 36 of 40
      assert.equal(few.more, true);
      const rest = await claim(db, opts({ limit: 100 }));
      assert.equal(rest.claimed.length, 36);
      assert.equal(rest.more, false);
    });

    it('never claims one execution twice when claims run at once', async () => {
      const all = await due('A', 300, T0);
      const got: string[] = [];
      let lost = 0;
      // Eight claimers at once, until nothing is due (several workers on one database).
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          for (;;) {
            const r = await claim(db, opts({ limit: 25 }));
            got.push(...r.claimed.map((c) => c.uid));
            lost += r.lost;
            if (r.claimed.length === 0 && r.lost === 0) return;
          }
        }),
      );
      assert.equal(new Set(got).size, got.length, 'no execution claimed twice');
      assert.deepEqual([...got].sort(), all);
      if (backend === 'sqlite') assert.equal(lost, 0, 'one process, one writer: nothing to lose');
    });

    const succeeded = (claimed: Claimed, at: number): Finished => ({
      claimed,
      record: { outcome: 'success', status_code: 200, retry_after_ms: null, reason: null, response: null, started_at: at, duration_ms: 3 },
      request: { method: 'POST' },
    });
    const completeOpts = (now: number) => ({ now, retryDelaysMs: [1_000], breakerThreshold: 5, autoSaveWindowMs: 1_000 });
    const stateOf = (uid: string) => db.get<{ state: string; lease_until: number | null }>('SELECT state, lease_until FROM executions WHERE uid = ?', [uid]);
    const attemptRows = async (uid: string) => (await db.all('SELECT uid FROM attempts WHERE execution_uid = ?', [uid])).length;

    it('records a late outcome without undoing the claim that took the execution over', async () => {
      const [uid] = await due('A', 1, T0);
      const now = T0 + 10_000_000;
      const [first] = (await claim(db, opts({ now }))).claimed;
      // The first worker stalls past its lease; another claims the execution. (SQLite: one process
      // holds every lease, so a claim is taken over only once its holder gave up on its outcome.)
      if (backend === 'sqlite') await expireClaims(db, [uid]);
      const [second] = (await claim(db, opts({ now: now + LEASE_MS }))).claimed;
      assert.equal(second.uid, uid);
      assert.notEqual(second.leaseUntil, first.leaseUntil);

      const lateAttempt = succeeded(first, now + 5);
      const late = await complete(db, [lateAttempt], completeOpts(now + LEASE_MS + 10));
      assert.deepEqual(late.stale, [uid]);
      assert.equal(lateAttempt.ended, null, 'a stale outcome ends nothing');
      assert.deepEqual(await stateOf(uid), { state: 'in_flight', lease_until: second.leaseUntil }, 'still the second claim’s');
      assert.equal(await attemptRows(uid), 1, 'the late attempt is logged');

      const doneAttempt = succeeded(second, now + LEASE_MS + 20);
      const done = await complete(db, [doneAttempt], completeOpts(now + LEASE_MS + 30));
      assert.deepEqual(done.stale, []);
      assert.equal(doneAttempt.ended, 'succeeded');
      assert.equal((await stateOf(uid))!.state, 'succeeded');
      assert.equal(await attemptRows(uid), 2);
    });

    /** Records a change of entity `entry:<entity>` and fans it out to webhook A (enqueue.ts); its execution's state. */
    async function change(entity: string, now: number): Promise<{ uid: string; state: string }> {
      return db.tx(async (tx) => {
        const row = await tx.get<{ seq: number }>(
          "INSERT INTO events (api_key, branch, module, action, uid, actor, data, created_at) VALUES ('stk', 'main', 'entry', 'update', ?, 'test', '{}', ?) RETURNING seq",
          [entity, now],
        );
        const event = { seq: Number(row!.seq), api_key: 'stk', branch: 'main', module: 'entry', action: 'update', uid: entity, data: {}, created_at: now } as unknown as HeraldEvent;
        const webhook = { uid: 'A', api_key: 'stk', name: 'A' } as unknown as Webhook;
        await enqueue(tx, event, [{ webhook }] as never, 'content_types.entries.update', { now, autoSaveWindowMs: 1_000 });
        return (await tx.get<{ uid: string; state: string }>('SELECT uid, state FROM executions WHERE event_seq = ?', [event.seq]))!;
      });
    }

    it('keeps a lane in order after its ended execution is retried by hand or replayed: the next change queues behind it', async () => {
      const now = T0 + 10_000_000;
      const first = await change('e-retried', now);
      assert.equal(first.state, 'pending');
      const [c] = (await claim(db, opts({ now }))).claimed;
      await complete(db, [succeeded(c, now + 1)], completeOpts(now + 2));
      assert.equal((await stateOf(first.uid))!.state, 'succeeded');
      assert.equal((await change('e-retried', now + 3)).state, 'pending', 'an ended execution holds nothing up');
      // The second change is delivered; then the first is retried by hand.
      const [c2] = (await claim(db, opts({ now: now + 4 }))).claimed;
      await complete(db, [succeeded(c2, now + 5)], completeOpts(now + 6));
      assert.equal(await retryNow(db, 'A', first.uid, now + 7), 'retrying');
      assert.equal((await change('e-retried', now + 8)).state, 'queued', 'behind the retried one, in its lane');

      // Failed for good, then replayed (resend.ts): its lane is busy again.
      const failed = await change('e-replayed', now + 10);
      const [f] = (await claim(db, opts({ now: now + 10 }))).claimed.filter((x) => x.uid === failed.uid);
      const refused: Finished = { ...succeeded(f, now + 11), record: { ...succeeded(f, now + 11).record, outcome: 'http_error', status_code: 500, reason: 'HTTP 500' } };
      await complete(db, [refused], { ...completeOpts(now + 12), retryDelaysMs: [] });
      assert.equal((await stateOf(failed.uid))!.state, 'failed');
      assert.deepEqual(await db.tx((tx) => resendFailed(tx, 'A', [{ uid: failed.uid, webhook_uid: 'A', lane: 'entry:e-replayed' }], now + 13)), [failed.uid]);
      assert.equal((await change('e-replayed', now + 14)).state, 'queued');
    });

    it('records a group commit of any size (SQLite writes it in parts of 32, 4 and 1): each attempt once, each execution moved on, a stale one left', async () => {
      const uids = await due('A', 37, T0);
      const now = T0 + 10_000_000;
      const claimed = (await claim(db, opts({ now }))).claimed;
      assert.deepEqual(claimed.map((c) => c.uid), uids);
      const finished = claimed.map((c) => succeeded(c, now + 5));
      // One was written alone first: in the batch its claim has ended already.
      await complete(db, [finished[20]], completeOpts(now + 6));
      const r = await complete(db, finished, completeOpts(now + 10));
      assert.deepEqual(r.stale, [uids[20]]);
      assert.deepEqual(
        finished.filter((f) => f.ended === 'succeeded').map((f) => f.claimed.uid).sort(),
        uids.filter((_, i) => i !== 20).sort(),
      );
      assert.equal(finished[20].ended, null, 'the stale one ends nothing');
      for (const uid of uids) {
        assert.equal(await attemptRows(uid), 1, uid);
        assert.equal((await stateOf(uid))!.state, 'succeeded', uid);
      }
    });

    it('writes a successful attempt and its execution the same whether its flush held only successes or a failure too', async () => {
      await due('A', 4, T0);
      const now = T0 + 10_000_000;
      const [ok1, ok2, ok3, bad] = (await claim(db, opts({ now }))).claimed;
      // Two flushes of two at the same times: successes only (SQLite writes them with the
      // success-only statements, complete.ts moveSucceeded), then a success beside a failure.
      await complete(db, [succeeded(ok1, now + 5), succeeded(ok2, now + 5)], completeOpts(now + 10));
      const refused: Finished = { ...succeeded(bad, now + 5), record: { ...succeeded(bad, now + 5).record, outcome: 'http_error', status_code: 500, reason: 'HTTP 500' } };
      await complete(db, [succeeded(ok3, now + 5), refused], completeOpts(now + 10));
      // Each row but its own ids.
      const written = async (uid: string) => {
        const { uid: _u, event_seq: _s, lane: _l, ...execution } = (await db.get<Record<string, unknown>>('SELECT * FROM executions WHERE uid = ?', [uid]))!;
        const { uid: _a, execution_uid: _e, ...attempt } = (await db.get<Record<string, unknown>>('SELECT * FROM attempts WHERE execution_uid = ?', [uid]))!;
        return { execution, attempt };
      };
      const alone = await written(ok1.uid);
      assert.deepEqual(alone, await written(ok3.uid));
      const { execution: x, attempt: a } = alone;
      assert.deepEqual(
        [x.state, Number(x.attempts), x.next_attempt_at, x.lease_until, Number(x.first_attempt_at), Number(x.last_status_code), x.last_outcome, x.last_reason, Number(x.updated_at), Number(x.ended_at)],
        ['succeeded', 1, null, null, now, 200, 'success', null, now + 10, now + 10],
      );
      assert.deepEqual([a.outcome, Number(a.status_code), a.reason, Number(a.n), Number(a.started_at), Number(a.duration_ms), JSON.parse(String(a.request)), a.response], ['success', 200, null, 1, now + 5, 3, { method: 'POST' }, null]);
      assert.equal((await stateOf(bad.uid))!.state, 'pending', 'the failure is retried');
    });

    it('writes a batch again without a second attempt row (a commit whose answer was lost)', async () => {
      const [uid] = await due('A', 1, T0);
      const now = T0 + 10_000_000;
      const [c] = (await claim(db, opts({ now }))).claimed;
      const f = succeeded(c, now + 5);
      await complete(db, [f], completeOpts(now + 10));
      assert.equal(f.ended, 'succeeded');
      const again = await complete(db, [f], completeOpts(now + 20));
      assert.deepEqual(again.stale, [uid], 'the claim ended with the first write');
      assert.equal(await attemptRows(uid), 1);
      assert.equal((await stateOf(uid))!.state, 'succeeded');
    });

    it('counts a webhook’s failures from its last success, however many flushes succeeded before (SQLite skips the reset it knows changes nothing)', async () => {
      const failures = async () => Number((await db.get<{ n: number }>("SELECT consecutive_failures AS n FROM webhooks WHERE uid = 'B'"))!.n);
      // Webhook statements each flush ran (UPDATE webhooks ...), seen through the real store.
      let webhookWrites = 0;
      const seen: Db = Object.create(db, {
        tx: {
          value: <T>(fn: (tx: Parameters<Parameters<Db['tx']>[0]>[0]) => Promise<T>) =>
            // The real transaction underneath (Object.create, not a spread: SQLite's is a class whose
            // methods a spread would leave behind), its run and get counted.
            db.tx((tx) =>
              fn(
                Object.create(tx, {
                  run: {
                    value: (sql: string, params?: unknown[]) => {
                      if (/^UPDATE webhooks/.test(sql.trim())) webhookWrites++;
                      return tx.run(sql, params);
                    },
                  },
                  get: {
                    value: (sql: string, params?: unknown[]) => {
                      if (/^UPDATE webhooks/.test(sql.trim())) webhookWrites++;
                      return tx.get(sql, params);
                    },
                  },
                }),
              ),
            ),
        },
      });
      let now = T0 + 20_000_000;
      /** One execution of B claimed and recorded alone (one flush), succeeded or failed for good. */
      const flush = async (ok: boolean) => {
        await due('B', 1, now);
        now += 100;
        const [c] = (await claim(db, opts({ now }))).claimed;
        const f = succeeded(c, now + 1);
        const finished: Finished = ok ? f : { ...f, record: { ...f.record, outcome: 'http_error', status_code: 500, reason: 'HTTP 500' } };
        const before = webhookWrites;
        await complete(seen, [finished], { ...completeOpts(now + 2), retryDelaysMs: [] });
        return webhookWrites - before;
      };
      await flush(true);
      await flush(true);
      assert.equal(await failures(), 0);
      // Known 0 on SQLite after a reset committed: no statement. PostgreSQL resets per webhook, always.
      assert.equal(await flush(true), backend === 'sqlite' ? 0 : 1, 'a success while the count is 0');
      for (let i = 1; i <= 4; i++) {
        assert.equal(await flush(false), 1, 'each failure is counted');
        assert.equal(await failures(), i);
      }
      assert.equal(await flush(true), 1, 'the success after failures resets');
      assert.equal(await failures(), 0);
      // Threshold 5: four more failures leave it enabled (a skipped reset would have tripped it).
      for (let i = 1; i <= 4; i++) await flush(false);
      assert.equal(await failures(), 4);
      assert.equal(Number((await db.get<{ d: number }>("SELECT disabled AS d FROM webhooks WHERE uid = 'B'"))!.d), 0);
      await flush(true);
      assert.equal(await failures(), 0);
    });

    // Scale-out only: SQLite runs one transaction at a time and takes no locks of its own.
    if (backend === 'postgres') {
      it('records a batch while a transaction recording events holds one of its lanes and then locks another (no deadlock)', async () => {
        // A bulk job records events item after item, locking each item's lanes as it goes; a batch
        // of outcomes locks its lanes in one call, in hashtext order. The job holds the lane that
        // call takes last, and then wants the one it takes first: a batch that waited holding the
        // first deadlocked with it, and PostgreSQL aborted one of the two (CI: the job got a 503).
        await due('A', 2, T0);
        const now = T0 + 10_000_000;
        const { claimed } = await claim(db, opts({ now }));
        assert.equal(claimed.length, 2);
        const keys = claimed.map((c) => laneKey(c.webhook_uid, c.lane));
        const byHash = (await db.all<{ k: string }>('SELECT k FROM unnest(?::text[]) AS k ORDER BY hashtext(k)', [keys])).map((r) => r.k);
        let release!: () => void;
        const gate = new Promise<void>((r) => (release = r));
        let holding!: () => void;
        const held = new Promise<void>((r) => (holding = r));
        const job = db.tx(async (tx) => {
          await tx.lock!(['events:stk']);
          await tx.lock!([byHash[1]]);
          holding();
          await gate;
          await tx.lock!([byHash[0]]);
          return 'committed';
        });
        await held;
        const finished = claimed.map((c) => succeeded(c, now + 5));
        const batch = complete(db, finished, completeOpts(now + 10));
        // The batch is waiting for a lock (the job's lane before, the stack's event lock now).
        const waiting = async () => (await db.get<{ n: number }>("SELECT COUNT(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"))!.n;
        for (const end = Date.now() + 10_000; (await waiting()) === 0; ) {
          assert.ok(Date.now() < end, 'the batch never waited for a lock');
          await new Promise((r) => setTimeout(r, 10));
        }
        release();
        const [outcome] = await Promise.all([job, batch]);
        assert.equal(outcome, 'committed');
        assert.deepEqual(finished.map((f) => f.ended), ['succeeded', 'succeeded']);
        for (const c of claimed) assert.equal((await stateOf(c.uid))!.state, 'succeeded');
      });
    }
  });
}
