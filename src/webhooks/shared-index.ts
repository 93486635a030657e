import type { Db } from '../store/db.ts';
import { SIGNALS } from '../store/signals.ts';
import type { WebhookIndex } from './match-index.ts';

/**
 * Keeps each process's webhook index in step when several processes share one database
 * (PostgreSQL): an invalidation here is also announced to the others, and theirs reach this index.
 * A change made elsewhere is seen once its signal arrives (milliseconds); until then events keep
 * matching the definitions as they were. When the listening connection was lost (payload ''),
 * every cached stack is dropped, since signals may have been missed.
 *
 * On a store without signals (SQLite, one process) the index is returned as it is.
 */
export async function shareWebhookIndex(db: Db, index: WebhookIndex): Promise<WebhookIndex> {
  if (!db.notify || !db.listen) return index;
  const notify = db.notify.bind(db);
  /** Stacks this process has matched events for, so a reconnect can drop them all. */
  const seen = new Set<string>();
  await db.listen(SIGNALS.webhooks, (apiKey) => {
    if (apiKey) index.invalidate(apiKey);
    else for (const key of seen) index.invalidate(key);
  });
  return {
    match(q, event) {
      seen.add(event.api_key);
      return index.match(q, event);
    },
    invalidate(apiKey) {
      index.invalidate(apiKey);
      notify(SIGNALS.webhooks, apiKey);
    },
  };
}
