import Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { HeraldError } from '../errors.ts';
import type { Db, Queryable, Row, Tx, TxOptions } from './db.ts';
import { migrate } from './migrate.ts';
import { Checkpointer } from './sqlite-checkpoint.ts';

export interface SqliteOptions {
  /**
   * Checkpoint the WAL on a thread of its own (sqlite-checkpoint.ts) rather than inside commits on
   * the event loop: what a long-running server wants. Off for short-lived commands and tests that
   * open the store directly.
   */
  checkpointThread?: boolean;
  /** Told when the checkpoint thread fails (SQLite's own checkpoint then does the job). */
  onCheckpointError?: (err: Error) => void;
}

/**
 * The embedded backend: one SQLite file in WAL mode.
 *
 * Two connections: a writer, used by one transaction at a time (an async mutex queues the rest,
 * since SQLite has a single writer anyway), and a reader for reads outside transactions, which
 * under WAL sees only committed data and never waits for the writer.
 *
 * synchronous=NORMAL: in WAL mode a commit survives a process crash (kill -9); only an OS crash or
 * power loss can lose the last transactions. That is the trade the delivery path is measured with.
 */
export async function openSqlite(file: string, opts: SqliteOptions = {}): Promise<Db> {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const writer = new Database(file);
  tuneWriter(writer);
  const db = new SqliteDb(writer, file);
  await migrate(db);
  tuneWriterAfterMigrations(writer);
  db.openReader();
  if (opts.checkpointThread && file !== ':memory:') db.startCheckpoints(opts.onCheckpointError ?? (() => {}));
  return db;
}

/**
 * The writer connection's settings (exported for bench/store-rows.ts, which measures the store's
 * statements on a connection set up the same way).
 */
export function tuneWriter(writer: Database.Database): void {
  enterWal(writer);
  writer.pragma('synchronous = NORMAL');
  writer.pragma('foreign_keys = ON');
  // Milliseconds a statement waits for another process's lock (e.g. `herald db backup`).
  writer.pragma('busy_timeout = 5000');
  // SQLite's own checkpoint, inside the commit that crosses it: every ~40 MB (AUTOCHECKPOINT_PAGES)
  // instead of ~4 MB, since each one fsyncs and the delivery path commits thousands of small
  // transactions a second. Raised to BACKSTOP_PAGES while the checkpoint thread runs
  // (startCheckpoints), back if it fails.
  writer.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
  // 16 MiB of page cache for the writer (negative = KiB; the reader keeps SQLite's 2 MiB). It was
  // 64 MiB, and filling it was most of the RSS a Herald draining a 100k backlog gained over one
  // draining 1k (bench line "RSS ... draining a backlog": other anonymous memory 137-163 MiB at
  // 64 MiB, 91 at 8 MiB). The delivery path reads the due index and each execution's event in
  // order, mostly once; a miss is a read from the OS's page cache. CPU per delivery in the fan-out
  // lines (one machine, load ~10, alternated): 64 MiB 248-254 us, 16 MiB 263, 8 MiB 266-286.
  writer.pragma('cache_size = -16384');
}

/**
 * `journal_mode = WAL`, tried again for up to WAL_SWITCH_WAIT_MS while another process holds a lock
 * SQLite will not wait for. Switching a new file to WAL upgrades a lock; when another process
 * opening the same new file at that moment holds one too, waiting could deadlock, so SQLite answers
 * SQLITE_BUSY at once instead of calling the busy handler (busy_timeout does not help). Seen when
 * several processes open a new store together (test/store/shared.test.ts), on a loaded machine.
 */
function enterWal(writer: Database.Database): void {
  const until = Date.now() + WAL_SWITCH_WAIT_MS;
  for (;;) {
    try {
      writer.pragma('journal_mode = WAL');
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() >= until) throw err;
      // Opening a store is start-up work: a short blocking pause before the next try, ms.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10 + Math.random() * 20);
    }
  }
}

