import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { migrationFiles } from '../../src/store/migrate.ts';

// Both backends must reach the same schema version: a new SQLite migration needs its PostgreSQL
// twin (same number, same name) in src/store/migrations/postgres/, and the other way round.
describe('migrations', () => {
  it('gives every SQLite migration a PostgreSQL twin with the same number and name', () => {
    const sqlite = migrationFiles('sqlite').map((m) => m.name);
    const postgres = migrationFiles('postgres').map((m) => m.name);
    const missing = sqlite.filter((n) => !postgres.includes(n));
    assert.deepEqual(missing, [], `add src/store/migrations/postgres/${missing[0]}.sql, the PostgreSQL version of src/store/migrations/sqlite/${missing[0]}.sql`);
    const extra = postgres.filter((n) => !sqlite.includes(n));
    assert.deepEqual(extra, [], `src/store/migrations/postgres/${extra[0]}.sql has no SQLite twin`);
  });

  // Gaps are allowed: numbers are reserved per branch when several are worked on at once, and a
  // branch may land before one that holds a lower number (each migration runs once, by number).
  it('numbers migrations once each, from 001 upwards', () => {
    for (const dialect of ['sqlite', 'postgres'] as const) {
      const ids = migrationFiles(dialect).map((m) => m.id);
      assert.equal(ids[0], 1, `${dialect} migrations start at 001`);
      for (let i = 1; i < ids.length; i++) assert.ok(ids[i] > ids[i - 1], `${dialect} migrations are numbered once each, in order: ${ids.join(', ')}`);
    }
  });
});
