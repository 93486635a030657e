import pg from 'pg';
import { HeraldError } from '../errors.ts';
import type { Db, Queryable, Row, Tx } from './db.ts';
import { migrate } from './migrate.ts';
import { Signals } from './postgres-signals.ts';

/**
 * The PostgreSQL backend, for several Herald processes on one database (`--database-url`).
 *
 * - A pool of connections (`poolSize`, default 10) serves reads and autocommit writes; `tx()`
 *   holds one pooled connection from BEGIN to COMMIT, at PostgreSQL's default READ COMMITTED.
 * - `?` placeholders are rewritten to `$1, $2...` (never inside quoted strings, identifiers or
 *   comments); booleans are bound as 0/1, like SQLite, since the schema keeps them as integers.
 * - BIGINT and NUMERIC come back as JS numbers (pg returns strings by default): times are
 *   milliseconds and sequences stay far below 2^53.
 * - Driver errors become HeraldErrors where a caller can act on them: unreachable, out of
 *   connections, disk full, deadlock -> `unavailable` (503, try again); unique violation ->
 *   `conflict` (409); a value the database cannot hold (NUL character, out of range, too large
 *   for an index) -> `bad_request` (400). Anything else is a bug and is rethrown as is.
 * - Signals (postgres-signals.ts): `notify` sends `pg_notify` on the pool; `listen` uses one dedicated connection,
 *   reconnecting with backoff when it drops.
 */
export interface PostgresOptions {
  /** Pooled connections for queries and transactions. Default 10. */
  poolSize?: number;
  /** How the connections show in pg_stat_activity, e.g. `herald-worker`. Default `herald`. */
  applicationName?: string;
  /**
   * Commit without waiting for the write-ahead log to reach disk (`synchronous_commit = off`):
   * a PostgreSQL crash may forget the last fraction of a second of commits (never corrupts).
   * For worker processes, whose writes are delivery bookkeeping (claims, outcomes) that is redone
   * when lost: an attempt is sent again, at least once, as after any crash. Never for processes
   * that record changes, whose commits a client was told about. Default false.
   */
  asyncCommit?: boolean;
}

/** Opens the pool, checks the server answers, and applies pending migrations. */
export async function openPostgres(url: string, opts: PostgresOptions = {}): Promise<Db> {
  const db = new PostgresDb(url, opts.poolSize ?? 10, opts.applicationName ?? 'herald', opts.asyncCommit ?? false);
  try {
    await migrate(db);
  } catch (err) {
    await db.close().catch(() => {});
    if (err instanceof HeraldError && err.code === 'unavailable') {
      const why = (err.cause as Error | undefined)?.message ?? err.message;
      throw new HeraldError('unavailable', `Cannot use the PostgreSQL database at ${redact(url)}: ${why}`, { cause: err, retryAfter: err.retryAfter });
    }
    throw err;
  }
  return db;
}

/** A database URL without its password, for messages. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '****';
    return u.toString();
  } catch {
    return '(an unreadable URL)';
  }
}

/** int8 (BIGINT, COUNT) and numeric (SUM of BIGINT) as numbers; everything else as pg parses it. */
const NUMBER_TYPES = new Set([20, 1700]);
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (NUMBER_TYPES.has(oid)) return (value: string) => (value === null ? null : Number(value));
    return pg.types.getTypeParser(oid, format as 'text');
  },
} as pg.CustomTypesConfig;

/** Rewritten statements, by source text (the set of statements in Herald is small and fixed). */
const REWRITTEN = new Map<string, string>();
const REWRITTEN_MAX = 5_000;

/**
 * `?` -> `$n`, left to right, skipping '...' strings ('' escapes a quote), "..." identifiers,
 * -- line comments and block comments.
 */
export function toPositional(sql: string): string {
  const hit = REWRITTEN.get(sql);
  if (hit !== undefined) return hit;
  let out = '';
  let n = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    if (c === "'" || c === '"') {
      let j = i + 1;
      for (;;) {
        const k = sql.indexOf(c, j);
        if (k < 0) {
          j = sql.length;
          break;
        }
        if (sql[k + 1] === c) {
          j = k + 2; // doubled quote: an escaped quote inside the string
          continue;
        }
        j = k + 1;
        break;
      }
      out += sql.slice(i, j);
      i = j;
    } else if (c === '-' && sql[i + 1] === '-') {
      const k = sql.indexOf('\n', i);
      const j = k < 0 ? sql.length : k;
      out += sql.slice(i, j);
      i = j;
    } else if (c === '/' && sql[i + 1] === '*') {
      const k = sql.indexOf('*/', i + 2);
      const j = k < 0 ? sql.length : k + 2;
      out += sql.slice(i, j);
      i = j;
    } else if (c === '?') {
      out += '$' + ++n;
      i++;
    } else {
      out += c;
      i++;
    }
  }
  if (REWRITTEN.size >= REWRITTEN_MAX) REWRITTEN.clear();
  REWRITTEN.set(sql, out);
  return out;
}

