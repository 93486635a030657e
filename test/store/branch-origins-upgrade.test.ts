/**
 * Upgrading a store made before Herald recorded how each branch was made (store 028): the branches
 * it can tell keep their way (main: no copy; an environment named at its making and never renamed:
 * made through the Contentful dialect, whose copy took its source's publications), the rest say they
 * are not known (null), so the backup center falls back to its guess instead of being told wrong.
 * On a real SQLite file and a real PostgreSQL schema.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { branchOrigins } from '../../src/content/branches.ts';
import { openOldStore, schemaAsOf } from '../helpers/old-store.ts';
import { testBackends } from '../helpers/postgres.ts';

const BEFORE = 27;

/** The schema as of migration BEFORE, with a stack and four branches made different ways: statements for either backend. */
function oldStore(dialect: 'sqlite' | 'postgres'): string[] {
  const sql = schemaAsOf(dialect, BEFORE);
  sql.push("INSERT INTO stacks (api_key, name, doc, created_at, updated_at) VALUES ('stk', 'old', '{}', 0, 0)");
  const branch = (uid: string, source: string | null, at: number, name: string | null, version: number) =>
    `INSERT INTO branches (api_key, uid, source, doc, created_at, contentful_name, contentful_version) VALUES ('stk', '${uid}', ${source ? `'${source}'` : 'NULL'}, '{}', ${at}, ${name ? `'${name}'` : 'NULL'}, ${version})`;
  sql.push(branch('main', null, 0, null, 1));
  sql.push(branch('staging', 'main', 1, 'Staging', 1)); // PUT .../environments/staging { name: 'Staging' }
  sql.push(branch('renamed', 'main', 2, 'QA', 2)); // made some way, renamed through the dialect since
  sql.push(branch('plain', 'main', 3, null, 1)); // POST /v3/stacks/branches, or PUT .../environments/plain without a name
  return sql;
}

for (const backend of await testBackends()) {
  describe(`upgrading a ${backend} store to one that records how each branch was made`, () => {
    it('keeps what the rows tell (main, a named environment never renamed) and leaves the rest unknown', async () => {
      const { db, drop } = await openOldStore(backend, oldStore(backend));
      try {
        assert.deepEqual(await branchOrigins(db, 'stk'), [
          { uid: 'main', source: null, publications_copied: false },
          { uid: 'staging', source: 'main', publications_copied: true },
          { uid: 'renamed', source: 'main', publications_copied: null },
          { uid: 'plain', source: 'main', publications_copied: null },
        ]);
      } finally {
        await db.close();
        await drop();
      }
    });
  });
}
