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
 * Fan-out 1 events recorded behind a backlog with their one execution listed, held packed at most
 * (see PackedEvents).
 */
export const EVENTS_PACKED = 16_384;
/**
 * Packed events are written one after another into slabs of this many bytes, off V8's heap; one
 * that may need more than a slab (3 bytes a UTF-16 unit) is not packed.
 */
const SLAB_BYTES = 64 * 1024;
/**
 * Slabs holding a packed event not claimed yet, at most, in bytes: a slab is kept whole while any
 * of its events is (a slow webhook's event among faster ones'), so this, not the count of events,
 * bounds the memory. Past it, events are not packed (their claims read them).
 */
export const PACKED_BYTES = 32 * 1024 * 1024;
const MAX_SLABS = PACKED_BYTES / SLAB_BYTES;
/** Slots of the packed events' index by seq (seq modulo SLOTS), a power of two over EVENTS_PACKED. */
const SLOTS = 32_768;
/** Spare slabs kept once no event is packed (1 MiB): a backlog's are let go when it ends. */
const SPARE_KEPT = 16;
/** Distinct shapes (PackedEvents.shapes) held at most while any packed event is. */
const SHAPES_KEPT = 1_024;

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

/** The columns packed events share (PackedEvents' shapes): the event's own columns but seq, uid, changes, data and created_at. */
const SHAPE_FIELDS = ['api_key', 'branch', 'module', 'action', 'content_type_uid', 'locale', 'environment', 'actor', 'actor_name'] as const;

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
   * Fan-out 1 events recorded with their one execution listed while the claims are more than
   * EVENTS_KEPT seqs behind (a backlog), held until claimed, packed off V8's heap (PackedEvents):
   * their claims read each back otherwise (bench fan-out 1: 0.97 event rows read per delivery,
   * ~2.5 us of SQLite and a row's values made), and held whole each reached V8's old generation
   * (~1.6 KB promoted per delivery, see recorded()).
   */
  private packed = new PackedEvents();
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
    if (hit === undefined) return this.packed.size === 0 ? undefined : this.packed.take(seq);
    const event = (hit.event ??= new ClaimedEvent(hit.row!));
    if (hit.left !== undefined && (hit.left -= claims) <= 0) {
      kept.delete(seq);
      emptied(hit);
    }
    return event;
  }

  /** Whether the event with `seq` is kept (no side effect, unlike known). */
  holds(seq: number): boolean {
    return this.held.has(seq) || this.events.has(seq) || this.packed.has(seq);
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
   * it saved is a read of the whole row. One listed execution (fan-out 1) is kept as before, and
   * behind a backlog held packed (see packed): held whole, each event reached V8's old generation,
   * for one read saved.
   */
  recorded(row: EventRow, executions: number, listed = 0): void {
    const seq = Number(row.seq);
    if (listed >= 2 && listed === executions && this.held.size < EVENTS_HELD) {
      this.held.set(seq, { row, event: undefined, left: executions });
      return;
    }
    if (this.claimedUpTo >= 0 && seq - this.claimedUpTo > EVENTS_KEPT) {
      if (listed === 1 && executions === 1) this.packed.put(seq, row);
      return;
    }
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
    this.packed.clear();
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

/**
 * Events held packed off V8's heap (DecodedEvents.packed), each until its one claim: no object per
 * event on V8's heap. Bench fan-out 1 line, mark-compacts (base: 1): each event's columns that
 * differ in an object and its text in a Buffer's view of a slab (~0.15 KB an event on the heap), 5,
 * 4, 2, GC helper threads 31-38 us per delivery against 11; nothing on the heap, slabs dropped
 * when emptied, 2, 3, 2 (their memory counts as V8's external memory until a mark-compact finds
 * their Buffers dead); nothing on the heap and emptied slabs reused, 1-2.
 *
 * Each event is written into a slab (SLAB_BYTES, Buffers made with allocUnsafeSlow: outside V8's
 * generations), as created_at (float64), its shape (uint16: the index in `shapes` of a row with
 * the columns events share, SHAPE_FIELDS), then uid, changes (length 0xffffffff: null) and data,
 * each as its UTF-8 length (uint32) and bytes. An
 * index by seq (typed arrays, SLOTS slots, seq modulo SLOTS) gives its slab and offset; an event
 * whose slot is taken (one SLOTS seqs older not claimed yet) is not packed.
 */
class PackedEvents {
  /** Per slot: the seq held there (-1: none). Made with the first event packed (512 KiB with `where`). */
  private seqs: Float64Array | null = null;
  /** Per slot: slab * SLAB_BYTES + offset. */
  private where = new Float64Array(0);
  private slabs: Array<Buffer | null> = [];
  /** Per slab: its events not claimed yet. */
  private live = new Int32Array(MAX_SLABS);
  private freeSlabs: number[] = [];
  /**
   * Slabs whose events were all claimed, for reuse (with `slabs`, at most MAX_SLABS): each new
   * one is external memory V8 counts until a mark-compact. Once no event is packed, SPARE_KEPT.
   */
  private spare: Buffer[] = [];
  /** The slab written now (-1: none), and where its free part starts. */
  private current = -1;
  private at = 0;
  private shapes: EventRow[] = [];
  size = 0;

  has(seq: number): boolean {
    return this.seqs !== null && this.seqs[seq & (SLOTS - 1)] === seq;
  }

  /** Holds `row` packed, unless it may not fit a slab, its slot is taken, or the bounds are reached. */
  put(seq: number, row: EventRow): void {
    if (this.size >= EVENTS_PACKED || typeof row.data !== 'string') return;
    if (this.seqs === null) {
      this.seqs = new Float64Array(SLOTS).fill(-1);
      this.where = new Float64Array(SLOTS);
    }
    const slot = seq & (SLOTS - 1);
    if (this.seqs[slot] !== -1) return;
    const uid = row.uid;
    const changes = row.changes ?? null;
    const data = row.data;
    // At most 3 bytes of UTF-8 per UTF-16 unit (a surrogate pair's 4 bytes are two units').
    const most = 8 + 2 + 12 + 3 * (uid.length + (changes === null ? 0 : changes.length) + data.length);
    if (most > SLAB_BYTES) return;
    const shape = this.shapeOf(row);
    if (shape < 0) return;
    let slab = this.current;
    if (slab < 0 || this.at + most > SLAB_BYTES) {
      if (slab >= 0 && this.live[slab] === 0) this.freeSlab(slab);
      this.current = -1;
      slab = this.freeSlabs.length > 0 ? this.freeSlabs.pop()! : this.slabs.length;
      if (slab >= MAX_SLABS) return;
      this.slabs[slab] = this.spare.pop() ?? Buffer.allocUnsafeSlow(SLAB_BYTES);
      this.current = slab;
      this.at = 0;
    }
    const buf = this.slabs[slab]!;
    const start = this.at;
    let at = buf.writeDoubleLE(Number(row.created_at), start);
    at = buf.writeUInt16LE(shape, at);
    at = putText(buf, at, uid);
    at = changes === null ? buf.writeUInt32LE(0xffffffff, at) : putText(buf, at, changes);
    this.at = putText(buf, at, data);
    this.live[slab]++;
    this.seqs[slot] = seq;
    this.where[slot] = slab * SLAB_BYTES + start;
    this.size++;
  }

  /** The packed event with `seq` as a ClaimedEvent, forgotten (its one execution is claimed now); undefined when not held. */
  take(seq: number): HeraldEvent | undefined {
    const slot = seq & (SLOTS - 1);
    if (this.seqs === null || this.seqs[slot] !== seq) return undefined;
    this.seqs[slot] = -1;
    this.size--;
    const w = this.where[slot];
    const slab = Math.floor(w / SLAB_BYTES);
    const buf = this.slabs[slab]!;
    let at = w - slab * SLAB_BYTES;
    const createdAt = buf.readDoubleLE(at);
    const shape = this.shapes[buf.readUInt16LE(at + 8)];
    at += 10;
    let n = buf.readUInt32LE(at);
    const uid = buf.toString('utf8', at + 4, at + 4 + n);
    at += 4 + n;
    n = buf.readUInt32LE(at);
    let changes: string | null = null;
    if (n === 0xffffffff) at += 4;
    else {
      changes = buf.toString('utf8', at + 4, at + 4 + n);
      at += 4 + n;
    }
    n = buf.readUInt32LE(at);
    const row: EventRow = {
      seq,
      api_key: shape.api_key,
      branch: shape.branch,
      module: shape.module,
      action: shape.action,
      uid,
      content_type_uid: shape.content_type_uid,
      locale: shape.locale,
      environment: shape.environment,
      actor: shape.actor,
      actor_name: shape.actor_name,
      changes,
      data: buf.toString('utf8', at + 4, at + 4 + n),
      created_at: createdAt,
    };
    if (--this.live[slab] === 0 && slab !== this.current) this.freeSlab(slab);
    if (this.size === 0) {
      this.shapes.length = 0;
      if (this.spare.length > SPARE_KEPT) this.spare.length = SPARE_KEPT;
    }
    return new ClaimedEvent(row);
  }

  clear(): void {
    this.seqs?.fill(-1);
    this.live.fill(0);
    this.slabs = [];
    this.freeSlabs = [];
    this.spare = [];
    this.current = -1;
    this.shapes = [];
    this.size = 0;
  }

  private freeSlab(slab: number): void {
    this.spare.push(this.slabs[slab]!);
    this.slabs[slab] = null;
    this.freeSlabs.push(slab);
  }

  /** The index in `shapes` of a row with `row`'s shared columns (SHAPE_FIELDS), added when new; -1: too many. */
  private shapeOf(row: EventRow): number {
    const shapes = this.shapes;
    // The newest few first: events come in runs of one stack's changes.
    next: for (let i = shapes.length - 1, end = Math.max(0, shapes.length - 8); i >= end; i--) {
      for (const f of SHAPE_FIELDS) if (shapes[i][f] !== (row[f] ?? null)) continue next;
      return i;
    }
    if (shapes.length >= SHAPES_KEPT) return -1;
    const shape = {} as Record<string, unknown>;
    for (const f of SHAPE_FIELDS) shape[f] = row[f] ?? null;
    shapes.push(shape as unknown as EventRow);
    return shapes.length - 1;
  }
}

/** `text` at `at` in `buf` as its UTF-8 length (uint32) and bytes; returns where it ends. */
function putText(buf: Buffer, at: number, text: string): number {
  const n = buf.write(text, at + 4, 'utf8');
  buf.writeUInt32LE(n, at);
  return at + 4 + n;
}

const stores = new WeakMap<object, DecodedEvents>();

/** The events decoded in `store` (a Db): a seq means one event per store, never one across stores. */
export function decodedEvents(store: object): DecodedEvents {
  let events = stores.get(store);
  if (!events) stores.set(store, (events = new DecodedEvents()));
  return events;
}
