import type { Db } from '../../store/db.ts';

/**
 * Transition: succeeded | failed | pending | parked | queued -> pending (due now), by a user's
 * manual retry. A queued execution jumps its lane (the user asked); an in-flight one is left as
 * it is (the caller answers 409). An execution that went in a batch is retried with its whole
 * batch (batch.ts), and a rate-limited one waits for a new slot (pace.ts).
 */
export async function retryNow(db: Db, webhookUid: string, executionUid: string, now: number): Promise<'retrying' | 'in_flight' | 'not_found'> {
  return db.tx(async (tx) => {
    const row = await tx.get<{ state: string; batch_uid: string | null }>('SELECT state, batch_uid FROM executions WHERE uid = ? AND webhook_uid = ?', [
      executionUid,
      webhookUid,
    ]);
    if (!row) return 'not_found';
    if (row.state === 'in_flight') return 'in_flight';
    const again = "state = 'pending', next_attempt_at = ?, updated_at = ?, ended_at = NULL, paced = CASE WHEN paced IS NULL THEN NULL ELSE 0 END";
    if (row.batch_uid) {
      // A batch is sent again whole, under its id (the same call): unless part of it is in flight.
      const flying = await tx.get("SELECT 1 AS x FROM executions WHERE batch_uid = ? AND state = 'in_flight' LIMIT 1", [row.batch_uid]);
      if (flying) return 'in_flight';
      await tx.run(`UPDATE executions SET ${again} WHERE batch_uid = ?`, [now, now, row.batch_uid]);
      return 'retrying';
    }
    await tx.run(`UPDATE executions SET ${again} WHERE uid = ?`, [now, now, executionUid]);
    return 'retrying';
  });
}
