import type { HeraldEvent } from '../../events/event.ts';
import { eventFromRow, type EventRow } from '../../events/record.ts';
import { webhookFromRow, type WebhookRow } from '../../webhooks/store.ts';
import type { Webhook } from '../../webhooks/webhook.ts';

/**
 * Webhook documents and event data as claims read them, parsed once: JSON.parse of both on every
 * claim was 2% of the delivery thread, and a fan-out of ten parsed the same event ten times.
 *
 * An entry is reused only while the row it was made from is unchanged, column by column (the
 * text compared, not a version number: a restored backup may bring back an old version number with
 * another document), so a changed webhook or an upgraded event is parsed again at once.
 *
 * What is returned is shared by every claim of the same row: callers must not change it (a claim
 * that needs its own field, such as a debounced execution's `folded_seqs`, copies the event).
 */

/** Webhooks kept, by uid; past it the cache starts again (a deployment has far fewer). */
const WEBHOOKS_KEPT = 10_000;
/**
 * Events kept, by seq, oldest dropped first: enough for the executions of one event (one per
 * webhook) to find it across the claim rounds that take them, and for retries that come soon;
 * small, so a backlog's events are not all held in memory.
 */
const EVENTS_KEPT = 512;

const webhooks = new Map<string, { row: WebhookRow; webhook: Webhook }>();
const events = new Map<number, { row: EventRow; event: HeraldEvent }>();

const WEBHOOK_FIELDS = ['doc', 'disabled', 'disabled_reason', 'version', 'created_at', 'updated_at'] as const;
const EVENT_FIELDS = [
  'seq',
  'api_key',
  'branch',
  'module',
  'action',
  'uid',
  'content_type_uid',
  'locale',
  'environment',
  'actor',
  'actor_name',
  'changes',
  'data',
  'created_at',
] as const;

function same<R>(a: R, b: R, fields: readonly (keyof R)[]): boolean {
  for (const f of fields) if (a[f] !== b[f]) return false;
  return true;
}

/** The Webhook of a claimed execution's webhook row (see webhookFromRow), parsed once per definition. */
export function decodedWebhook(uid: string, row: WebhookRow): Webhook {
  const hit = webhooks.get(uid);
  if (hit && same(hit.row, row, WEBHOOK_FIELDS)) return hit.webhook;
  const webhook = webhookFromRow(row);
  if (webhooks.size >= WEBHOOKS_KEPT) webhooks.clear();
  const kept: WebhookRow = { doc: row.doc, disabled: row.disabled, disabled_reason: row.disabled_reason, version: row.version, created_at: row.created_at, updated_at: row.updated_at };
  webhooks.set(uid, { row: kept, webhook });
  return webhook;
}

/** The HeraldEvent of a claimed execution's event row (see eventFromRow), parsed once while kept. */
export function decodedEvent(row: EventRow): HeraldEvent {
  const seq = Number(row.seq);
  const hit = events.get(seq);
  if (hit && same(hit.row, row, EVENT_FIELDS)) return hit.event;
  const event = eventFromRow(row);
  if (hit) events.delete(seq);
  else if (events.size >= EVENTS_KEPT) events.delete(events.keys().next().value!);
  const kept = {} as Record<string, unknown>;
  for (const f of EVENT_FIELDS) kept[f] = row[f];
  events.set(seq, { row: kept as unknown as EventRow, event });
  return event;
}
