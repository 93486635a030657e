/**
 * The one small interface every storage backend implements: SQLite (sqlite.ts, the embedded
 * default) and PostgreSQL (postgres.ts, for several processes on one database).
 *
 * Everything above this layer speaks portable SQL through it:
 * - placeholders are `?` (a backend rewrites them if its driver wants `$1`);
 * - JSON is stored as TEXT and parsed by the caller; booleans as integers 0/1;
 * - times are integer milliseconds since the epoch (BIGINT on PostgreSQL, returned as numbers);
 * - no backend-specific functions in shared SQL: where a statement must differ (claiming due work
 *   with SKIP LOCKED, say), the backend exposes it, and `dialect` lets a repository choose.
 *
 * Reads outside a transaction only ever see committed data. Writes that must happen together go
 * through `tx()`: the callback's statements commit together or not at all, and `afterCommit`
 * callbacks run only once they have (this is where the dispatcher is woken).
 *
 * Concurrency differs, and shared code must hold on both: SQLite runs one transaction at a time;
 * PostgreSQL runs many at once (READ COMMITTED, several processes), so a check-then-write that
 * must not interleave takes `tx.lock?.([key])` first. A unique violation that a check-then-insert
 * race lets through is a `conflict` HeraldError on PostgreSQL (see `isUniqueViolation`); a busy,
 * unreachable or full database is `unavailable` (503) on both.
 */
export interface Queryable {
  all<T = Row>(sql: string, params?: unknown[]): Promise<T[]>;
  get<T = Row>(sql: string, params?: unknown[]): Promise<T | undefined>;
  /**
   * Runs a statement; `changes` counts the rows it wrote. `lastRowid` (SQLite only): the rowid of
   * the last row an INSERT of this connection wrote (sqlite3_last_insert_rowid; a trigger's inserts
   * do not count once it ended), meaningful only right after an INSERT of one row into a table whose
   * INTEGER PRIMARY KEY it is: events/record.ts reads an event's seq so, without a RETURNING.
   */
  run(sql: string, params?: unknown[]): Promise<{ changes: number; lastRowid?: number }>;
  /**
   * As `all`, each row an array of its values in the statement's column order, for reads the
   * delivery path runs per claim or outcome. An object per row costs SQLite's driver a look-up of
   * each column's name and a property added one by one, per row: reading back 16 events (14
   * columns) took 3.7-3.8 us a row as objects, 2.0-2.2 as arrays (better-sqlite3, in memory).
   */
  values<T extends unknown[] = unknown[]>(sql: string, params?: unknown[]): Promise<T[]>;
}

export interface Tx extends Queryable {
  /** The backend this transaction runs on, as Db's: for statement texts that differ (manyRows). */
  readonly dialect: Db['dialect'];
  /** Runs `fn` after this transaction commits; never if it rolls back. */
  afterCommit(fn: () => void): void;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
  /**
   * Serializes with every other transaction that locks any of the same `keys`, until this one
   * ends (PostgreSQL: transaction-scoped advisory locks, taken in one consistent order so two
   * transactions locking overlapping sets in one call never deadlock on them). Absent on SQLite,
   * where one transaction writes at a time anyway: call it as `tx.lock?.(keys)`.
   */
  lock?(keys: string[]): Promise<void>;
  /**
   * Like `lock`, without waiting: true when every key was free and is now held; false when any is
   * held by another transaction (then some of the others may be held: end this transaction). For a
   * transaction that must never wait for one key while holding another (queue/complete.ts). Absent
   * on SQLite, like `lock`.
   */
  tryLock?(keys: string[]): Promise<boolean>;
}

export interface TxOptions {
  /**
   * SQLite: `fn` may share its transaction's BEGIN and COMMIT with others asked for in the same
   * turn of the event loop (see sqlite.ts, `gathered`). Each still commits with its own writes or
   * not at all, fails alone, and its afterCommit callbacks run once its writes committed. For `fn`s
   * that only read and write through `tx` (so they can run again in a transaction of their own).
   * PostgreSQL runs transactions side by side already and ignores it. Default false.
   */
  gather?: boolean;
}

export interface Db extends Queryable {
  readonly dialect: 'sqlite' | 'postgres';
  /** Runs `fn` in one transaction: all its writes commit together, or none do if it throws. */
  tx<T>(fn: (tx: Tx) => Promise<T>, opts?: TxOptions): Promise<T>;
  close(): Promise<void>;
  /**
   * As `values`, outside any transaction (committed rows only), for a read the delivery path runs
   * often of rows a writer just wrote: SQLite runs it on the writer's connection whenever no
   * transaction is open there, whose page cache holds the pages it wrote and stays warm across its
   * own commits; the reader's is thrown away at its next read after any commit (WAL), so each
   * such read started cold (sqlite.ts, committedValues). Read-only statements only: anything else
   * throws. Absent on PostgreSQL (use `values`).
   */
  committedValues?<T extends unknown[] = unknown[]>(sql: string, params?: unknown[]): Promise<T[]>;
  /**
   * Signals (PostgreSQL LISTEN/NOTIFY) reach every Herald process on the database, this one
   * included. Absent on SQLite: one process owns the store, there is nobody else to tell.
   *
   * `notify` is fire-and-forget, sent at once (call it after commit) and coalesced per channel and
   * payload; a signal can be lost (connection down), so a listener keeps a fallback such as a
   * timer. `listen` calls `fn` with each signal's payload, and with '' after its connection was
   * lost and restored (signals may have been missed); it resolves to a function that stops it.
   */
  notify?(channel: string, payload?: string): void;
  listen?(channel: string, fn: (payload: string) => void): Promise<() => Promise<void>>;
}

