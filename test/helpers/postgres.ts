import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * PostgreSQL for tests. The server is HERALD_TEST_DATABASE_URL (default: the CI machine's
 * postgres://postgres@127.0.0.1:5432/test). Each Herald a test starts gets its own schema in that
 * database (`freshSchema()`), dropped afterwards, so runs never see each other's rows.
 *
 * When the server cannot be reached, PostgreSQL tests are skipped with a line saying why, unless
 * HERALD_REQUIRE_POSTGRES=1 (.ci/run sets it): then they fail.
 */
export const TEST_DATABASE_URL = process.env.HERALD_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
export const POSTGRES_REQUIRED = process.env.HERALD_REQUIRE_POSTGRES === '1';

export type BackendName = 'sqlite' | 'postgres';

let reachable: Promise<string | null> | undefined;

/**
 * How long a connection attempt may take, ms: on a loaded machine (CI, parallel test files) the
 * server can take seconds to accept, and a reachable server must not be skipped for being slow.
 */
const CONNECT_TIMEOUT_MS = 15_000;
/** How long the probe keeps trying, ms, through refused or timed-out attempts (a server starting up). */
const PROBE_DEADLINE_MS = 45_000;
/** Pause between attempts, ms. */
const PROBE_PAUSE_MS = 500;

/**
 * Null when the server at `url` answers `SELECT 1`, else why not. Tries again until `deadlineMs`
 * passes, so only a server that stays unreachable is reported: a refused connection is retried
 * for a few seconds (one that is starting), a slow one as long as the deadline allows.
 */
export async function probePostgres(url: string, opts: { connectTimeoutMs?: number; deadlineMs?: number } = {}): Promise<string | null> {
  const deadline = Date.now() + (opts.deadlineMs ?? PROBE_DEADLINE_MS);
  let refusals = 0;
  for (;;) {
    const left = deadline - Date.now();
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: Math.max(1_000, Math.min(opts.connectTimeoutMs ?? CONNECT_TIMEOUT_MS, left)) });
    client.on('error', () => {});
    let why: string;
    let refused = false;
    try {
      await client.connect();
      await client.query('SELECT 1');
      return null;
    } catch (err) {
      why = `${(err as Error).message || (err as { code?: string }).code || 'unknown error'} at ${redact(url)}`;
      refused = ['ECONNREFUSED', 'ENOTFOUND', 'EADDRNOTAVAIL'].includes((err as { code?: string }).code ?? '') || /password|does not exist|authentication/i.test((err as Error).message);
    } finally {
      await client.end().catch(() => {});
    }
    // Nothing listening, or a server that says no: a few tries, not the whole deadline.
    if (refused && ++refusals >= 5) return why;
    if (Date.now() + PROBE_PAUSE_MS >= deadline) return why;
    await new Promise((r) => setTimeout(r, PROBE_PAUSE_MS));
  }
}

/** Null when the test server answers, else why not. Asked once per test process. */
export function postgresUnavailable(): Promise<string | null> {
  reachable ??= probePostgres(TEST_DATABASE_URL);
  return reachable;
}

/**
 * A test's `skip` option for a test that needs PostgreSQL: false when the server answers; the
 * reason when it does not; and with HERALD_REQUIRE_POSTGRES=1, false even then, so the test runs
 * and fails on the connection instead of passing as skipped.
 */
export async function skipWithoutPostgres(): Promise<string | false> {
  const why = await postgresUnavailable();
  if (why === null || POSTGRES_REQUIRED) return false;
  return `PostgreSQL unreachable: ${why} (HERALD_REQUIRE_POSTGRES=1 fails instead)`;
}

/**
 * The backends a storage or engine suite runs on: SQLite always; PostgreSQL when reachable. When
 * it is not, prints why and leaves it out, or (HERALD_REQUIRE_POSTGRES=1) keeps it so its tests
 * fail on the connection error instead of passing silently.
 */
export async function testBackends(): Promise<BackendName[]> {
  const why = await postgresUnavailable();
  if (why === null || POSTGRES_REQUIRED) return ['sqlite', 'postgres'];
  console.log(`# skipping PostgreSQL tests: ${why} (set HERALD_TEST_DATABASE_URL, or HERALD_REQUIRE_POSTGRES=1 to fail instead)`);
  return ['sqlite'];
}

export interface TestSchema {
  /** The test database URL with this schema as its search_path. */
  url: string;
  schema: string;
  drop(): Promise<void>;
}

/** A new empty schema in the test database, and a URL whose connections use it. */
export async function freshSchema(): Promise<TestSchema> {
  return schemaNamed(`herald_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`);
}

/** Schemas kept for a data dir, so a Herald restarted on the same dir finds its data again. */
const byDataDir = new Map<string, TestSchema>();

/**
 * The schema of a test Herald's data dir (HERALD_TEST_BACKEND=postgres runs every server test on
 * PostgreSQL this way): created on first use, kept across restarts, dropped when the test process
 * is about to exit.
 */
export async function schemaForDataDir(dataDir: string): Promise<TestSchema> {
  let s = byDataDir.get(dataDir);
  if (!s) {
    s = await freshSchema();
    if (byDataDir.size === 0) {
      process.once('beforeExit', () => {
        const all = [...byDataDir.values()];
        byDataDir.clear();
        void Promise.all(all.map((x) => x.drop().catch(() => {})));
      });
    }
    byDataDir.set(dataDir, s);
  }
  return s;
}

async function schemaNamed(schema: string): Promise<TestSchema> {
  const why = await postgresUnavailable();
  if (why !== null) throw new Error(`PostgreSQL is required for this test but unreachable: ${why}`);
  await admin(`CREATE SCHEMA ${schema}`);
  const u = new URL(TEST_DATABASE_URL);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: u.toString(),
    schema,
    drop: () => admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`),
  };
}

async function admin(sql: string) {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end().catch(() => {});
  }
}

function redact(url: string) {
  try {
    const u = new URL(url);
    if (u.password) u.password = '****';
    return u.toString();
  } catch {
    return '(unreadable HERALD_TEST_DATABASE_URL)';
  }
}
