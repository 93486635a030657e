import type { Queryable, Tx } from '../store/db.ts';
import { json, manyRows } from '../store/db.ts';
import { diffChanges } from './changes.ts';
import type { EventInput, HeraldEvent, Module } from './event.ts';

/**
 * Fan-out: given a freshly recorded event, inside the same transaction, create the deliveries
 * (executions) of every matching webhook. The webhook engine provides it; it returns how many
 * executions it created. `stored` is the event's row as written (what a read of it would return),
 * so the engine can keep it for its claims rather than read it back (delivery/queue/decoded.ts).
 */
export type FanOut = (tx: Tx, event: HeraldEvent, stored: EventRow) => Promise<number>;

export interface EventLog {
  /**
   * Appends an event in the caller's transaction and fans it out, so the change, its event and
   * its deliveries commit together or not at all.
   */
  record(tx: Tx, input: EventInput): Promise<HeraldEvent>;
  /** A stack's events after `after` (exclusive), oldest first. */
  list(db: Queryable, apiKey: string, after: number, limit: number): Promise<HeraldEvent[]>;
  /** Subscribes to events once their transaction committed (metrics). */
  onRecorded(fn: (event: HeraldEvent) => void): void;
}

const COLUMNS = 'api_key, branch, module, action, uid, content_type_uid, locale, environment, actor, actor_name, changes, data, created_at';
/**
 * The INSERT per backend: OR FAIL on SQLite (store/db.ts manyRows). One row, but its RETURNING made
 * SQLite keep a statement journal all the same, a copy of each page it first changes (callgrind,
 * bench:rows fan-out 1, 300 deliveries: SQLite and libc 98.5k -> 89.8k instructions per delivery).
 * A one-row INSERT checks its constraints before it writes, so a failed one leaves nothing either way.
 * SQLite has no RETURNING: the new seq is the connection's last insert rowid (Queryable.run's
 * `lastRowid`; seq is the table's INTEGER PRIMARY KEY, and no trigger inserts on events). RETURNING
 * buffers its rows and steps the statement again to hand them out: ~3 us of ~13-16 per event
 * (better-sqlite3, the 13 columns, OR FAIL, a real file). PostgreSQL keeps its RETURNING.
 * `repeat`: an event marked EventInput.contentful_repeat; the mark is stored, so a replay and a dry run see it.
 */
const insertSql = (dialect: 'sqlite' | 'postgres') => {
  const returning = dialect === 'postgres' ? ' RETURNING seq' : '';
  return {
    plain: `INSERT ${manyRows(dialect)}INTO events (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)${returning}`,
    repeat: `INSERT ${manyRows(dialect)}INTO events (${COLUMNS}, contentful_repeat) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)${returning}`,
  };
};
const INSERT = { sqlite: insertSql('sqlite'), postgres: insertSql('postgres') };

/** SQLite: the rowid an INSERT of one row wrote (see insertSql). */
function insertedRowid(r: { changes: number; lastRowid?: number }): number {
  if (r.changes !== 1 || r.lastRowid === undefined) throw new Error(`events INSERT wrote ${r.changes} rows, rowid ${r.lastRowid}`);
  return r.lastRowid;
}

