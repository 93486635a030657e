import type { Queryable } from '../../store/db.ts';
import type { WebhookExecutions } from '../../webhooks/store.ts';
import { PARKED } from './states.ts';

/**
 * Transitions: pending -> parked (webhook disabled), parked -> pending (webhook enabled: due now),
 * any -> dropped (webhook deleted).
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
  await tx.run(`UPDATE executions SET next_attempt_at = ? WHERE webhook_uid = ? AND ${PARKED}`, [now, webhookUid]);
}

/** Removes a deleted webhook's executions and their attempts (in-flight ones finish unrecorded). */
export async function dropExecutions(tx: Queryable, webhookUid: string): Promise<void> {
  await tx.run('DELETE FROM attempts WHERE execution_uid IN (SELECT uid FROM executions WHERE webhook_uid = ?)', [webhookUid]);
  await tx.run('DELETE FROM executions WHERE webhook_uid = ?', [webhookUid]);
}

/** The queue's side of a webhook's enabled state and deletion, for webhooks/store.ts. */
export const webhookExecutions: WebhookExecutions = { park: parkWebhook, unpark: unparkWebhook, drop: dropExecutions };
