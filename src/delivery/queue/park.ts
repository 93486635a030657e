import type { Queryable } from '../../store/db.ts';
import type { WebhookExecutions } from '../../webhooks/store.ts';
import type { Webhook } from '../../webhooks/webhook.ts';
import { PARKED } from './states.ts';

/**
 * Transitions: pending -> parked (webhook disabled), parked -> pending (webhook enabled: due now),
 * any -> dropped (webhook deleted), and unsent ones -> re-paced / (un)batched when the webhook's
 * rate limit or batching changed.
 *
 * Parking takes a disabled webhook's pending executions out of the due index (next_attempt_at
 * NULL), so claiming never scans them. These run in the transaction of the webhook's change, and
 * only through the webhooks store's one writer of the enabled state (webhooks/store.ts), which gets
 * them as `webhookExecutions`.
 */

export async function parkWebhook(tx: Queryable, webhookUid: string): Promise<void> {
  await tx.run("UPDATE executions SET next_attempt_at = NULL WHERE webhook_uid = ? AND state = 'pending'", [webhookUid]);
}

export async function unparkWebhook(tx: Queryable, webhookUid: string, now: number): Promise<void> {
  // A rate limit slot given before it was parked is given again (pace.ts).
  await tx.run(`UPDATE executions SET next_attempt_at = ?, paced = CASE WHEN paced IS NULL THEN NULL ELSE 0 END WHERE webhook_uid = ? AND ${PARKED}`, [
    now,
    webhookUid,
  ]);
}

/** Removes a deleted webhook's executions and their attempts (in-flight ones finish unrecorded). */
export async function dropExecutions(tx: Queryable, webhookUid: string): Promise<void> {
  await tx.run('DELETE FROM attempts WHERE execution_uid IN (SELECT uid FROM executions WHERE webhook_uid = ?)', [webhookUid]);
  await tx.run('DELETE FROM executions WHERE webhook_uid = ?', [webhookUid]);
  await tx.run('DELETE FROM webhook_rates WHERE webhook_uid = ?', [webhookUid]);
}

/**
 * A webhook's event-storm settings changed (#20): its unsent executions follow the new ones. A
 * rate limit added, changed or removed: slots given under the old one are given again (or none
 * are needed), and the shared budget starts afresh. Batching turned on: unsent executions wait
 * for a batch; turned off: those waiting for one are due now, each alone. (A batch already formed
 * stays one.) A debounce change applies to changes from now on.
 */
export async function reconfigureWebhook(tx: Queryable, prev: Webhook, next: Webhook, now: number): Promise<void> {
  const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
  if (!same(prev.rate_limit, next.rate_limit)) {
    await tx.run('DELETE FROM webhook_rates WHERE webhook_uid = ?', [prev.uid]);
    await tx.run(
      `UPDATE executions SET paced = ?, next_attempt_at = CASE WHEN state = 'pending' AND paced = 1 AND next_attempt_at IS NOT NULL THEN ? ELSE next_attempt_at END
       WHERE webhook_uid = ? AND state IN ('queued', 'pending')`,
      [next.rate_limit ? 0 : null, now, prev.uid],
    );
  }
  if (!prev.batch && next.batch) {
    await tx.run("UPDATE executions SET batch_uid = '' WHERE webhook_uid = ? AND state IN ('queued', 'pending') AND batch_uid IS NULL", [prev.uid]);
  } else if (prev.batch && !next.batch) {
    await tx.run(
      `UPDATE executions SET batch_uid = NULL, next_attempt_at = CASE WHEN state = 'pending' AND next_attempt_at > ? THEN ? ELSE next_attempt_at END
       WHERE webhook_uid = ? AND state IN ('queued', 'pending') AND batch_uid = ''`,
      [now, now, prev.uid],
    );
  }
}

/** The queue's side of a webhook's enabled state and deletion, for webhooks/store.ts. */
export const webhookExecutions: WebhookExecutions = { park: parkWebhook, unpark: unparkWebhook, drop: dropExecutions, reconfigure: reconfigureWebhook };