export function createEventLog(fanOut: FanOut): EventLog {
  const listeners: Array<(event: HeraldEvent) => void> = [];
  /** Each open transaction's events for the listeners, once it commits. */
  const toTell = new WeakMap<Tx, HeraldEvent[]>();
  return {
    onRecorded(fn) {
      listeners.push(fn);
    },
    async record(tx, input) {
      // Scale-out (PostgreSQL): transactions that record a stack's events take turns from here to
      // commit, so its sequence numbers commit in order and a reader paging with `after` never
      // skips one that commits late. No-op on SQLite (one writer at a time).
      if (tx.lock) await tx.lock([`events:${input.api_key}`]);
      const createdAt = Date.now();
      const { versions, dataText, ...rest } = input;
      const changes = versions && (input.action === 'update' || input.action === 'auto_save') ? diffChanges(input.module as Module, versions.before, versions.after) : null;
      const actorName = input.actor === 'admin' ? 'admin' : (input.actor_name ?? null);
      const stored: EventRow = {
        seq: 0,
        api_key: input.api_key,
        branch: input.branch,
        module: input.module,
        action: input.action,
        uid: input.uid,
        content_type_uid: input.content_type_uid ?? null,
        locale: input.locale ?? null,
        environment: input.environment ?? null,
        actor: input.actor,
        actor_name: actorName,
        changes: changes ? JSON.stringify(changes) : null,
        data: dataText ?? JSON.stringify(input.data),
        created_at: createdAt,
      };
      const params = [
        stored.api_key,
        stored.branch,
        stored.module,
        stored.action,
        stored.uid,
        stored.content_type_uid,
        stored.locale,
        stored.environment,
        stored.actor,
        stored.actor_name,
        stored.changes,
        stored.data,
        stored.created_at,
      ];
      // A repeat (rare: a multi-locale asset publish) keeps its mark; other events leave the column NULL.
      if (input.contentful_repeat) stored.contentful_repeat = 1;
      const sql = input.contentful_repeat ? INSERT[tx.dialect].repeat : INSERT[tx.dialect].plain;
      const values = input.contentful_repeat ? [...params, 1] : params;
      stored.seq = tx.dialect === 'sqlite' ? insertedRowid(await tx.run(sql, values)) : Number((await tx.get<{ seq: number }>(sql, values))!.seq);
      // The copy's own properties set in place, as Object.assign(rest, { actor_name, ... }) sets
      // them (in that order), without the literal; not `{ ...rest, actor_name, ... }`: V8 (Node 20)
      // takes ~6 us for a spread followed by keys the spread object lacks, against 0.25 us.
      const event = rest as HeraldEvent;
      event.actor_name = actorName;
      event.changes = changes;
      event.seq = stored.seq;
      event.created_at = createdAt;
      await fanOut(tx, event, stored);
      if (listeners.length) {
        // One hook per transaction for its events, told in the order they were recorded (a hook
        // and two closures per event were ~0.1 KB). Out of the WeakMap at commit, as delivery.ts's.
        let told = toTell.get(tx);
        if (told === undefined) {
          const mine: HeraldEvent[] = [];
          toTell.set(tx, (told = mine));
          tx.afterCommit(() => {
            toTell.delete(tx);
            for (const e of mine) for (const l of listeners) l(e);
          });
        }
        told.push(event);
      }
      return event;
    },

    async list(db, apiKey, after, limit) {
      const rows = await db.all<EventRow>(
        // The feed is content changes and jobs (what the backup center reads); operational events are
        // delivered to webhooks only.
        "SELECT * FROM events WHERE api_key = ? AND seq > ? AND module NOT IN ('webhook', 'execution') ORDER BY seq LIMIT ?",
        [apiKey, after, limit],
      );
      return rows.map(eventFromRow);
    },
  };
}

/** A stack's newest `limit` events, newest first (webhook preview). */
export async function latestEvents(db: Queryable, apiKey: string, limit: number): Promise<HeraldEvent[]> {
  const rows = await db.all<EventRow>('SELECT * FROM events WHERE api_key = ? ORDER BY seq DESC LIMIT ?', [apiKey, limit]);
  return rows.map(eventFromRow);
}

export interface EventRow {
  seq: number;
  api_key: string;
  branch: string;
  module: string;
  action: string;
  uid: string;
  content_type_uid: string | null;
  locale: string | null;
  environment: string | null;
  actor: string;
  /** Absent from SELECTs that do not ask for it (then the event has no name and no changes). */
  actor_name?: string | null;
  changes?: string | null;
  data: string;
  created_at: number;
  /** 1: EventInput.contentful_repeat (store 027); NULL, or absent from SELECTs that do not ask for it, otherwise. */
  contentful_repeat?: number | null;
}

/**
 * Where an event read from its row (eventFromRow) keeps the JSON text of its `data`, beside the
 * data parsed from it; see dataJson. A non-enumerable property: copies, JSON and comparisons do
 * not see it (a WeakMap by event cost 5x the whole eventFromRow, in the garbage collector).
 */
const STORED_DATA = Symbol('stored data');
interface StoredData {
  text: string;
  data: unknown;
}

export function dataJson(event: HeraldEvent): string {
  if (event instanceof ClaimedEvent) return event.dataJson();
  const stored = (event as { [STORED_DATA]?: StoredData })[STORED_DATA];
  return stored !== undefined && stored.data === event.data ? stored.text : JSON.stringify(event.data);
}

/** `data` not parsed yet (ClaimedEvent). */
const UNPARSED = Symbol('unparsed');

