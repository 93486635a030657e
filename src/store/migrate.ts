import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Db, Tx } from './db.ts';

/**
 * Numbered schema migrations: `migrations/<dialect>/NNN_name.sql`, applied in order at start,
 * each in its own transaction together with its row in `schema_migrations`, so a crash mid-way
 * leaves the schema at a whole version. Each SQLite migration has a PostgreSQL twin with the same
 * file name (test/store/migrations.test.ts fails when one is missing).
 *
 * Several processes may start at once on one PostgreSQL database: every migration transaction
 * first takes one advisory lock, then checks again whether another process applied it meanwhile,
 * so each migration runs exactly once and in order. (SQLite: one writer at a time already.)
 */
export function migrationFiles(dialect: Db['dialect']): Array<{ id: number; name: string; sql: string }> {
  const dir = fileURLToPath(new URL(`./migrations/${dialect}/`, import.meta.url));
  const files = readdirSync(dir)
    .filter((f) => /^\d{3}_.+\.sql$/.test(f))
    .sort()
    .map((f) => ({ id: Number(f.slice(0, 3)), name: f.replace(/\.sql$/, ''), sql: readFileSync(dir + f, 'utf8') }));
  // Two branches landing the same number would leave the second never applied (its id is done).
  const twice = files.find((f, i) => i > 0 && files[i - 1].id === f.id);
  if (twice) throw new Error(`Two ${dialect} migrations are numbered ${String(twice.id).padStart(3, '0')}: renumber one (${files.filter((f) => f.id === twice.id).map((f) => f.name).join(', ')})`);
  return files;
}

/** Key of the advisory lock migrations take on PostgreSQL (any constant; "herald migrate"). */
const MIGRATION_LOCK = 0x4845_5241_4c44; // "HERALD"

/** Waits until no other process is migrating (PostgreSQL); released when `tx` ends. */
async function lockMigrations(tx: Tx, dialect: Db['dialect']): Promise<void> {
  if (dialect === 'postgres') await tx.get('SELECT pg_advisory_xact_lock(?)', [MIGRATION_LOCK]);
}

export async function appliedMigrations(db: Db): Promise<number[]> {
  await db.tx(async (tx) => {
    await lockMigrations(tx, db.dialect);
    await tx.exec('CREATE TABLE IF NOT EXISTS schema_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
  });
  const rows = await db.all<{ id: number }>('SELECT id FROM schema_migrations ORDER BY id');
  return rows.map((r) => Number(r.id));
}

/** Applies every migration not yet applied; returns the names applied now. */
export async function migrate(db: Db): Promise<string[]> {
  const done = new Set(await appliedMigrations(db));
  const applied: string[] = [];
  for (const m of migrationFiles(db.dialect)) {
    if (done.has(m.id)) continue;
    const ran = await db.tx(async (tx) => {
      await lockMigrations(tx, db.dialect);
      // Another process may have applied it while this one waited for the lock.
      if (await tx.get('SELECT 1 AS done FROM schema_migrations WHERE id = ?', [m.id])) return false;
      await tx.exec(m.sql);
      await tx.run('INSERT INTO schema_migrations (id, name, applied_at) VALUES (?, ?, ?)', [m.id, m.name, Date.now()]);
      return true;
    });
    if (ran) applied.push(m.name);
  }
  return applied;
}
