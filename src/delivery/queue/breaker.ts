import type { Tx } from '../../store/db.ts';
import { setDisabled } from '../../webhooks/store.ts';
import { breakerReason, breakerTrips, type Decision } from '../policy.ts';
import type { Claimed } from './claim.ts';
import { webhookExecutions } from './park.ts';

/**
 * Transition (of the webhook, and with it its executions): enabled -> disabled with a reason, its
 * pending executions -> parked, when the circuit breaker trips (or a receiver answers 410 Gone).
 * Runs inside complete()'s transaction.
 */

/**
 * The circuit breaker, in the batch's order: an ended execution that failed counts one more
 * consecutive failure of its webhook, one that succeeded resets the count; reaching the threshold
 * (or a 410) disables the webhook and parks its pending executions. Retries still pending count
 * neither way.
 */
export async function countFailures(
  tx: Tx,
  rows: Array<{ f: { claimed: Pick<Claimed, 'webhook_uid'> }; decision: Decision }>,
  opts: { now: number; breakerThreshold: number },
  /** Gets the stacks whose webhooks were disabled (their match index must be rebuilt). */
  effects: { disabledStacks: Set<string> },
) {
  /** Webhooks whose failure count this batch already reset (once per batch is enough). */
  const reset = new Set<string>();
  for (const { f, decision } of rows) {
    const webhookUid = f.claimed.webhook_uid;
    if (decision.state === 'pending') continue;
    if (decision.state === 'succeeded') {
      if (!reset.has(webhookUid)) {
        reset.add(webhookUid);
        await tx.run('UPDATE webhooks SET consecutive_failures = 0 WHERE uid = ? AND consecutive_failures <> 0', [webhookUid]);
      }
      continue;
    }
    reset.delete(webhookUid);
    const w = await tx.get<{ failures: number; disabled: number; api_key: string }>(
      'UPDATE webhooks SET consecutive_failures = consecutive_failures + 1 WHERE uid = ? RETURNING consecutive_failures AS failures, disabled, api_key',
      [webhookUid],
    );
    if (!w || Number(w.disabled)) continue;
    const reason = decision.disable ?? (breakerTrips(Number(w.failures), opts.breakerThreshold) ? breakerReason(opts.breakerThreshold) : null);
    if (reason) {
      // Through the webhooks store's one writer of the enabled state: a new version (a Contentful
      // client holding the old one gets 409), and its pending executions parked (park.ts).
      await setDisabled(tx, webhookUid, true, reason, webhookExecutions, opts.now);
      effects.disabledStacks.add(w.api_key);
    }
  }
}
