/**
 * A new, empty store of either backend, opened as `herald serve` opens one (every migration run):
 * a SQLite file in a temporary directory, or a fresh PostgreSQL schema. For tests that run the same
 * cases on both (testBackends()).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Db } from '../../src/store/db.ts';
import { openPostgres } from '../../src/store/postgres.ts';
import { openSqlite } from '../../src/store/sqlite.ts';
import { freshSchema, type BackendName } from './postgres.ts';

/** `name` names the temporary directory (SQLite); `drop` removes the store once `db` is closed. */
export async function openFreshStore(backend: BackendName, name: string): Promise<{ db: Db; drop: () => Promise<void> }> {
  if (backend === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), `herald-${name}-`));
    return { db: await openSqlite(join(dir, 'herald.db')), drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const schema = await freshSchema();
  return { db: await openPostgres(schema.url, { poolSize: 4 }), drop: schema.drop };
}