/** How long opening a store keeps trying to switch a new file to WAL (enterWal), ms: busy_timeout's 5 s. */
const WAL_SWITCH_WAIT_MS = 5_000;

/** SQLite's own checkpoint threshold when the checkpoint thread does not run, pages (4 KiB). */
export const AUTOCHECKPOINT_PAGES = 10_000;
/**
 * SQLite's own threshold while the checkpoint thread runs, pages (~100 MiB): only a bound on the
 * WAL should the thread stall. The thread lets the WAL restart past 16 MiB; at 2,400 one-event
 * commits a second on a machine so busy that Herald's thread waited 6 s of 16 for a CPU, the WAL
 * still peaked at 42 MiB (bench, session 10), where the old threshold (40 MiB) had SQLite checkpoint
 * on the event loop (a WAL fsync of ~45 ms each time).
 */
export const BACKSTOP_PAGES = 25_600;

/**
 * The writer's settings for the delivery path, once the migrations ran (exported for
 * bench/store-rows.ts too).
 */
export function tuneWriterAfterMigrations(writer: Database.Database): void {
  // Statement journals in memory. A statement that writes several rows and may fail half-way (a
  // multi-row INSERT, an UPDATE of many rows, an AUTOINCREMENT insert: the delivery path's
  // statements) first saves each page it changes, to undo just that statement. SQLite keeps that
  // journal in memory up to 64 KiB, then moves it to a temporary file for the rest of the
  // transaction, and from then on every page saved is a pwrite() system call: a fan-out's index
  // pages, or a group commit's attempts, cross 64 KiB. In memory it holds at most the pages one
  // statement changes, until that statement ends: the delivery path's statements are batches of
  // at most a few hundred rows; an UPDATE of 100k executions' state would hold ~15 MiB. `npm run
  // bench:rows` (fan-out 10, session 10): executions INSERT 17-18 -> 6.5 us a row, complete's
  // UPDATE 8-17 -> 6, events INSERT 48-54 -> 11 us. Sorts and temporary tables of the writer stay
  // in memory too (reads outside transactions go to the reader, which keeps temporary files): set
  // after the migrations, since a CREATE INDEX sorts all of a table's keys (600k rows: 55 MiB in
  // memory against 16 MiB, the page cache's, spilling to a file).
  writer.pragma('temp_store = MEMORY');
}

class Connection implements Queryable {
  private statements = new Map<string, Statement>();
  /** Statements whose rows come as arrays (see `values`): better-sqlite3 sets that per statement. */
  private arrayStatements = new Map<string, Statement>();
  constructor(readonly raw: Database.Database) {}

