import type { Db } from '../../store/db.ts';

/**
 * Transition: succeeded | failed | pending | parked | queued -> pending (due now), by a user's
 * manual retry. A queued execution jumps its lane (the user asked); an in-flight one is left as
 * it is (the caller answers 409).
 */
export async function retryNow(db: Db, webhookUid: string, executionUid: string, now: number): Promise<'retrying' | 'in_flight' | 'not_found'> {
  return db.tx(async (tx) => {
    const row = await tx.get<{ state: string }>('SELECT state FROM executions WHERE uid = ? AND webhook_uid = ?', [executionUid, webhookUid]);
    if (!row) return 'not_found';
    if (row.state === 'in_flight') return 'in_flight';
    await tx.run("UPDATE executions SET state = 'pending', next_attempt_at = ?, updated_at = ? WHERE uid = ?", [now, now, executionUid]);
    return 'retrying';
  });
}
