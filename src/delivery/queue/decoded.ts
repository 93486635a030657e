import type { HeraldEvent } from '../../events/event.ts';
import { ClaimedEvent, type EventRow } from '../../events/record.ts';
import { webhookFromRow, type WebhookRow } from '../../webhooks/store.ts';
import type { Webhook } from '../../webhooks/webhook.ts';

/**
 * Webhook documents and event data as claims read them, parsed once: JSON.parse of both on every
 * claim was 2% of the delivery thread, and a fan-out of ten parsed the same event ten times.
 *
 * A webhook is reused only while the row it was made from is unchanged, column by column (the
 * text compared, not a version number: a restored backup may bring back an old version number with
 * another document), so a changed webhook is parsed again at once. Claims read a webhook's row once
 * per claim round, however many of its executions they lease.
 *
 * Events are kept per store (decodedEvents): an event is never changed once recorded, and its seq
 * names it for good in its store, so a claim reads only the events it does not hold (on SQLite,
 * lease.ts). A row read anyway is still compared with the one kept.
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
/**
 * Events held for the listed executions of a fan-out (see recorded()), at most: ~1.5 KB each with
 * their data, ~12 MB at most; past it, an event is kept as any other (or read back by its claims).
 */
export const EVENTS_HELD = 8_192;

/**
 * `row`: the columns the webhook was made from (a copy); `from`: the row object it was made from.
 * Claims on SQLite hand the same row object round after round while no webhook was written
 * (lease.ts claimedRows, DecodedEvents.webhookRows): that one is known without comparing columns.
 */
const webhooks = new Map<string, { row: WebhookRow; from: WebhookRow; webhook: Webhook }>();
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
  if (hit && (hit.from === row || same(hit.row, row, WEBHOOK_FIELDS))) {
    hit.from = row;
    return hit.webhook;
  }
  const webhook = webhookFromRow(row);
  if (webhooks.size >= WEBHOOKS_KEPT) webhooks.clear();
  const kept: WebhookRow = { doc: row.doc, disabled: row.disabled, disabled_reason: row.disabled_reason, version: row.version, created_at: row.created_at, updated_at: row.updated_at };
  webhooks.set(uid, { row: kept, from: row, webhook });
  return webhook;
}

/** An event kept (DecodedEvents): its row, its event once claimed, and of one kept as recorded its executions not claimed yet. */
interface Kept {
  row: EventRow | undefined;
  event: ClaimedEvent | undefined;
  left?: number;
}

/**
 * Empties an entry leaving its map: what the map's old hash tables still hold of it is then a few
 * bytes, not the event's row and data (~1.2 KB with the bench's data).
 *
 * Why: V8 keeps a Map's entries in a hash table that a rehash (growing, shrinking, or dropping
 * deleted entries, every so many sets and deletes) or a clear() replaces by a new one; the old
 * table keeps its entries and a pointer to its successor (for iterators). A table that had reached
 * the old generation is garbage only to a mark-compact: a scavenge takes its pointers into the
 * young generation as roots, so it kept its entries and every later table alive, and with them each
 * event that passed through the map, however soon it was deleted, until they too were promoted.
 * The latency line (one event a claim, each kept from its commit to its claim, a few ms) promoted
 * ~1.5 KB per event, mostly record()'s rows and data (session 26), with ~40 events alive at a time
 * (heap snapshot); a Map of 8 entries turned over 200,000 times promoted 0.44 KB per 1 KB entry
 * after each mark-compact, 0.03 with the entries emptied as they left (session 27, h2).
 */
function emptied(k: Kept): void {
  k.row = undefined;
  k.event = undefined;
}

/** The events claims decoded in one store, by seq (see decodedEvents). */
export class DecodedEvents {
  /**
   * `event` undefined: kept as recorded (see recorded()), made when first claimed. `left`: of an
   * event kept as recorded, its executions not claimed yet.
   */
  private events = new Map<number, Kept>();
  /**
   * Events recorded with two or more executions listed (prelease.ts), held until all of their
   * executions were claimed, whatever the backlog and outside EVENTS_KEPT's order of dropping: a
   * list hands a fan-out's executions out across several rounds, and each round read back the
   * events it lacked (bench fan-out 10: 27,717 event rows read for 5,000 events, ~2.7 us per
   * delivery), keeping only the newest.
   */
  private held = new Map<number, Kept & { left: number }>();
  /**
   * Webhook rows claims read (SQLite, lease.ts claimedRows), as of `webhookChanges` (the count of
   * webhook writes, store migration 024): reused while that count stays the same. Each round read
   * its webhooks' whole rows before (bench fan-out 10: 7,666 rows, documents and all, for 55,000
   * deliveries; a claim reads them through the reader connection, whose page cache SQLite empties
   * after every commit of the writer).
   */
  private hookRows = new Map<string, WebhookRow>();
  private webhookChanges = -1;
  /** The newest seq a claim asked for (known, decoded); -1 before the first. */
  private claimedUpTo = -1;

