import { json, repeated } from '../../store/db.ts';
import type { RateLimit, Webhook } from '../../webhooks/webhook.ts';
import type { Candidate, InTx } from './lease.ts';

/**
 * Transition: pending (due; its webhook has a rate limit; no slot yet: paced = 0) -> pending with
 * a slot (paced = 1, next_attempt_at = the slot): rate limited until the slot comes, then claimed
 * as any due execution. Runs in the claim round that found it due (claim.ts).
 *
 * One budget per webhook, shared by every worker on the database: a GCRA (generic cell rate
 * algorithm) whose state is one number, the webhook's theoretical arrival time `tat` in
 * `webhook_rates`, the earliest time its next call may start. Slots are `interval` apart from
 * max(tat, now), and tat moves past the last slot given. Workers take slots under one lock per
 * webhook (PostgreSQL: a transaction-scoped advisory lock), so two never give the same slot, and a
 * slot is given only to an execution still waiting for one (checked under the lock).
 *
 * Slots are times, not tokens: calls start `interval` apart whatever the load, and a worker that
 * wakes late sends what fell due meanwhile (bounded by the per-webhook cap) rather than shifting
 * every later call. A retry, an unparked or a manually retried execution takes a new slot.
 */

/** The spacing of a rate limit's calls, ms (fractional: 3 per second is 333.33 ms). */
export function intervalMs(limit: RateLimit): number {
  return (limit.per === 'second' ? 1_000 : 60_000) / limit.max;
}

/**
 * Slot times for `n` calls of a limit whose theoretical arrival time is `tat`, at `now`: the
 * first at max(tat, now), each `interval` after the previous; and the new tat. Pure.
 */
export function slots(tat: number, now: number, n: number, interval: number): { at: number[]; tat: number } {
  const base = Math.max(tat, now);
  const at = Array.from({ length: n }, (_, i) => Math.round(base + i * interval));
  return { at, tat: Math.round(base + n * interval) };
}

/** Gives slots to due executions waiting for one, webhook by webhook. Returns how many got one (or turned out unlimited). */
export async function pace(inTx: InTx, candidates: Candidate[], now: number): Promise<number> {
  const byWebhook = new Map<string, string[]>();
  for (const c of candidates) {
    const list = byWebhook.get(c.webhook_uid) ?? [];
    list.push(c.uid);
    byWebhook.set(c.webhook_uid, list);
  }
  let n = 0;
  for (const [webhookUid, uids] of byWebhook) {
    n += await inTx(async (tx) => {
      await tx.lock?.([`rate:${webhookUid}`]);
      // Under the lock: those still waiting for a slot (another worker may have given them one).
      const waiting = await tx.all<{ uid: string }>(
        `SELECT uid FROM executions WHERE uid IN (${repeated(uids.length)}) AND state = 'pending' AND paced = 0 AND next_attempt_at <= ?
         ORDER BY next_attempt_at, uid`,
        [...uids, now],
      );
      if (waiting.length === 0) return 0;
      const marks = repeated(waiting.length);
      const ids = waiting.map((w) => w.uid);
      const row = await tx.get<{ doc: string; tat: number | null }>(
        'SELECT w.doc, r.tat FROM webhooks w LEFT JOIN webhook_rates r ON r.webhook_uid = w.uid WHERE w.uid = ?',
        [webhookUid],
      );
      const limit = row ? json<Webhook>(row.doc).rate_limit : null;
      if (!limit) {
        // The limit was removed (or the webhook deleted): nothing to wait for.
        await tx.run(`UPDATE executions SET paced = NULL WHERE uid IN (${marks})`, ids);
        return ids.length;
      }
      const s = slots(row?.tat === null || row?.tat === undefined ? 0 : Number(row.tat), now, ids.length, intervalMs(limit));
      await tx.run(
        `UPDATE executions SET paced = 1, updated_at = ?, next_attempt_at = CASE uid ${ids.map(() => 'WHEN ? THEN CAST(? AS BIGINT)').join(' ')} END
         WHERE uid IN (${marks})`,
        [now, ...ids.flatMap((id, i) => [id, s.at[i]]), ...ids],
      );
      await tx.run('INSERT INTO webhook_rates (webhook_uid, tat) VALUES (?, ?) ON CONFLICT (webhook_uid) DO UPDATE SET tat = excluded.tat', [webhookUid, s.tat]);
      return ids.length;
    });
  }
  return n;
}
