import { HeraldError } from '../errors.ts';
import type { Queryable, Tx } from '../store/db.ts';
import { json } from '../store/db.ts';
import type { Webhook } from './webhook.ts';

/**
 * The `webhooks` table. `doc` holds the whole Webhook as JSON (secrets included: never returned as
 * is, see present.ts); the columns `disabled`, `disabled_reason`, `version` and the times are the
 * truth for state that changes outside a definition update (the circuit breaker disables a webhook
 * with one UPDATE), and override the doc when a row is read. `consecutive_failures` belongs to the
 * circuit breaker and is not part of the Webhook.
 *
 * After a change commits, call `WebhookIndex.invalidate(apiKey)` so matching sees it (the
 * webhooks service, service.ts, does both).
 *
 * A webhook's enabled state has one owner here, `storeDefinition()`: every path that disables or
 * enables one (a route, 410 Gone, the circuit breaker) goes through it, so each such change is a
 * new version, and its executions are parked or unparked in the same transaction.
 *
 * A webhook whose `missing_secrets` lists any field (masked values were all a create or update
 * gave, see validate.ts) is stored disabled with a reason naming them, whatever the request asked;
 * enabling it is refused (422 naming them) until they are sent in full.
 */

/** Why a webhook lacking secrets is disabled: the fields to send. */
export function missingSecretsReason(paths: readonly string[]): string {
  return `needs ${paths.join(', ')} sent in full: only masked values (as an export shows them) were given, and a mask is never stored as the secret; send the secret, then enable the webhook`;
}

/** The definition as stored: disabled, with the reason, while secrets are missing. */
function heldForSecrets(w: Webhook): Webhook {
  return w.missing_secrets?.length ? { ...w, disabled: true, disabled_reason: missingSecretsReason(w.missing_secrets) } : w;
}

/**
 * What a webhook's executions do when it is disabled, enabled or deleted, run in the caller's
 * transaction. The delivery queue implements it (delivery/queue/park.ts); herald.ts and the
 * breaker pass it in, so this folder never imports delivery/.
 */
export interface WebhookExecutions {
  /** Disabled: its pending executions wait, due nowhere. */
  park(q: Queryable, webhookUid: string): Promise<void>;
  /** Enabled again: what it parked is due at `now`. */
  unpark(q: Queryable, webhookUid: string, now: number): Promise<void>;
  /** Deleted: its executions and their attempts go with it. */
  drop(q: Queryable, webhookUid: string): Promise<void>;
  /**
   * Its enabled state changed (now `next`'s): what else must commit with it, the operational event
   * (`webhooks.disabled` / `webhooks.enabled`, src/events/operational.ts) and, after commit, the
   * notifiers' email. Each caller binds who made the change (a user, the breaker, the probe).
   */
  announce?(tx: Tx, next: Webhook): Promise<void>;
  /** Its batching or rate limit changed: unsent executions follow the new settings. */
  reconfigure?(q: Queryable, prev: Webhook, next: Webhook, now: number): Promise<void>;
}

export interface WebhookRow {
  doc: string;
  disabled: number;
  disabled_reason: string | null;
  version: number;
  created_at: number;
  updated_at: number;
}

const COLUMNS = 'doc, disabled, disabled_reason, version, created_at, updated_at';

export function webhookFromRow(r: WebhookRow): Webhook {
  const w = json<Webhook>(r.doc);
  w.disabled = Boolean(Number(r.disabled));
  w.disabled_reason = r.disabled_reason ?? null;
  w.version = Number(r.version);
  w.created_at = Number(r.created_at);
  w.updated_at = Number(r.updated_at);
  return w;
}

/** Inserts a new webhook; `w` is updated to what was stored (disabled while secrets are missing). */
export async function createWebhook(q: Queryable, w: Webhook): Promise<void> {
  Object.assign(w, heldForSecrets(w));
  await q.run(
    `INSERT INTO webhooks (uid, api_key, doc, disabled, disabled_reason, consecutive_failures, version, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?)`,
    [w.uid, w.api_key, JSON.stringify(w), w.disabled ? 1 : 0, w.disabled_reason, w.version, w.created_at, w.updated_at],
  );
}

/** A webhook by uid; with `apiKey`, only if it belongs to that stack. */
export async function getWebhook(q: Queryable, uid: string, apiKey?: string): Promise<Webhook | undefined> {
  const row =
    apiKey === undefined
      ? await q.get<WebhookRow>(`SELECT ${COLUMNS} FROM webhooks WHERE uid = ?`, [uid])
      : await q.get<WebhookRow>(`SELECT ${COLUMNS} FROM webhooks WHERE uid = ? AND api_key = ?`, [uid, apiKey]);
  return row ? webhookFromRow(row) : undefined;
}

/** A stack's webhooks, oldest first. */
export async function listWebhooks(q: Queryable, apiKey: string, page: { skip: number; limit: number }): Promise<Webhook[]> {
  const rows = await q.all<WebhookRow>(`SELECT ${COLUMNS} FROM webhooks WHERE api_key = ? ORDER BY created_at, uid LIMIT ? OFFSET ?`, [
    apiKey,
    page.limit,
    page.skip,
  ]);
  return rows.map(webhookFromRow);
}

export async function countWebhooks(q: Queryable, apiKey: string): Promise<number> {
  const row = await q.get<{ n: number }>('SELECT COUNT(*) AS n FROM webhooks WHERE api_key = ?', [apiKey]);
  return Number(row?.n ?? 0);
}