  /**
   * The event with `seq`, when kept: no need to read it. `claims`: executions of it the caller
   * claims now. An event kept as recorded is forgotten once all its executions were claimed: at
   * fan-out 1 with claims keeping up (steady state), each stayed after its only claim until 511
   * later events pushed it out, long enough to reach V8's old generation. A retry reads it back.
   */
  known(seq: number, claims = 0): HeraldEvent | undefined {
    if (seq > this.claimedUpTo) this.claimedUpTo = seq;
    // A held event (a fan-out's, listed) first; its `left` is always set.
    let kept: Map<number, Kept> = this.held;
    let hit = kept.get(seq);
    if (hit === undefined) hit = (kept = this.events).get(seq);
    if (hit === undefined) return undefined;
    const event = (hit.event ??= new ClaimedEvent(hit.row!));
    if (hit.left !== undefined && (hit.left -= claims) <= 0) {
      kept.delete(seq);
      emptied(hit);
    }
    return event;
  }

  /** Whether the event with `seq` is kept (no side effect, unlike known). */
  holds(seq: number): boolean {
    return this.held.has(seq) || this.events.has(seq);
  }

  /**
   * The HeraldEvent of a claimed execution's event row (a ClaimedEvent: its data parsed only when
   * read), made once while kept. `keep` false: not kept when it was not (the caller knows no later
   * claim is likely to want it; see lease.ts).
   */
  decoded(row: EventRow, keep = true): HeraldEvent {
    const seq = Number(row.seq);
    if (seq > this.claimedUpTo) this.claimedUpTo = seq;
    const hit = this.held.get(seq) ?? this.events.get(seq);
    if (hit && same(hit.row!, row, EVENT_FIELDS)) return (hit.event ??= new ClaimedEvent(hit.row!));
    if (!keep) return new ClaimedEvent(row);
    // The event's own columns only: a claim's row may carry its webhook's too (PostgreSQL's join).
    const kept = {} as Record<string, unknown>;
    for (const f of EVENT_FIELDS) kept[f] = row[f];
    const event = new ClaimedEvent(kept as unknown as EventRow);
    this.keep(seq, kept as unknown as EventRow, event);
    return event;
  }

  /**
   * An event this process just recorded and fanned out, as its row was written (events/record.ts,
   * once its transaction committed): its claims need not read it back, which at fan-out 1 was a
   * read of ~1.2 KB per delivery (6 us of SQLite per delivery in the bench). Parsed only when
   * claimed: a backlog larger than EVENTS_KEPT pushes it out unparsed, and its claim reads it.
   * The row is this process's own copy; the caller must not change it.
   *
   * Not kept while the claims are more than EVENTS_KEPT seqs behind it (a backlog): more events
   * would be recorded after it than are kept before a claim asked for it, so it would be pushed
   * out unclaimed, having lived long enough to reach V8's old generation. At fan-out 1 in the
   * bench (20k events recorded faster than they are sent) every kept row went that way: ~1.6 KB
   * promoted per delivery, mark-compacts 7 -> 4 and GC pause 17 -> 13 us per delivery without
   * them. The gap in seqs bounds the events recorded in between (other stacks' and events without
   * executions count too, so it errs towards not keeping). `executions`: how many it has (see
   * known).
   *
   * `listed`: how many of them were written leased for this process's dispatcher (prelease.ts).
   * With two or more, and all of them listed, it is held until they were all claimed (see `held`),
   * backlog or not: its claims come soon (the list is bounded by expected wait), and each read of
   * it saved is a read of the whole row. One listed execution (fan-out 1) is kept as before: held,
   * each event reached V8's old generation in a backlog, for one read saved.
   */
  recorded(row: EventRow, executions: number, listed = 0): void {
    const seq = Number(row.seq);
    if (listed >= 2 && listed === executions && this.held.size < EVENTS_HELD) {
      this.held.set(seq, { row, event: undefined, left: executions });
      return;
    }
    if (this.claimedUpTo >= 0 && seq - this.claimedUpTo > EVENTS_KEPT) return;
    this.keep(seq, row, undefined, executions);
  }

  /**
   * The webhook rows kept while `changes` (the count of webhook writes, read just now) is the one
   * they were read at; emptied, and kept from now on at `changes`, when it moved. The caller adds
   * the rows it reads (no more than WEBHOOKS_KEPT are kept).
   */
  webhookRows(changes: number): Map<string, WebhookRow> {
    if (changes !== this.webhookChanges || this.hookRows.size >= WEBHOOKS_KEPT) {
      this.hookRows = new Map();
      this.webhookChanges = changes;
    }
    return this.hookRows;
  }

  /** Forgets the held events (the list was emptied: its executions are claimed by scans, reading them). */
  release(): void {
    for (const k of this.held.values()) emptied(k);
    this.held.clear();
  }

  private keep(seq: number, row: EventRow, event: ClaimedEvent | undefined, left?: number): void {
    const was = this.events.get(seq);
    if (was !== undefined) {
      this.events.delete(seq);
      emptied(was);
    } else if (this.events.size >= EVENTS_KEPT) {
      const [oldest, k] = this.events.entries().next().value!;
      this.events.delete(oldest);
      emptied(k);
    }
    this.events.set(seq, { row, event, left });
  }
}

const stores = new WeakMap<object, DecodedEvents>();

/** The events decoded in `store` (a Db): a seq means one event per store, never one across stores. */
export function decodedEvents(store: object): DecodedEvents {
  let events = stores.get(store);
  if (!events) stores.set(store, (events = new DecodedEvents()));
  return events;
}
