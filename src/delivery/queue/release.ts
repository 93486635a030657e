import { repeated, type Db } from '../../store/db.ts';

/** A released execution of a rate-limited webhook takes a new slot (pace.ts). */
const REPACE = 'paced = CASE WHEN paced IS NULL THEN NULL ELSE 0 END';

/**
 * Transition: in_flight -> pending (due now), for claims whose outcome will never be recorded by
 * their holder: at start (SQLite, the previous run's claims) and at shutdown (attempts cut at the
 * end of the grace period). Elsewhere an abandoned claim is simply due again at its lease end
 * (claim.ts).
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