/** booleans become 0/1 (the schema stores them as integers); undefined becomes NULL. */
function bind(params: unknown[] = []): unknown[] {
  return params.map((v) => (v === undefined ? null : typeof v === 'boolean' ? (v ? 1 : 0) : v));
}

/** Connection-level failures: the server is down, restarting, or out of connections or disk. */
const UNAVAILABLE_STATES = new Set(['53000', '53100', '53200', '53300', '53400', '57P01', '57P02', '57P03', '58030']);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
/** Transactions aborted because they collided with others: deadlock, serialization, lock timeout. */
const BUSY_STATES = new Set(['40P01', '40001', '55P03']);
/** Values PostgreSQL refuses to store where SQLite would: program limits (index row size). */
const TOO_LARGE_STATES = new Set(['54000']);

/** Turns a driver error into the HeraldError a caller can act on, or returns it unchanged. */
export function translateError(err: unknown): unknown {
  if (err instanceof HeraldError) return err;
  const e = err as { code?: string; message?: string };
  const code = typeof e.code === 'string' ? e.code : '';
  const message = typeof e.message === 'string' ? e.message : '';
  if (
    NETWORK_CODES.has(code) ||
    UNAVAILABLE_STATES.has(code) ||
    code.startsWith('08') ||
    /timeout exceeded when trying to connect|Connection terminated|not queryable|connection error|Client was closed/i.test(message)
  ) {
    return new HeraldError('unavailable', 'The database cannot be reached or is out of resources; try again.', { cause: err, retryAfter: 5 });
  }
  if (BUSY_STATES.has(code)) {
    return new HeraldError('unavailable', 'The database is busy; try again.', { cause: err, retryAfter: 1 });
  }
  if (code === '23505') {
    return new HeraldError('conflict', 'This conflicts with a change made at the same time; try again.', { cause: err });
  }
  if (code.startsWith('22') || TOO_LARGE_STATES.has(code)) {
    return new HeraldError(
      'bad_request',
      'A value in the request cannot be stored: it is out of range, too large, or holds a character the database refuses (such as NUL).',
      { cause: err },
    );
  }
  return err;
}

/**
 * Prepared statements: a statement run again is sent by name, so each connection parses and plans
 * it once (about 40% less time per statement here). Names are given from the second run on (one
 * -off statements stay unnamed), to at most NAMED_MAX texts (IN lists of many sizes stay bounded).
 */
const NAMED_MAX = 1_000;
const named = new Map<string, string>();
const seenOnce = new Set<string>();
/** Statements that may not be prepared (a schema change altered their result: see query()). */
const unpreparable = new Set<string>();
let lastName = 0;

function statementName(text: string): string | undefined {
  const name = named.get(text);
  if (name !== undefined || unpreparable.has(text)) return name;
  if (!seenOnce.has(text)) {
    if (seenOnce.size >= NAMED_MAX * 4) seenOnce.clear();
    seenOnce.add(text);
    return undefined;
  }
  if (named.size >= NAMED_MAX) return undefined;
  const fresh = `herald_${++lastName}`;
  named.set(text, fresh);
  return fresh;
}

/** `arrays`: each row an array of its values (Queryable.values). */
async function query(on: pg.Pool | pg.PoolClient, sql: string, params?: unknown[], arrays = false): Promise<pg.QueryResult> {
  const text = toPositional(sql);
  const name = statementName(text);
  try {
    return await on.query({ text, values: bind(params), ...(name ? { name } : {}), ...(arrays ? { rowMode: 'array' } : {}) });
  } catch (err) {
    // A migration applied by a newer process changed what a prepared statement returns (SELECT *
    // over an altered table): from now on it is sent unprepared; this one call says "try again".
    if (name && (err as { code?: string }).code === '0A000' && /cached plan/.test(String((err as Error).message))) {
      named.delete(text);
      unpreparable.add(text);
      throw new HeraldError('unavailable', 'The database schema changed under a prepared statement; try again.', { cause: err, retryAfter: 1 });
    }
    throw translateError(err);
  }
}

/** Advisory lock space of `tx.lock(keys)`: the two-int form, so it never meets single-bigint locks. */
const TX_LOCK_CLASS = 0x4845; // "HE"

class PostgresDb implements Db {
  readonly dialect = 'postgres' as const;
  private pool: pg.Pool;
  private closed = false;
  private signals: Signals;