  /**
   * The statement for `sql`, prepared once. Callers that build SQL (a list of `?` per row, say)
   * keep the text they built per shape (see `memo` in db.ts): a Map lookup hashes and compares a
   * new string in full, and a multi-row statement's text runs to kilobytes.
   */
  private prepare(sql: string): Statement {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = this.raw.prepare(sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  // Parameters go to better-sqlite3 as arguments (spread) up to SPREAD_MAX of them, past it as one
  // array (it binds an array's elements in order): see SPREAD_MAX. Errors are mapped in a catch of
  // each method rather than through a closure per call (the delivery path runs a few statements
  // per delivery).
  allSync<T>(sql: string, params: unknown[] = []): T[] {
    try {
      return allOf(this.prepare(sql), bound(params)) as T[];
    } catch (err) {
      throw mapped(err);
    }
  }
  getSync<T>(sql: string, params: unknown[] = []): T | undefined {
    try {
      const p = bound(params);
      const stmt = this.prepare(sql);
      return (p.length <= SPREAD_MAX ? stmt.get(...p) : stmt.get(p)) as T | undefined;
    } catch (err) {
      throw mapped(err);
    }
  }
  runSync(sql: string, params: unknown[] = []): { changes: number; lastRowid?: number } {
    try {
      const stmt = this.prepare(sql);
      // A statement that returns rows (e.g. UPDATE ... RETURNING) must be run with all().
      const p = bound(params);
      if (stmt.reader) return { changes: allOf(stmt, p).length };
      const r = p.length <= SPREAD_MAX ? stmt.run(...p) : stmt.run(p);
      return { changes: r.changes, lastRowid: Number(r.lastInsertRowid) };
    } catch (err) {
      throw mapped(err);
    }
  }

  valuesSync<T extends unknown[]>(sql: string, params: unknown[] = []): T[] {
    try {
      let stmt = this.arrayStatements.get(sql);
      if (!stmt) {
        stmt = this.raw.prepare(sql).raw(true);
        this.arrayStatements.set(sql, stmt);
      }
      return allOf(stmt, bound(params)) as T[];
    } catch (err) {
      throw mapped(err);
    }
  }

  /**
   * As valuesSync, for a statement that writes nothing (better-sqlite3's `readonly`: SQLite's
   * sqlite3_stmt_readonly), else it throws: see SqliteDb.committedValues.
   */
  readValuesSync<T extends unknown[]>(sql: string, params: unknown[] = []): T[] {
    let stmt = this.arrayStatements.get(sql);
    if (!stmt) {
      stmt = this.raw.prepare(sql);
      if (!stmt.readonly) throw new Error(`not a read-only statement: ${sql.slice(0, 80)}`);
      stmt.raw(true);
      this.arrayStatements.set(sql, stmt);
    } else if (!stmt.readonly) throw new Error(`not a read-only statement: ${sql.slice(0, 80)}`);
    try {
      return allOf(stmt, bound(params)) as T[];
    } catch (err) {
      throw mapped(err);
    }
  }

  async all<T = Row>(sql: string, params?: unknown[]) {
    return this.allSync<T>(sql, params);
  }
  async get<T = Row>(sql: string, params?: unknown[]) {
    return this.getSync<T>(sql, params);
  }
  async run(sql: string, params?: unknown[]) {
    return this.runSync(sql, params);
  }
  async values<T extends unknown[] = unknown[]>(sql: string, params?: unknown[]) {
    return this.valuesSync<T>(sql, params);
  }
}

/** A statement that cannot write: a gathered member that ran only these and threw has nothing to undo. */
const READ_ONLY = /^\s*SELECT\b/i;

/**
 * Parameters a statement takes as arguments (`stmt.run(...params)`), at most; more go as one array.
 * better-sqlite3 reads an array's elements one by one through V8's API (v8::Object::Get, ~420
 * instructions each in callgrind) and an argument straight from the call's frame: a statement of
 * 1,280 parameters (complete.ts's 128 attempt rows) took 1,409 instructions per parameter as an
 * array and 905 spread, the spread included (callgrind, the whole process; the same statement
 * alone, 91-113 against 130-160 ns a parameter). The bound keeps a spread's stack use small
 * (8 bytes an argument): the delivery path's statements hold at most ~3,750 (250 rows of 15).
 */
const SPREAD_MAX = 4_096;

/** `stmt.all()` with these parameters, spread up to SPREAD_MAX. */
function allOf(stmt: Statement, p: unknown[]): unknown[] {
  return p.length <= SPREAD_MAX ? stmt.all(...p) : stmt.all(p);
}

/** `params` as SQLite takes them (see bind); the same array when nothing needs converting. */
function bound(params: unknown[]): unknown[] {
  for (let i = 0; i < params.length; i++) {
    const v = params[i];
    if (v === undefined || typeof v === 'boolean') return params.map(bind);
  }
  return params;
}

/** booleans become 0/1 (SQLite has no boolean); undefined becomes NULL. */
function bind(v: unknown): unknown {
  if (v === undefined) return null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return v;
}

/** SQLite's busy and full-disk errors become `unavailable` (503), never a bare crash. */
function wrap<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw mapped(err);
  }
}

