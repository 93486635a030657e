import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import pg from 'pg';
import { describeDatabaseUrl, type Config } from '../config.ts';
import { migrationFiles } from '../store/migrate.ts';
import { openPostgres } from '../store/postgres.ts';
import { openSqlite } from '../store/sqlite.ts';
import { storeFile } from './db-backup.ts';

/**
 * `herald db status` and `herald db migrate`, for operators who upgrade: which of the migrations
 * this version of Herald knows are applied to the store (SQLite under --data-dir, or PostgreSQL at
 * --database-url), and applying the rest. `herald serve` applies them at start too; running
 * `herald db migrate` first (with the old version stopped) makes the upgrade a separate step that
 * can be checked before the new version takes traffic.
 */

export interface MigrationState {
  id: number;
  name: string;
  /** `unknown`: applied by a newer Herald than this one (its file is not here). */
  state: 'applied' | 'pending' | 'unknown';
  /** When it was applied, ms since the epoch. */
  appliedAt: number | null;
}

export interface StoreStatus {
  backend: 'sqlite' | 'postgres';
  /** The SQLite file, or the database URL without its password. */
  location: string;
  /** False when no store exists there yet (every migration is pending). */
  exists: boolean;
  migrations: MigrationState[];
}

type Applied = Array<{ id: number; name: string; applied_at: number }>;

/** Where `config` points: PostgreSQL when it has a database URL, else SQLite under the data dir. */
function backendOf(config: Pick<Config, 'databaseUrl'>): 'sqlite' | 'postgres' {
  return config.databaseUrl ? 'postgres' : 'sqlite';
}

/** Reads the applied migrations without changing anything (no table is created, nothing applied). */
export async function storeStatus(config: Pick<Config, 'dataDir' | 'databaseUrl'>): Promise<StoreStatus> {
  const backend = backendOf(config);
  let applied: Applied | null;
  let location: string;
  if (backend === 'postgres') {
    location = describeDatabaseUrl(config.databaseUrl!);
    applied = await appliedOnPostgres(config.databaseUrl!);
  } else {
    location = storeFile(config.dataDir);
    applied = appliedOnSqlite(location);
  }
  return { backend, location, exists: applied !== null, migrations: compare(migrationFiles(backend), applied ?? []) };
}

/** Known migrations against applied ones, in id order. Pure. */
export function compare(known: Array<{ id: number; name: string }>, applied: Applied): MigrationState[] {
  const byId = new Map(applied.map((a) => [Number(a.id), a]));
  const out: MigrationState[] = known.map((m) => {
    const a = byId.get(m.id);
    return { id: m.id, name: m.name, state: a ? 'applied' : 'pending', appliedAt: a ? Number(a.applied_at) : null };
  });
  for (const a of applied) {
    if (!known.some((m) => m.id === Number(a.id))) out.push({ id: Number(a.id), name: a.name, state: 'unknown', appliedAt: Number(a.applied_at) });
  }
  return out.sort((x, y) => x.id - y.id);
}

/** Null when there is no store file, or a store without the migrations table. */
function appliedOnSqlite(file: string): Applied | null {
  if (!existsSync(file)) return null;
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
    if (!table) return null;
    return db.prepare('SELECT id, name, applied_at FROM schema_migrations ORDER BY id').all() as Applied;
  } finally {
    db.close();
  }
}

async function appliedOnPostgres(url: string): Promise<Applied | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  client.on('error', () => {});
  await client.connect();
  try {
    // to_regclass follows the connection's search_path, as Herald's own statements do.
    const { rows } = await client.query<{ t: string | null }>("SELECT to_regclass('schema_migrations')::text AS t");
    if (!rows[0]?.t) return null;
    return (await client.query<Applied[number]>('SELECT id, name, applied_at FROM schema_migrations ORDER BY id')).rows.map((r) => ({
      id: Number(r.id),
      name: r.name,
      applied_at: Number(r.applied_at),
    }));
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Applies every pending migration (the same code `herald serve` runs at start: each in its own
 * transaction, under an advisory lock on PostgreSQL) and returns the names applied now.
 */
export async function migrateStore(config: Pick<Config, 'dataDir' | 'databaseUrl'>): Promise<{ status: StoreStatus; applied: string[] }> {
  const before = await storeStatus(config);
  const db = config.databaseUrl ? await openPostgres(config.databaseUrl, { poolSize: 1 }) : await openSqlite(storeFile(config.dataDir));
  await db.close();
  const status = await storeStatus(config);
  const was = new Set(before.migrations.filter((m) => m.state === 'applied').map((m) => m.id));
  return { status, applied: status.migrations.filter((m) => m.state === 'applied' && !was.has(m.id)).map((m) => m.name) };
}

/** The status as lines for a terminal. */
export function formatStatus(s: StoreStatus): string {
  const lines = [`${s.backend} store at ${s.location}${s.exists ? '' : ' (not created yet)'}`];
  for (const m of s.migrations) {
    const when = m.appliedAt ? `  applied ${new Date(m.appliedAt).toISOString()}` : '';
    const note = m.state === 'unknown' ? '  (applied by a newer Herald; this version does not know it)' : '';
    lines.push(`  ${m.state.padEnd(8)} ${m.name}${when}${note}`);
  }
  const pending = s.migrations.filter((m) => m.state === 'pending').length;
  lines.push(pending ? `${pending} pending: run \`herald db migrate\` (or start Herald, which applies them)` : 'up to date');
  return lines.join('\n');
}