export type Row = Record<string, unknown>;

/** `item, item, ...`: `n` copies, comma-separated: a list of `?` placeholders, or of VALUES rows. */
export const repeated = (n: number, item = '?') => Array.from({ length: n }, () => item).join(', ');

/**
 * The conflict clause of a statement that writes several rows on the delivery path (`INSERT
 * ${manyRows(d)}INTO`, `UPDATE ${manyRows(d)}executions`): `OR FAIL ` on SQLite, nothing on
 * PostgreSQL. Under SQLite's default (ABORT) such a statement gets a statement journal, so that a
 * failed constraint undoes its own rows and keeps the transaction: every page it first changes is
 * copied into memory before. Herald never goes on with a transaction after a failed statement
 * (tx() rolls it back, a gathered member rolls back to its savepoint: sqlite.ts), so that undo is
 * never needed, and OR FAIL, which keeps the rows written before the failure and ends the
 * statement, leaves the journal out. callgrind, bench:rows fan-out 10: ~13% of SQLite's
 * instructions per delivery were those copies (subjournalPageIfRequired, memjrnlWrite).
 */
export function manyRows(dialect: 'sqlite' | 'postgres'): string {
  return dialect === 'sqlite' ? 'OR FAIL ' : '';
}

/** memo() per dialect: `build(k, manyRows(dialect), dialect)` kept apart for each backend. */
export function memoByDialect<K extends string | number>(
  build: (k: K, orFail: string, dialect: 'sqlite' | 'postgres') => string,
): (dialect: 'sqlite' | 'postgres', k: K) => string {
  const sqlite = memo<K>((k) => build(k, manyRows('sqlite'), 'sqlite'));
  const postgres = memo<K>((k) => build(k, manyRows('postgres'), 'postgres'));
  return (dialect, k) => (dialect === 'sqlite' ? sqlite(k) : postgres(k));
}

/**
 * Parameters of a VALUES list (or a SELECT's column list) on the delivery path, typed as `types`
 * says where the backend needs it: PostgreSQL receives parameters untyped, so each is cast
 * (`CAST(? AS BIGINT)`); SQLite's are bare `?`, since the columns they are stored in or compared
 * with apply their own affinity (an INTEGER column stores a whole REAL as an integer, and compares
 * by number). Each CAST was a VDBE op and a conversion per value: callgrind, bench:rows fan-out 10,
 * SQLite's instructions per delivery 53.5k -> 52.8k without enqueue.ts's executions INSERT's (15
 * per row). complete.ts's UPDATE..FROM keeps its casts: without them too, 52.7k at fan-out 10 and
 * nothing at fan-out 1 (81.08k, 81.10k).
 */
export function typedParams(dialect: 'sqlite' | 'postgres', ...types: Array<'TEXT' | 'BIGINT'>): string {
  return types.map((t) => (dialect === 'postgres' ? `CAST(? AS ${t})` : '?')).join(', ');
}

/**
 * A statement's text per shape (a row count, say), built once and the same string after: SQLite
 * (sqlite.ts) finds a prepared statement by its text, and a Map lookup of a string built anew
 * hashes and compares it in full (a multi-row statement's text runs to kilobytes). Shapes are few
 * (row counts up to a chunk's size); past `kept` the texts are built again.
 */
export function memo<K extends string | number>(build: (k: K) => string, kept = 1_000): (k: K) => string {
  const texts = new Map<K, string>();
  return (k) => {
    let text = texts.get(k);
    if (text === undefined) {
      if (texts.size >= kept) texts.clear();
      texts.set(k, (text = build(k)));
    }
    return text;
  };
}

/** Parses a TEXT column that holds JSON; `null` stays `null`. */
export function json<T = unknown>(value: unknown): T {
  if (value === null || value === undefined) return null as T;
  return JSON.parse(String(value)) as T;
}

/**
 * Whether `err` is a unique-key violation, on either backend: raw (SQLite's constraint codes,
 * PostgreSQL's 23505) or as the `conflict` HeraldError the PostgreSQL backend turns it into.
 */
export function isUniqueViolation(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 4; e = e.cause as typeof e, depth++) {
    if (e.code === '23505' || e.code === 'SQLITE_CONSTRAINT_UNIQUE' || e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return true;
  }
  return false;
}
