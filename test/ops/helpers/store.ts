import Database from 'better-sqlite3';
import { join } from 'node:path';
import pg from 'pg';
import { schemaForDataDir } from '../../helpers/postgres.ts';

/**
 * Reads rows straight from a stopped (or running) Herald's store by its data dir: its SQLite file,
 * or (HERALD_TEST_BACKEND=postgres, where spawnHerald keeps each data dir's data in a schema) that
 * schema. For checks on the tables themselves, such as "no attempt recorded twice".
 */
export async function storeRows<T = Record<string, unknown>>(dataDir: string, sql: string): Promise<T[]> {
  if (process.env.HERALD_TEST_BACKEND === 'postgres') {
    const client = new pg.Client({ connectionString: (await schemaForDataDir(dataDir)).url });
    await client.connect();
    try {
      return (await client.query(sql)).rows as T[];
    } finally {
      await client.end();
    }
  }
  const db = new Database(join(dataDir, 'herald.db'), { readonly: true });
  try {
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
}