/** `err` as Herald reports it: busy and full-disk errors as `unavailable`, others unchanged. */
function mapped(err: unknown): unknown {
  const code = (err as { code?: string }).code ?? '';
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new HeraldError('unavailable', 'The database is busy; try again.', { cause: err, retryAfter: 1 });
  }
  if (code === 'SQLITE_FULL' || code.startsWith('SQLITE_IOERR')) {
    return new HeraldError('unavailable', 'The database cannot write (disk full or I/O error).', {
      cause: err,
      retryAfter: 5,
    });
  }
  return err;
}

/**
 * A transaction's view of the writer (SqliteDb.txOf). A class, not an object literal of arrow
 * functions: Herald runs under tsx, whose esbuild names each arrow function it makes through
 * Object.defineProperty (keepNames' `__name`), so the seven closures made per transaction cost
 * ~2.8% of the CPU of entry creates through the store (CPU profile, 8 at a time, no HTTP); a
 * class's methods are named once. Its methods use `this`: pass them bound (`tx.values.bind(tx)`).
 */
class SqliteTx implements Tx {
  readonly dialect = 'sqlite' as const;
  constructor(
    private readonly w: Connection,
    private readonly hooks: Array<() => void>,
    /** A gathered member's: notes whether it ran anything but a SELECT (see SqliteDb.inGroup). */
    private readonly mark: { wrote: boolean } | undefined,
  ) {}

  private note(sql: string) {
    const mark = this.mark;
    if (mark !== undefined && !mark.wrote && !READ_ONLY.test(sql)) mark.wrote = true;
  }
  all<T = Row>(sql: string, params?: unknown[]) {
    this.note(sql);
    return this.w.all<T>(sql, params);
  }
  get<T = Row>(sql: string, params?: unknown[]) {
    this.note(sql);
    return this.w.get<T>(sql, params);
  }
  run(sql: string, params?: unknown[]) {
    this.note(sql);
    return this.w.run(sql, params);
  }
  values<T extends unknown[] = unknown[]>(sql: string, params?: unknown[]) {
    this.note(sql);
    return this.w.values<T>(sql, params);
  }
  afterCommit(fn: () => void) {
    this.hooks.push(fn);
  }
  async exec(sql: string) {
    if (this.mark) this.mark.wrote = true;
    wrap(() => this.w.raw.exec(sql));
  }
}

/** A transaction asked for with `gather`, waiting for its group (see SqliteDb.gathered). */
interface Member {
  fn: (tx: Tx) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

class SqliteDb implements Db {
  readonly dialect = 'sqlite' as const;
  private w: Connection;
  private r: Connection | null = null;
  /** Tail of the writer queue: each transaction waits for the previous one. */
  private lock: Promise<void> = Promise.resolve();
  private checkpointer: Checkpointer | null = null;
  /** See `ends`. */
  private prepared: Record<'begin' | 'commit' | 'rollback', Statement> | null = null;
  /** Transactions asked for with `gather` in this turn of the event loop (see `gathered`); null: none yet. */
  private gathering: Member[] | null = null;

  constructor(
    writer: Database.Database,
    private file: string,
  ) {
    this.w = new Connection(writer);
  }

  openReader() {
    if (this.file === ':memory:') return; // an in-memory database has one connection only
    const reader = new Database(this.file, { readonly: true });
    reader.pragma('busy_timeout = 5000');
    this.r = new Connection(reader);
  }

  private get reader() {
    return this.r ?? this.w;
  }

  all<T = Row>(sql: string, params?: unknown[]) {
    return this.reader.all<T>(sql, params);
  }
  get<T = Row>(sql: string, params?: unknown[]) {
    return this.reader.get<T>(sql, params);
  }
  run(sql: string, params?: unknown[]) {
    return this.tx((tx) => tx.run(sql, params));
  }
  values<T extends unknown[] = unknown[]>(sql: string, params?: unknown[]) {
    return this.reader.values<T>(sql, params);
  }

