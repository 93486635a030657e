/**
 * A store as an older Herald left it, for upgrade tests: the schema as of a migration, rows of the
 * test's own, then opened by this version (which applies the migrations since), on a real SQLite
 * file or a real PostgreSQL schema.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { migrationFiles } from '../../src/store/migrate.ts';
import type { Db } from '../../src/store/db.ts';
import { openPostgres } from '../../src/store/postgres.ts';
import { openSqlite } from '../../src/store/sqlite.ts';
import { freshSchema } from './postgres.ts';

/** Statements that make the schema as of migration `before` (applied and recorded as such). */
export function schemaAsOf(dialect: 'sqlite' | 'postgres', before: number): string[] {
  const old = migrationFiles(dialect).filter((m) => m.id <= before);
  const sql = old.map((m) => m.sql);
  sql.push('CREATE TABLE schema_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
  for (const m of old) sql.push(`INSERT INTO schema_migrations VALUES (${m.id}, '${m.name}', 0)`);
  return sql;
}

/** Runs `sql` on a new database of `backend`, then opens it as `herald serve` does; `drop` removes it. */
export async function openOldStore(backend: 'sqlite' | 'postgres', sql: string[]): Promise<{ db: Db; drop: () => Promise<void> }> {
  if (backend === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'herald-upgrade-'));
    const file = join(dir, 'herald.db');
    const raw = new Database(file);
    for (const s of sql) raw.exec(s);
    raw.close();
    return { db: await openSqlite(file), drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const schema = await freshSchema();
  const raw = new pg.Client({ connectionString: schema.url });
  await raw.connect();
  try {
    for (const s of sql) await raw.query(s);
  } finally {
    await raw.end();
  }
  return { db: await openPostgres(schema.url, { poolSize: 2 }), drop: schema.drop };
}
