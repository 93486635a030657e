import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { attemptHealth, getAttempt, listAttempts, listExecutions } from '../../src/delivery/log.ts';
import { dropExecutions } from '../../src/delivery/queue/park.ts';
import { webhookStats } from '../../src/delivery/stats.ts';
import type { Queryable } from '../../src/store/db.ts';
import { openSqlite } from '../../src/store/sqlite.ts';

/**
 * Every attempt row is written into each index of the attempts table: on SQLite (no ANALYZE, so
 * the planner's choice does not move with the data) an index no read plans is WAL pages per
 * delivery for nothing (store migration 026 dropped attempts_started). The reads are the ones the
 * activity log, the stats, the health and a webhook's deletion run, their SQL caught as they run.
 */
describe('the attempts table on SQLite', () => {
  it('is read by the log, stats, health and deletion through its indexes, each index by one of them, never by a scan', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-attempts-'));
    const db = await openSqlite(join(dir, 'herald.db'));
    try {
      const seen: Array<{ sql: string; params: unknown[] }> = [];
      const note = (sql: string, params?: unknown[]) => void seen.push({ sql, params: params ?? [] });
      const spy: Queryable = {
        all: (sql, params) => (note(sql, params), db.all(sql, params)),
        get: (sql, params) => (note(sql, params), db.get(sql, params)),
        run: (sql, params) => (note(sql, params), db.run(sql, params)),
        values: (sql, params) => (note(sql, params), db.values(sql, params)),
      };
      const now = Date.now();
      await listAttempts(spy, 'bltHook', { skip: 0, limit: 20 });
      await getAttempt(spy, 'bltHook', 'att_0');
      await attemptHealth(spy, 'bltHook');
      await webhookStats(spy, 'bltHook', { from: now - 86_400_000, to: now, bucket: 3_600_000 });
      await listExecutions(spy, 'bltHook', { skip: 0, limit: 20, dialect: 'sqlite' });
      await dropExecutions(spy, 'bltHook');
      // The executions list reads its attempts only when it has rows: its statement, as it runs then.
      seen.push({ sql: 'SELECT * FROM attempts WHERE execution_uid IN (?, ?) ORDER BY n', params: ['exe_0', 'exe_1'] });

      const reads = seen.filter((s) => /\b(FROM|JOIN) attempts\b/.test(s.sql));
      assert.ok(reads.length >= 6, `the attempts reads were caught: ${reads.length}`);
      const used = new Set<string>();
      for (const r of reads) {
        const plan = (await db.all<{ detail: string }>(`EXPLAIN QUERY PLAN ${r.sql}`, r.params)).map((p) => p.detail);
        for (const line of plan) {
          assert.doesNotMatch(line, /^SCAN (a|attempts)\b/, `${r.sql}\nscans the attempts table: ${plan.join(' | ')}`);
          const index = /^SEARCH (?:a|attempts) USING (?:COVERING )?INDEX (\S+)/.exec(line)?.[1];
          if (index) used.add(index);
        }
      }
      const indexes = (await db.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'attempts' ORDER BY name")).map((r) => r.name);
      assert.deepEqual(
        indexes.filter((name) => !used.has(name)),
        [],
        `indexes of attempts no read uses (each costs every attempt row a btree write): read ${[...used].join(', ')}`,
      );
    } finally {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