/**
 * Stores a new definition of an existing webhook and bumps its version. Re-enabling (`disabled`
 * going from true to false) also resets the circuit breaker's failure count and clears
 * `disabled_reason`. Returns the webhook as stored, or undefined when it no longer exists.
 */
export async function updateWebhook(q: Tx, w: Webhook, now: number, executions: WebhookExecutions): Promise<Webhook | undefined> {
  const prev = await getWebhook(q, w.uid, w.api_key);
  if (!prev) return undefined;
  // A reason Herald gave stays while the webhook stays disabled, but for missing secrets now sent.
  const keptReason = w.disabled && prev.disabled && !prev.missing_secrets?.length ? prev.disabled_reason : null;
  return storeDefinition(q, prev, heldForSecrets({ ...w, disabled_reason: keptReason }), now, executions);
}

/**
 * Disables a webhook (with a reason when Herald does it: circuit breaker, 410 Gone; null when a
 * user does) or enables it, which also resets the failure count and clears the reason. A new
 * version either way. Returns the webhook as stored, or undefined when it does not exist.
 */
export async function setDisabled(
  q: Tx,
  uid: string,
  disabled: boolean,
  reason: string | null,
  executions: WebhookExecutions,
  now = Date.now(),
): Promise<Webhook | undefined> {
  const prev = await getWebhook(q, uid);
  if (!prev) return undefined;
  if (!disabled && prev.missing_secrets?.length) {
    const problem = 'is missing: only a masked value was given (as an export shows it); send the secret itself before enabling the webhook';
    throw new HeraldError('validation_failed', `${prev.missing_secrets[0]} ${problem}`, { errors: Object.fromEntries(prev.missing_secrets.map((p) => [p, [problem]])) });
  }
  return storeDefinition(q, prev, { ...prev, disabled, disabled_reason: disabled ? reason : null }, now, executions, !disabled);
}

/**
 * The one write of a changed webhook: the definition as a new version, and, when its enabled state
 * changed, its executions parked or unparked in the same transaction. Re-enabling (or an explicit
 * enable, `resetFailures`) resets the circuit breaker's count of consecutive failures.
 */
async function storeDefinition(q: Tx, prev: Webhook, w: Webhook, now: number, executions: WebhookExecutions, resetFailures = false): Promise<Webhook> {
  const next: Webhook = { ...w, version: prev.version + 1, created_at: prev.created_at, updated_at: now };
  const reenabled = resetFailures || (prev.disabled && !next.disabled);
  // The half-open probe's schedule (delivery/probe.ts) lasts while Herald's disable does: enabling,
  // or a user's disable taking it over (reason null), ends it. The breaker sets it after this.
  // A webhook held for missing secrets has no probe: it cannot be enabled until they are sent.
  const keepProbe = prev.disabled && next.disabled && next.disabled_reason !== null && !next.missing_secrets?.length;
  await q.run(
    `UPDATE webhooks SET doc = ?, disabled = ?, disabled_reason = ?, version = ?, updated_at = ?,
       consecutive_failures = CASE WHEN ? = 1 THEN 0 ELSE consecutive_failures END,
       probe_at = CASE WHEN ? = 1 THEN probe_at ELSE NULL END
     WHERE uid = ? AND api_key = ?`,
    [JSON.stringify(next), next.disabled ? 1 : 0, next.disabled_reason, next.version, now, reenabled ? 1 : 0, keepProbe ? 1 : 0, prev.uid, prev.api_key],
  );
  await executions.reconfigure?.(q, prev, next, now);
  if (next.disabled !== prev.disabled) {
    await (next.disabled ? executions.park(q, prev.uid) : executions.unpark(q, prev.uid, now));
    await executions.announce?.(q, next);
  }
  return next;
}

/**
 * Deletes a webhook of a stack with its executions and their attempt log (as Contentstack drops a
 * deleted webhook's logs); false when there was none.
 */
export async function deleteWebhook(q: Queryable, apiKey: string, uid: string, executions: WebhookExecutions): Promise<boolean> {
  const { changes } = await q.run('DELETE FROM webhooks WHERE uid = ? AND api_key = ?', [uid, apiKey]);
  if (changes > 0) await executions.drop(q, uid);
  return changes > 0;
}

/** A stack's enabled webhooks, for the match index. */
export async function loadEnabled(q: Queryable, apiKey: string): Promise<Webhook[]> {
  const rows = await q.all<WebhookRow>(`SELECT ${COLUMNS} FROM webhooks WHERE api_key = ? AND disabled = 0 ORDER BY created_at, uid`, [apiKey]);
  return rows.map(webhookFromRow);
}

/**
 * `herald listen`'s temporary webhooks (delivery/relay.ts): one lives while its listener renews
 * `temporary_until`; past it (the listener, or the process holding it, is gone) it is deleted.
 */
export async function markTemporary(q: Queryable, uids: readonly string[], until: number): Promise<void> {
  for (const uid of uids) await q.run('UPDATE webhooks SET temporary_until = ? WHERE uid = ?', [until, uid]);
}

/** Temporary webhooks whose listener stopped renewing them before `now`. */
export async function expiredTemporary(q: Queryable, now: number): Promise<Array<{ uid: string; api_key: string }>> {
  return q.all<{ uid: string; api_key: string }>('SELECT uid, api_key FROM webhooks WHERE temporary_until IS NOT NULL AND temporary_until < ?', [now]);
}