  /**
   * Db.committedValues: on the writer's connection when no transaction is open on it, else on the
   * reader. Safe for any read-only statement: SQLite only has a transaction open on the writer
   * between a tx()'s BEGIN and its COMMIT or ROLLBACK (`inTransaction`), and better-sqlite3 runs
   * the statement synchronously, so no transaction can begin while it runs: it sees the committed
   * rows, as the reader would, never one of an unfinished transaction (what reading on the writer
   * between a BEGIN and an await would risk). A statement that could write throws
   * (Connection.readValuesSync). Why: the reader's page cache is thrown away at its next read after
   * any commit of the writer (WAL: another connection changed the database), so a read of rows the
   * writer just wrote (lease.ts claimListed, the pre-lease list's events) started cold every time,
   * its b-tree pages read again through pread and the WAL's index; the writer's 16 MiB cache holds
   * them from their INSERT.
   */
  committedValues<T extends unknown[] = unknown[]>(sql: string, params?: unknown[]): Promise<T[]> {
    const on = this.r !== null && this.w.raw.inTransaction ? this.r : this.w;
    try {
      return Promise.resolve(on.readValuesSync<T>(sql, params));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  startCheckpoints(onError: (err: Error) => void) {
    const raw = this.w.raw;
    this.checkpointer = new Checkpointer({
      file: this.file,
      holdWrites: (fn) => this.exclusive(fn),
      writing: () => raw.inTransaction,
      // The thread checkpoints: SQLite's own only as a far bound.
      onReady: () => raw.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`),
      onError: (err) => {
        if (raw.open) raw.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
        onError(err);
      },
    });
  }

  /** Whether the checkpoint thread runs, once it has started (false: SQLite checkpoints inside commits). */
  checkpointThread(): Promise<boolean> {
    return this.checkpointer?.ready ?? Promise.resolve(false);
  }

  /** Runs `fn` when every earlier transaction ended; later ones wait for it. */
  private async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const prev = this.lock;
    let release!: () => void;
    this.lock = new Promise<void>((r) => (release = r));
    await prev;
    try {
      return await fn();
    } finally {
      release();
    }
  }

  tx<T>(fn: (tx: Tx) => Promise<T>, opts?: TxOptions): Promise<T> {
    if (opts?.gather) return this.gathered(fn);
    return this.exclusive(() => this.inTx(fn));
  }

  /** BEGIN IMMEDIATE, COMMIT and ROLLBACK, prepared once. */
  private get ends() {
    const raw = this.w.raw;
    return (this.prepared ??= {
      begin: raw.prepare('BEGIN IMMEDIATE'),
      commit: raw.prepare('COMMIT'),
      rollback: raw.prepare('ROLLBACK'),
    });
  }

  /** The writer as `fn` sees it, its afterCommit callbacks kept in `hooks`. */
  private txOf(hooks: Array<() => void>, mark?: { wrote: boolean }): Tx {
    return new SqliteTx(this.w, hooks, mark);
  }

  private async inTx<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const hooks: Array<() => void> = [];
    const ends = this.ends;
    wrap(() => ends.begin.run());
    let result: T;
    try {
      result = await fn(this.txOf(hooks));
      wrap(() => ends.commit.run());
    } catch (err) {
      if (this.w.raw.inTransaction) ends.rollback.run();
      throw err;
    }
    this.checkpointer?.committed();
    for (const h of hooks) h();
    return result;
  }

  /**
   * Group commit for transactions asked for with `gather` (the API's entry and asset writes:
   * content/entries.ts and assets.ts, GATHER). BEGIN IMMEDIATE and
   * COMMIT (which writes each page the transaction changed to the WAL) were ~10% of the main
   * thread in the bench's closed loop, one pair per create, while creates from several clients
   * arrive in the same turn of the event loop and change the same pages (the tables' and indexes'
   * last leaves). Those asked for in one turn, or while the writer is busy, wait for the turn's end
   * (setImmediate), then run one after another in one transaction. One that throws before it
   * wrote anything (it ran only SELECTs: a validation error, a missing content type) fails alone
   * and the others commit together. One that throws after writing undoes the group (ROLLBACK), and
   * the group is split there: the members before it run again together, it runs alone, those after
   * it run on as a group; so each gets the outcome it would have had, in the order they ran. (Each
   * member once ran inside a SAVEPOINT, rolled back to it when it threw: SQLite then copies each
   * page a member first changes into the savepoint's journal, ~5 pages and two statements per
   * create, paid by every member for the rare one that fails after writing; callgrind, 8 members
   * of 2 INSERTs per commit: 16k instructions of SQLite's per member, 28% of its step time.) A
   * group that ends without committing (COMMIT failing, or SQLITE_FULL, IOERR or BUSY ending the
   * whole transaction under a member) runs its members again, each in a transaction of its own,
   * so each gets the outcome it would have had alone. Each member's afterCommit callbacks run and
   * its answer comes after the one COMMIT, in the order the members ran.
   */
  private gathered<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.gathering === null) {
        const members: Member[] = (this.gathering = []);
        // In the writer's queue at once (close() waits for it); members join until it starts.
        void this.exclusive(async () => {
          await new Promise((r) => setImmediate(r));
          this.gathering = null;
          await this.inGroup(members);
        });
      }
      this.gathering.push({ fn, resolve: resolve as (v: unknown) => void, reject });
    });
  }

  private async inGroup(members: Member[]): Promise<void> {
    if (members.length === 0) return;
    if (members.length === 1) return this.alone(members[0]);
    const raw = this.w.raw;
    // Each member's outcome in the group, settled only once the group committed.
    const outcomes: Array<{ ok: true; result: unknown; hooks: Array<() => void> } | { ok: false; err: unknown }> = [];
    // The member that threw after writing, if one did: the group was undone and is split there.
    let split = -1;
    try {
      const ends = this.ends;
      ends.begin.run();
      for (let i = 0; i < members.length; i++) {
        const hooks: Array<() => void> = [];
        const mark = { wrote: false };
        try {
          const result = await members[i].fn(this.txOf(hooks, mark));
          outcomes.push({ ok: true, result, hooks });
        } catch (err) {
          // SQLITE_FULL, IOERR and BUSY end the whole transaction, and the group with it.
          if (!raw.inTransaction) throw err;
          if (mark.wrote) {
            split = i;
            break;
          }
          outcomes.push({ ok: false, err });
        }
      }
      if (split < 0) ends.commit.run();
      else ends.rollback.run();
    } catch {
      // Nothing of the group committed: each member again, alone (those that failed in it too:
      // the failure may have come from the state the group was in).
      try {
        if (raw.inTransaction) this.ends.rollback.run();
      } finally {
        for (const m of members) await this.alone(m);
      }
      return;
    }
    if (split >= 0) {
      await this.inGroup(members.slice(0, split));
      await this.alone(members[split]);
      await this.inGroup(members.slice(split + 1));
      return;
    }
    this.checkpointer?.committed();
    members.forEach((m, i) => {
      const o = outcomes[i];
      if (!o.ok) return m.reject(o.err);
      try {
        for (const h of o.hooks) h();
        m.resolve(o.result);
      } catch (err) {
        m.reject(err); // as inTx: committed, but its caller hears of the callback's failure
      }
    });
  }

  /** One member in a transaction of its own, its outcome settled. */
  private async alone(m: Member): Promise<void> {
    try {
      m.resolve(await this.inTx(m.fn));
    } catch (err) {
      m.reject(err);
    }
  }

  /** The writer's better-sqlite3 handle, for `herald db backup` (online backup API). */
  get handle() {
    return this.w.raw;
  }

  async close() {
    await this.checkpointer?.close();
    await this.lock;
    this.r?.raw.close();
    this.w.raw.close();
  }
}

export type { SqliteDb };
