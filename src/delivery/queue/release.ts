import { repeated, type Db, type Queryable } from '../../store/db.ts';
import { chunks } from './lanes.ts';

/** A released execution of a rate-limited webhook takes a new slot (pace.ts). */
const REPACE = 'paced = CASE WHEN paced IS NULL THEN NULL ELSE 0 END';

/**
 * Transition: in_flight -> pending (due now), for claims whose outcome will never be recorded by
 * their holder: at start (SQLite, the previous run's claims) and at shutdown (attempts cut at the
 * end of the grace period). Elsewhere an abandoned claim is due again at its lease end (claim.ts):
 * on PostgreSQL its lease wrote it so; on SQLite, whose leases write no next_attempt_at (lease.ts
 * LEASE_SQLITE, enqueue.ts), its holder made it so when giving up on its outcome (expireClaims).
 */

/**
 * At start, with one process per store (SQLite): claims left by a previous run of this process are
 * due now rather than at their lease end. Returns how many were released.
 */
export async function releaseClaims(db: Db, now: number): Promise<number> {
  const { changes } = await db.run(`UPDATE executions SET state = 'pending', next_attempt_at = ?, lease_until = NULL, updated_at = ?, ${REPACE} WHERE state = 'in_flight'`, [
    now,
    now,
  ]);
  return changes;
}

/**
 * At shutdown: these executions' attempts were cut before their outcome was known; they are due
 * now (another worker, or this process after a restart, sends them again). Returns how many.
 */
export async function releaseExecutions(db: Db, uids: string[], now: number): Promise<number> {
  if (uids.length === 0) return 0;
  const marks = repeated(uids.length);
  const { changes } = await db.run(
    `UPDATE executions SET state = 'pending', next_attempt_at = ?, lease_until = NULL, updated_at = ?, ${REPACE} WHERE uid IN (${marks}) AND state = 'in_flight'`,
    [now, now, ...uids],
  );
  return changes;
}

/**
 * SQLite: claims this process gave up recording (outcome-writer.ts: the write failed for good, or
 * past the lease, or while stopping) are due again at their lease end, as any claim is on
 * PostgreSQL: then claimed again and sent again (at least once), unless their outcome was recorded
 * after all. SQLite's leases are out of the due index (lease.ts LEASE_SQLITE); without this such
 * an execution would wait, in_flight, for the next start's releaseClaims. Returns how many.
 * Rows recorded or released meanwhile (not in_flight), or already due, are left alone; one leased
 * again since (by this process) is made due at its new lease end, as every claim was before SQLite's
 * leases left the due index: taken over only if that lease too ends unrecorded. `q`: the store, or
 * the transaction of a claim round that leaves a row leased (lease.ts claimedRows).
 */
export async function expireClaims(q: Pick<Queryable, 'run'>, uids: string[]): Promise<number> {
  let n = 0;
  for (const part of chunks(uids)) {
    const { changes } = await q.run(
      `UPDATE executions SET next_attempt_at = lease_until WHERE uid IN (${repeated(part.length)}) AND state = 'in_flight' AND next_attempt_at IS NULL`,
      part,
    );
    n += changes;
  }
  return n;
}
