/**
 * Upgrading a store that holds a queue: a database at migration 006, with executions in every
 * state, is opened by this version (which applies 007, the lean execution indexes) and its queue
 * carries on: due work is claimed, queued work stays behind its lane's head, the queue depth adds
 * up. On a real SQLite file and a real PostgreSQL schema.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { claim, QUEUE_DEPTH_SQL } from '../../src/delivery/queue/index.ts';
import { migrationFiles } from '../../src/store/migrate.ts';
import { openOldStore, schemaAsOf } from '../helpers/old-store.ts';
import { testBackends } from '../helpers/postgres.ts';

const BEFORE = 6;
const NOW = 1_700_000_000_000;

/** The schema as of migration BEFORE, and a queue in it: statements for either backend. */
function oldStore(dialect: 'sqlite' | 'postgres'): string[] {
  const sql = schemaAsOf(dialect, BEFORE);
  sql.push("INSERT INTO stacks (api_key, name, doc, created_at, updated_at) VALUES ('stk', 'old', '{}', 0, 0)");
  sql.push(`INSERT INTO webhooks (uid, api_key, doc, created_at, updated_at) VALUES ('W', 'stk', '{"uid":"W","name":"W"}', 0, 0)`);
  // Sequence numbers 1 to 4 (a fresh log numbers from 1 on both backends).
  for (let seq = 1; seq <= 4; seq++) {
    sql.push(`INSERT INTO events (api_key, branch, module, action, uid, actor, data, created_at) VALUES ('stk', 'main', 'entry', 'update', 'blt${seq}', 'test', '{}', 0)`);
  }
  const row = (uid: string, seq: number, lane: string, state: string, due: number | null) =>
    `INSERT INTO executions (uid, api_key, webhook_uid, event_seq, lane, channel, action, state, next_attempt_at, created_at, updated_at)
     VALUES ('${uid}', 'stk', 'W', ${seq}, '${lane}', 'content_types.entries.update', 'update', '${state}', ${due ?? 'NULL'}, 0, 0)`;
  sql.push(row('exe_done', 1, 'entry:a', 'succeeded', null));
  sql.push(row('exe_due', 2, 'entry:b', 'pending', NOW - 1000));
  sql.push(row('exe_behind', 3, 'entry:b', 'queued', null));
  sql.push(row('exe_flying', 4, 'entry:c', 'in_flight', NOW + 60_000));
  return sql;
}

for (const backend of await testBackends()) {
  describe(`upgrading a ${backend} store with a queue in it`, () => {
    it('applies the lean execution indexes and the queue carries on', async () => {
      const { db, drop } = await openOldStore(backend, oldStore(backend));
      try {
        const applied = await db.all<{ id: number }>('SELECT id FROM schema_migrations ORDER BY id');
        assert.deepEqual(
          applied.map((r) => Number(r.id)),
          migrationFiles(backend).map((m) => m.id),
        );
        const indexes =
          backend === 'sqlite'
            ? await db.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'executions' AND name LIKE 'executions_%' ORDER BY name")
            : await db.all<{ name: string }>("SELECT indexname AS name FROM pg_indexes WHERE tablename = 'executions' AND schemaname = current_schema() AND indexname LIKE 'executions_%' AND indexname <> 'executions_pkey' ORDER BY indexname");
        assert.deepEqual(
          indexes.map((r) => r.name),
          // 016 (#20) adds two partial indexes that only batching webhooks' executions enter.
          ['executions_autosave', 'executions_batch', 'executions_batching', 'executions_due', 'executions_queued', 'executions_unfinished', 'executions_webhook'],
        );
        const depth = await db.all<{ state: string; n: number }>(QUEUE_DEPTH_SQL, [NOW]);
        assert.deepEqual(
          Object.fromEntries(depth.map((r) => [r.state, Number(r.n)])),
          { due: 1, in_flight: 1, queued: 1 },
        );
        const r = await claim(db, { now: NOW, limit: 10, freeSlots: () => 10, leaseMs: 60_000 });
        assert.deepEqual(r.claimed.map((c) => c.uid), ['exe_due'], 'the due one, not the one queued behind it nor the one in flight');
      } finally {
        await db.close();
        await drop();
      }
    });
  });
}
