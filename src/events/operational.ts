import type { Webhook } from '../webhooks/webhook.ts';
import { HERALD_ACTOR, type EventInput } from './event.ts';

/**
 * Operational events: what happens to webhooks themselves, recorded as events in the transaction
 * of the state change and delivered, like content events, to the webhooks whose channels name them
 * (`webhooks.disabled`, `webhooks.enabled`, `webhooks.recovered`, `executions.failed`; see
 * src/webhooks/channels.ts). Builders only; pure.
 *
 * Loops. A webhook can subscribe to operational events while its own endpoint fails, so the rules
 * that keep a failure from feeding itself are:
 * - `executions.failed` is never recorded for an execution that was itself delivering an
 *   operational event (one level deep: the failed delivery of a content change is reported; the
 *   failed report of it is not reported again);
 * - a disabled webhook is not in the match index, so it never gets the `webhooks.disabled` event
 *   about itself, and each webhook is disabled once until it is enabled again, so disable events
 *   are bounded by real state changes (a probe re-enables at most once per back-off period).
 *
 * Payload `data`: `{ webhook, cause, reason }` for webhook events (`webhook` is its uid, name,
 * target URL and state, never a secret), `{ execution, webhook }` for executions.failed.
 */

/** Why a webhook's enabled state changed. */
export type StateCause =
  /** A user, through the API or the web app. */
  | 'user'
  /** The circuit breaker: too many consecutive failed executions. */
  | 'circuit_breaker'
  /** The receiver answered 410 Gone. */
  | 'gone'
  /** The half-open probe's attempt succeeded. */
  | 'probe';

/** Who made a change: a user's token, or Herald itself. */
export interface ChangeBy {
  actor: string;
  actor_name?: string | null;
  cause: StateCause;
}

/** A webhook as operational events show it: identity, target and state, never a secret. */
export function webhookSummary(w: Webhook) {
  return {
    uid: w.uid,
    name: w.name,
    target_url: w.destinations[0]?.target_url ?? null,
    disabled: w.disabled,
    disabled_reason: w.disabled_reason,
    version: w.version,
  };
}

/** `webhooks.disabled` or `webhooks.enabled` for a webhook whose enabled state changed to `next`'s. */
export function webhookStateEvent(next: Webhook, by: ChangeBy): EventInput {
  return {
    api_key: next.api_key,
    // Operational events belong to no branch: matching ignores it (match-index.ts); `main` fills the column.
    branch: 'main',
    module: 'webhook',
    action: next.disabled ? 'disabled' : 'enabled',
    uid: next.uid,
    actor: by.actor,
    actor_name: by.actor_name ?? null,
    data: { webhook: webhookSummary(next), cause: by.cause, reason: next.disabled ? (next.disabled_reason ?? 'Disabled by a user.') : null },
  };
}

/** `webhooks.recovered`: the probe's attempt (`execution_uid`) succeeded, so the webhook is enabled again. */
export function webhookRecoveredEvent(next: Webhook, probe: { execution_uid: string; status_code: number | null; disabled_reason: string | null }): EventInput {
  return {
    api_key: next.api_key,
    branch: 'main',
    module: 'webhook',
    action: 'recovered',
    uid: next.uid,
    actor: HERALD_ACTOR,
    actor_name: 'Herald',
    data: {
      webhook: webhookSummary(next),
      cause: 'probe',
      reason: `A probe delivery (${probe.execution_uid}) succeeded${probe.status_code ? ` with HTTP ${probe.status_code}` : ''}; the webhook was disabled because: ${probe.disabled_reason ?? 'unknown'}`,
      probe: { execution_uid: probe.execution_uid, status_code: probe.status_code },
    },
  };
}

/** What executions.failed reports of the execution that failed for good. */
export interface FailedExecution {
  uid: string;
  webhook: Pick<Webhook, 'uid' | 'name' | 'api_key'>;
  /** The event it delivered: `entry.publish`, its seq and entity. */
  event: { seq: number; module: string; action: string; uid: string; content_type_uid?: string | null; locale?: string | null };
  attempts: number;
  status_code: number | null;
  outcome: string;
  reason: string | null;
}

/** `executions.failed`: an execution ended failed (retries exhausted, or 410 Gone). */
export function executionFailedEvent(x: FailedExecution): EventInput {
  return {
    api_key: x.webhook.api_key,
    branch: 'main',
    module: 'execution',
    action: 'failed',
    uid: x.uid,
    actor: HERALD_ACTOR,
    actor_name: 'Herald',
    data: {
      execution: {
        uid: x.uid,
        event: `${x.event.module}.${x.event.action}`,
        event_seq: x.event.seq,
        entity: { module: x.event.module, uid: x.event.uid, content_type_uid: x.event.content_type_uid ?? null, locale: x.event.locale ?? null },
        attempts: x.attempts,
        status_code: x.status_code,
        outcome: x.outcome,
        reason: x.reason,
      },
      webhook: { uid: x.webhook.uid, name: x.webhook.name },
    },
  };
}