  constructor(url: string, poolSize: number, applicationName: string, asyncCommit: boolean) {
    // Run on each new connection before it is handed out (pg-pool awaits `onConnect`; a failure
    // drops the connection and fails the caller's request).
    //
    // Custom plans always: a prepared statement's generic plan is chosen once, from the table
    // sizes of that moment, and kept until statistics change. Planned on a young (empty) table it
    // scans instead of using an index, and with autovacuum off (or before autoanalyze runs) it is
    // never replanned: every fan-out look-up then reads the whole executions table. A custom plan
    // costs some planning per statement, always with the table as it is.
    const settings = ['SET plan_cache_mode = force_custom_plan', ...(asyncCommit ? ['SET synchronous_commit = off'] : [])].join('; ');
    this.pool = new pg.Pool({
      connectionString: url,
      max: poolSize,
      types,
      application_name: applicationName,
      // Waiting longer than this for a free connection is `unavailable`, not a hung request.
      connectionTimeoutMillis: 10_000,
      idleTimeoutMillis: 30_000,
      // pg-pool's hook (3.14 here), not yet in @types/pg.
      ...({ onConnect: (client: pg.PoolClient) => client.query(settings) } as object),
    });
    // An idle pooled connection that dies (server restart) must not crash the process; the pool
    // drops it and the next query opens a new one.
    this.pool.on('error', () => {});
    this.signals = new Signals(url, this.pool, `${applicationName}-listen`);
  }

  async all<T = Row>(sql: string, params?: unknown[]) {
    return (await query(this.pool, sql, params)).rows as T[];
  }
  async get<T = Row>(sql: string, params?: unknown[]) {
    return (await query(this.pool, sql, params)).rows[0] as T | undefined;
  }
  async run(sql: string, params?: unknown[]) {
    return { changes: (await query(this.pool, sql, params)).rowCount ?? 0 };
  }
  async values<T extends unknown[] = unknown[]>(sql: string, params?: unknown[]) {
    return (await query(this.pool, sql, params, true)).rows as T[];
  }

  async tx<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw translateError(err);
    }
    let broken: Error | undefined;
    // A connection cut while checked out (between two statements) emits 'error' on the client,
    // which nothing else listens to here: without this the process would die of it.
    const onError = (err: Error) => {
      broken = err;
    };
    client.on('error', onError);
    const hooks: Array<() => void> = [];
    let open = true;
    const live = () => {
      if (!open) throw new Error('This transaction is over; a statement ran after its callback returned.');
      return client;
    };
    const tx: Tx = {
      dialect: 'postgres',
      all: async (s, p) => (await query(live(), s, p)).rows as never[],
      get: async (s, p) => (await query(live(), s, p)).rows[0] as never,
      run: async (s, p) => ({ changes: (await query(live(), s, p)).rowCount ?? 0 }),
      values: async (s, p) => (await query(live(), s, p, true)).rows as never[],
      afterCommit: (f) => void hooks.push(f),
      exec: async (s) => {
        try {
          await live().query(s);
        } catch (err) {
          throw translateError(err);
        }
      },
      lock: async (keys) => {
        if (keys.length === 0) return;
        // Sorted by lock id in a subquery (not flattened, so rows reach the lock in that order).
        await query(
          live(),
          `SELECT pg_advisory_xact_lock(?::int, h) FROM (SELECT DISTINCT hashtext(k) AS h FROM unnest(?::text[]) AS k ORDER BY h) AS ids`,
          [TX_LOCK_CLASS, keys],
        );
      },
      tryLock: async (keys) => {
        if (keys.length === 0) return true;
        const row = await query(
          live(),
          `SELECT bool_and(pg_try_advisory_xact_lock(?::int, h)) AS ok FROM (SELECT DISTINCT hashtext(k) AS h FROM unnest(?::text[]) AS k ORDER BY h) AS ids`,
          [TX_LOCK_CLASS, keys],
        );
        return row.rows[0].ok === true;
      },
    };
    let result: T;
    try {
      await query(client, 'BEGIN').catch((err) => {
        broken = err; // a connection that cannot even begin is not handed out again
        throw err;
      });
      try {
        result = await fn(tx);
        await query(client, 'COMMIT');
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackErr) {
          broken = rollbackErr as Error; // the connection is gone: the server rolled back
        }
        throw err;
      }
    } finally {
      open = false;
      client.off('error', onError);
      // A connection that failed is destroyed rather than handed to the next transaction.
      client.release(broken);
    }
    for (const h of hooks) h();
    return result;
  }

  notify(channel: string, payload = '') {
    if (!this.closed) this.signals.notify(channel, payload);
  }

  listen(channel: string, fn: (payload: string) => void) {
    return this.signals.listen(channel, fn);
  }

  async close() {
    if (this.closed) return;
    this.closed = true;
    await this.signals.close();
    await this.pool.end();
  }
}
