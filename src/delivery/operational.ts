import type { Logger } from 'pino';
import { isOperational, type EventInput, type HeraldEvent } from '../events/event.ts';
import { executionFailedEvent, webhookStateEvent, type ChangeBy, type FailedExecution } from '../events/operational.ts';
import type { Mailer } from '../ops/mail.ts';
import type { Tx } from '../store/db.ts';
import type { Webhook } from '../webhooks/webhook.ts';

/**
 * Operational events as the engine records them (builders in src/events/operational.ts), in the
 * transaction of the change they report, and the notifiers' email after it commits.
 *
 * Who calls: the webhooks store's one writer of the enabled state calls `announcer(by)` (bound by
 * the webhooks service for users, by the breaker for Herald); complete() calls `executionsFailed`.
 */
export interface Operational {
  /** The webhooks store's `announce` hook for changes made by `by` (webhooks/store.ts). */
  announcer(by: ChangeBy): (tx: Tx, next: Webhook) => Promise<void>;
  /** Records `executions.failed` for each of these, in the caller's transaction. */
  executionsFailed(tx: Tx, failed: Array<FailedExecution & { delivered: Pick<HeraldEvent, 'module'> }>): Promise<void>;
  /** Records an operational event built elsewhere (the probe's `webhooks.recovered`). */
  record(tx: Tx, input: EventInput): Promise<unknown>;
}

export interface OperationalDeps {
  /** events.record (the event log): appends the event and fans it out in `tx`. */
  record(tx: Tx, input: EventInput): Promise<unknown>;
  /** Unset without --smtp-url: no email. */
  mailer?: Mailer;
  log: Logger;
}

export function createOperational({ record, mailer, log }: OperationalDeps): Operational {
  return {
    announcer: (by) => async (tx, next) => {
      await record(tx, webhookStateEvent(next, by));
      // Email when Herald disabled it (a user who disabled it knows); after commit, never awaited.
      if (next.disabled && by.cause !== 'user' && next.notifiers?.length && mailer) {
        const message = disabledEmail(next);
        tx.afterCommit(() => void mailer.send(message));
      } else if (next.disabled && by.cause !== 'user' && next.notifiers?.length) {
        tx.afterCommit(() => log.warn({ webhook: next.uid, notifiers: next.notifiers!.length }, 'a disabled webhook has notifiers, but no --smtp-url is set: no email sent'));
      }
    },
    async executionsFailed(tx, failed) {
      // Loop guard: the failed delivery of an operational event is not reported again (events/operational.ts).
      for (const f of failed) if (!isOperational(f.delivered)) await record(tx, executionFailedEvent(f));
    },
    record,
  };
}

/** The notifiers' message when Herald disabled a webhook. */
export function disabledEmail(w: Webhook): { to: string[]; subject: string; text: string } {
  return {
    to: w.notifiers ?? [],
    subject: `Herald disabled the webhook "${w.name}"`,
    text: [
      `Herald disabled the webhook "${w.name}" (${w.uid}) of stack ${w.api_key}.`,
      '',
      `Reason: ${w.disabled_reason ?? 'unknown'}`,
      `Target: ${w.destinations[0]?.target_url ?? ''}`,
      '',
      'Deliveries that were waiting are kept (parked). A webhook disabled by the circuit breaker is probed',
      'with one of them now and then, and enabled again when the endpoint answers; you can also enable it',
      'yourself (POST /v3/webhooks/{uid}/enable, or the web app) once the endpoint is fixed.',
    ].join('\n'),
  };
}
