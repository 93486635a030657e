/**
 * The outcome writer's shared transaction on SQLite (src/delivery/outcome-writer.ts, withClaim): a
 * claim round takes the outcomes waiting along, written first, in one transaction with the claim.
 * Nothing may be lost on the way: outcomes whose claim round failed are still written; outcomes
 * that cannot be written do not take the claims down with them; stopping waits for them.
 * PostgreSQL claims without a transaction (claim.ts), so this is SQLite's alone.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import pino from 'pino';
import { OutcomeWriter } from '../../src/delivery/outcome-writer.ts';
import { claim, claimInTx, type ClaimOptions, type Claimed, type CompleteEffects, type Finished } from '../../src/delivery/queue/index.ts';
import type { Db } from '../../src/store/db.ts';
import { openSqlite } from '../../src/store/sqlite.ts';

const LEASE_MS = 60_000;

describe('a claim round takes the outcomes waiting along (SQLite)', () => {
  let db: Db;
  let dir: string;
  let seq = 0;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'herald-writer-'));
    db = await openSqlite(join(dir, 'herald.db'));
    await db.run("INSERT INTO stacks (api_key, name, doc, created_at, updated_at) VALUES ('stk', 'writer', '{}', 0, 0)");
    for (const w of ['A', 'B']) {
      await db.run("INSERT INTO webhooks (uid, api_key, doc, created_at, updated_at) VALUES (?, 'stk', ?, 0, 0)", [w, JSON.stringify({ uid: w, name: w })]);
    }
  });
  after(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() =>
    db.tx(async (tx) => {
      await tx.run('DROP TRIGGER IF EXISTS fail_claims');
      await tx.run('DROP TRIGGER IF EXISTS fail_attempts');
      await tx.run('DELETE FROM attempts');
      await tx.run('DELETE FROM executions');
    }),
  );

  /** An execution of `webhook` in lane `lane`: due (pending, long due) or queued behind its lane's head. */
  async function execution(webhook: string, lane: string, state: 'pending' | 'queued'): Promise<string> {
    return db.tx(async (tx) => {
      const s = ++seq;
      const ev = await tx.get<{ seq: number }>(
        "INSERT INTO events (api_key, branch, module, action, uid, actor, data, created_at) VALUES ('stk', 'main', 'entry', 'update', ?, 'test', '{}', 0) RETURNING seq",
        [lane],
      );
      const uid = `exe_${webhook}_${String(s).padStart(6, '0')}`;
      await tx.run(
        `INSERT INTO executions (uid, api_key, webhook_uid, event_seq, lane, channel, action, state, next_attempt_at, created_at, updated_at)
         VALUES (?, 'stk', ?, ?, ?, 'content_types.entries.update', 'update', ?, ?, ?, ?)`,
        [uid, webhook, ev!.seq, `entry:${lane}`, state, state === 'pending' ? s : null, s, s],
      );
      return uid;
    });
  }

  const claimOpts = (): ClaimOptions => ({ now: Date.now(), limit: 100, freeSlots: () => 100, leaseMs: LEASE_MS });
  const succeeded = (claimed: Claimed): Finished => ({
    claimed,
    record: { outcome: 'success', status_code: 200, retry_after_ms: null, reason: null, response: null, started_at: Date.now(), duration_ms: 3 },
    request: { method: 'POST' },
  });
  const stateOf = async (uid: string) => (await db.get<{ state: string }>('SELECT state FROM executions WHERE uid = ?', [uid]))!.state;
  const attemptRows = async (uid: string) => (await db.all('SELECT uid FROM attempts WHERE execution_uid = ?', [uid])).length;

  /** A writer on `db` as the dispatcher makes it, with what it reported and logged. */
  function writer() {
    const recorded: Array<{ effects: CompleteEffects; batch: Finished[] }> = [];
    const errors: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => void errors.push(JSON.parse(line).msg) });
    const w = new OutcomeWriter({
      db,
      log,
      retryDelaysMs: [1_000],
      breakerThreshold: 5,
      autoSaveWindowMs: 1_000,
      maxUnrecorded: 100,
      stopping: () => false,
      onRecorded: (effects, batch) => void recorded.push({ effects, batch }),
      onCaughtUp: () => {},
    });
    return { w, recorded, errors };
  }

  it('writes the outcomes first, so the claim in the same round takes the lane head they promoted', async () => {
    const head = await execution('A', 'e1', 'pending');
    const next = await execution('A', 'e1', 'queued');
    const [c] = (await claim(db, claimOpts())).claimed;
    assert.equal(c.uid, head);
    const { w, recorded } = writer();
    w.add(succeeded(c));
    const round = await w.withClaim((tx) => claimInTx(db, tx, claimOpts()));
    assert.deepEqual(
      round.claimed.map((x) => x.uid),
      [next],
      'promoted by the outcome written in the same transaction',
    );
    assert.equal(await stateOf(head), 'succeeded');
    assert.equal(await stateOf(next), 'in_flight');
    assert.equal(recorded.length, 1, 'reported once, after commit');
    assert.equal(recorded[0].effects.promoted, 1);
    assert.equal(w.unrecorded, 0);
    // The flush timer the outcome armed was cleared: nothing is written twice.
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(await attemptRows(head), 1);
    assert.equal(recorded.length, 1);
  });

  it('still writes the outcomes when the claim round fails, and the claim’s error is the caller’s', async () => {
    const [uid] = [await execution('A', 'e2', 'pending')];
    const [c] = (await claim(db, claimOpts())).claimed;
    await execution('B', 'e3', 'pending');
    // B's executions cannot be leased: every claim round that finds one fails.
    await db.run("CREATE TRIGGER fail_claims BEFORE UPDATE OF state ON executions WHEN NEW.state = 'in_flight' AND NEW.webhook_uid = 'B' BEGIN SELECT RAISE(ABORT, 'no claims of B'); END");
    const { w, recorded } = writer();
    w.add(succeeded(c));
    await assert.rejects(
      w.withClaim((tx) => claimInTx(db, tx, claimOpts())),
      /no claims of B/,
    );
    assert.equal(await stateOf(uid), 'succeeded', 'the outcome was written on its own');
    assert.equal(await attemptRows(uid), 1);
    assert.equal(recorded.length, 1);
    assert.equal(w.unrecorded, 0);
  });

  it('claims even when the outcomes cannot be written: their failure is handled as a flush’s', async () => {
    const done = await execution('A', 'e4', 'pending');
    const [c] = (await claim(db, claimOpts())).claimed;
    const due = await execution('B', 'e5', 'pending');
    await db.run("CREATE TRIGGER fail_attempts BEFORE INSERT ON attempts WHEN NEW.execution_uid = '" + done + "' BEGIN SELECT RAISE(ABORT, 'attempt refused'); END");
    const { w, recorded, errors } = writer();
    w.add(succeeded(c));
    const round = await w.withClaim((tx) => claimInTx(db, tx, claimOpts()));
    assert.deepEqual(
      round.claimed.map((x) => x.uid),
      [due],
      'the claim ran alone once the shared transaction failed',
    );
    assert.equal(await stateOf(due), 'in_flight');
    // Not a passing failure (not `unavailable`): given up, the claim left to expire (sent again).
    assert.equal(await stateOf(done), 'in_flight');
    assert.equal(recorded.length, 0);
    assert.ok(errors.includes('recording attempts failed'), errors.join('; '));
    assert.equal(w.unrecorded, 0);
  });

  it('a flush (as stop() makes) waits for outcomes a claim round took along', async () => {
    const uid = await execution('A', 'e6', 'pending');
    const [c] = (await claim(db, claimOpts())).claimed;
    const { w } = writer();
    w.add(succeeded(c));
    const round = w.withClaim((tx) => claimInTx(db, tx, claimOpts()));
    await w.flush();
    assert.equal(await stateOf(uid), 'succeeded', 'on disk once flush() resolved');
    await round;
  });
});
