import type { ChangeBy } from '../events/operational.ts';
import type { Db, Tx } from '../store/db.ts';
import type { WebhookIndex } from './match-index.ts';
import { countWebhooks, createWebhook, deleteWebhook, expiredTemporary, getWebhook, listWebhooks, markTemporary, setDisabled, updateWebhook, type WebhookExecutions } from './store.ts';
import type { Webhook } from './webhook.ts';

/**
 * Webhook changes as both API dialects make them (/v3/webhooks and /spaces/.../webhook_definitions),
 * with the rules that follow every change written once: the change commits in one transaction
 * (with its executions parked, unparked or dropped, see store.ts), then the stack's match index is
 * rebuilt, and when the change enabled a webhook the dispatcher looks at once at what waited.
 */

/** The writes of one change, bound to its transaction and stack. */
export interface WebhookChange {
  tx: Tx;
  /** A webhook of this stack, read inside the change. */
  get(uid: string): Promise<Webhook | undefined>;
  create(w: Webhook): Promise<void>;
  /** A new definition (a new version); undefined when the webhook no longer exists. */
  update(w: Webhook, now: number): Promise<Webhook | undefined>;
  /** Disables (reason null: by a user) or enables it; a new version either way. */
  setDisabled(uid: string, disabled: boolean, reason: string | null, now?: number): Promise<Webhook | undefined>;
  /** Deletes it with its executions and their attempt log; false when there was none. */
  delete(uid: string): Promise<boolean>;
  /** Makes it temporary (`herald listen`): deleted once `until` (ms) passes without renewal. */
  markTemporary(uid: string, until: number): Promise<void>;
}

export interface WebhookService {
  /**
   * Runs `fn` as one change of stack `apiKey`'s webhooks (see above), made by `by` (the caller's
   * actor: the `webhooks.enabled`/`webhooks.disabled` events it causes name it; default admin).
   */
  change<T>(apiKey: string, fn: (c: WebhookChange) => Promise<T>, by?: { actor: string; actor_name?: string | null }): Promise<T>;
  get(apiKey: string, uid: string): Promise<Webhook | undefined>;
  list(apiKey: string, page: { skip: number; limit: number }): Promise<Webhook[]>;
  count(apiKey: string): Promise<number>;
  /** Keeps temporary webhooks alive until `until` (ms): their listeners are still connected. */
  renewTemporary(uids: readonly string[], until: number): Promise<void>;
  /** Temporary webhooks nobody renewed before `now`. */
  expiredTemporary(now: number): Promise<Array<{ uid: string; api_key: string }>>;
}

export interface WebhookServiceDeps {
  db: Db;
  index: Pick<WebhookIndex, 'invalidate'>;
  /** The delivery queue's side of enabling, disabling and deleting (delivery/queue/park.ts). */
  executions: WebhookExecutions;
  /** Makes the dispatcher (of every process) look for due executions now. */
  wake(): void;
  /**
   * What else commits with a change of a webhook's enabled state (the operational event, see
   * delivery/operational.ts), for a change made by `by`. Absent: nothing.
   */
  announcer?: (by: ChangeBy) => (tx: Tx, next: Webhook) => Promise<void>;
}

export function createWebhookService({ db, index, executions, wake, announcer }: WebhookServiceDeps): WebhookService {
  return {
    change(apiKey, fn, by) {
      return db.tx(async (tx) => {
        let enabled = false;
        // Unparking happens exactly when a change enabled a disabled webhook.
        const ex: WebhookExecutions = {
          ...executions,
          unpark: async (q, uid, now) => {
            await executions.unpark(q, uid, now);
            enabled = true;
          },
          ...(announcer ? { announce: announcer({ actor: by?.actor ?? 'admin', actor_name: by?.actor_name ?? null, cause: 'user' }) } : {}),
          // A lifted rate limit or batching makes waiting executions due now, too.
          reconfigure: async (q, prev, next, now) => {
            await executions.reconfigure?.(q, prev, next, now);
            enabled = true;
          },
        };
        tx.afterCommit(() => {
          index.invalidate(apiKey);
          if (enabled) wake();
        });
        return fn({
          tx,
          get: (uid) => getWebhook(tx, uid, apiKey),
          create: (w) => createWebhook(tx, w),
          update: (w, now) => updateWebhook(tx, w, now, ex),
          setDisabled: async (uid, disabled, reason, now) => {
            if (!(await getWebhook(tx, uid, apiKey))) return undefined;
            return setDisabled(tx, uid, disabled, reason, ex, now);
          },
          delete: (uid) => deleteWebhook(tx, apiKey, uid, ex),
          markTemporary: (uid, until) => markTemporary(tx, [uid], until),
        });
      });
    },
    get: (apiKey, uid) => getWebhook(db, uid, apiKey),
    list: (apiKey, page) => listWebhooks(db, apiKey, page),
    count: (apiKey) => countWebhooks(db, apiKey),
    renewTemporary: (uids, until) => markTemporary(db, uids, until),
    expiredTemporary: (now) => expiredTemporary(db, now),
  };
}