/**
 * An event as the delivery path holds it once claimed (delivery/queue/decoded.ts): eventFromRow's
 * fields, but `data` parsed from the row's text only when something reads it. Herald's own body
 * (formats/contentstack.ts, and CloudEvents' around it) splices that text in (dataJson) and never
 * reads `data`, so most deliveries never parse it: at fan-out 1 the parse was ~2-3 us and ~1.1 KB
 * per delivery, and the parsed tree, kept with the claim and the decoded events, was among what
 * reached the old generation (bench fan-out 1, session 10).
 *
 * A class rather than an accessor on each object (Object.defineProperty turns an object's
 * properties into a dictionary: ~1 KB and ~1 us each). `data` lives on the prototype, so a spread
 * or Object.assign copy of one lacks it: copy with withFoldedSeqs; JSON.stringify goes through
 * toJSON. Shared by claims (decoded.ts), so never changed; `data` may still be set, which stops the
 * row's text from being used.
 */
export class ClaimedEvent implements HeraldEvent {
  seq: number;
  api_key: string;
  branch: string;
  module: HeraldEvent['module'];
  action: HeraldEvent['action'];
  uid: string;
  content_type_uid: string | null;
  locale: string | null;
  environment: string | null;
  actor: string;
  actor_name: string | null;
  changes: HeraldEvent['changes'];
  created_at: number;
  // Declared only: set on a debounced execution's copy (withFoldedSeqs), absent otherwise.
  declare folded_seqs?: number[];
  /** The row read (kept by the caller anyway), for its `data` text. */
  readonly #row: EventRow;
  /** `data` once parsed (or set); UNPARSED until then. */
  #data: Record<string, unknown> | typeof UNPARSED = UNPARSED;
  /** Whether `data` was set: the row's text no longer says what it holds. */
  #replaced = false;

  constructor(r: EventRow) {
    this.seq = Number(r.seq);
    this.api_key = r.api_key;
    this.branch = r.branch;
    this.module = r.module as HeraldEvent['module'];
    this.action = r.action as HeraldEvent['action'];
    this.uid = r.uid;
    this.content_type_uid = r.content_type_uid;
    this.locale = r.locale;
    this.environment = r.environment;
    this.actor = r.actor;
    this.actor_name = r.actor_name ?? null;
    this.changes = r.changes ? json(r.changes) : null;
    this.created_at = Number(r.created_at);
    this.#row = r;
  }

  get data(): Record<string, unknown> {
    if (this.#data === UNPARSED) this.#data = json<Record<string, unknown>>(this.#row.data);
    return this.#data;
  }
  set data(data: Record<string, unknown>) {
    this.#data = data;
    this.#replaced = true;
  }

  /** JSON.stringify(this.data): the row's text while `data` is the row's (record() wrote it with JSON.stringify). */
  dataJson(): string {
    return !this.#replaced && typeof this.#row.data === 'string' ? this.#row.data : JSON.stringify(this.data);
  }

  /** A copy carrying `folded_seqs` (a debounced execution's); this one is left as it is. */
  withFoldedSeqs(folded: number[]): ClaimedEvent {
    const copy = new ClaimedEvent(this.#row);
    if (this.#replaced) copy.data = this.#data as Record<string, unknown>;
    copy.folded_seqs = folded;
    return copy;
  }

  /** The plain event, as eventFromRow makes it (JSON.stringify would otherwise leave `data` out). */
  toJSON(): HeraldEvent {
    const { seq, api_key, branch, module, action, uid, content_type_uid, locale, environment, actor, actor_name, changes, created_at, folded_seqs } = this;
    const plain: HeraldEvent = { seq, api_key, branch, module, action, uid, content_type_uid, locale, environment, actor, actor_name, changes, data: this.data, created_at };
    if (folded_seqs) plain.folded_seqs = folded_seqs;
    return plain;
  }
}

export function eventFromRow(r: EventRow): HeraldEvent {
  const event: HeraldEvent = {
    seq: Number(r.seq),
    api_key: r.api_key,
    branch: r.branch,
    module: r.module as HeraldEvent['module'],
    action: r.action as HeraldEvent['action'],
    uid: r.uid,
    content_type_uid: r.content_type_uid,
    locale: r.locale,
    environment: r.environment,
    actor: r.actor,
    actor_name: r.actor_name ?? null,
    changes: r.changes ? json(r.changes) : null,
    data: json(r.data),
    created_at: Number(r.created_at),
  };
  if (r.contentful_repeat != null && Number(r.contentful_repeat) === 1) event.contentful_repeat = true;
  if (typeof r.data === 'string') Object.defineProperty(event, STORED_DATA, { value: { text: r.data, data: event.data } satisfies StoredData });
  return event;
}
