/**
 * The storage contract, run against every backend: what repositories rely on from `Db` and `Tx`
 * (src/store/db.ts), on a real SQLite file and a real PostgreSQL schema.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HeraldError } from '../../src/errors.ts';
import { isUniqueViolation, json, type Db } from '../../src/store/db.ts';
import { migrate, migrationFiles } from '../../src/store/migrate.ts';
import { openPostgres } from '../../src/store/postgres.ts';
import { openSqlite } from '../../src/store/sqlite.ts';
import { freshSchema, testBackends, type BackendName } from '../helpers/postgres.ts';

/** A store of the given kind, fresh and empty, that can be opened more than once. */
async function fresh(backend: BackendName) {
  const target = await freshTarget(backend);
  return {
    open: () => (backend === 'sqlite' ? openSqlite(target.where) : openPostgres(target.where, { poolSize: 4 })),
    drop: target.drop,
  };
}

/** Where a new, empty store of this kind lives, for processes to open by path or URL. */
async function freshTarget(backend: BackendName) {
  if (backend === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'herald-store-'));
    return { where: join(dir, 'herald.db'), drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const schema = await freshSchema();
  return { where: schema.url, drop: schema.drop };
}

function run(cmd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const gate = () => {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const backend of await testBackends()) {
  describe(`the storage contract on ${backend}`, () => {
    let store: Awaited<ReturnType<typeof fresh>>;
    let db: Db;
    before(async () => {
      store = await fresh(backend);
      db = await store.open();
      await db.tx((tx) =>
        tx.exec(`CREATE TABLE contract (id TEXT PRIMARY KEY, n BIGINT, body TEXT, flag INTEGER);
                 CREATE TABLE contract_unique (a TEXT NOT NULL, b TEXT NOT NULL, UNIQUE (a, b));`),
      );
    });
    after(async () => {
      await db.close();
      await store.drop();
    });

    it('commits all of a transaction’s writes together', async () => {
      const result = await db.tx(async (tx) => {
        await tx.run('INSERT INTO contract (id, n) VALUES (?, ?)', ['c1', 1]);
        await tx.run('INSERT INTO contract (id, n) VALUES (?, ?)', ['c2', 2]);
        return 'done';
      });
      assert.equal(result, 'done');
      const rows = await db.all<{ id: string; n: number }>("SELECT id, n FROM contract WHERE id IN ('c1', 'c2') ORDER BY id");
      assert.deepEqual(rows, [
        { id: 'c1', n: 1 },
        { id: 'c2', n: 2 },
      ]);
    });

    it('rolls back every write when the callback throws, and rethrows its error', async () => {
      const boom = new Error('boom');
      await assert.rejects(
        db.tx(async (tx) => {
          await tx.run('INSERT INTO contract (id, n) VALUES (?, ?)', ['r1', 1]);
          await tx.run('UPDATE contract SET n = 99 WHERE id = ?', ['c1']);
          throw boom;
        }),
        (err) => err === boom,
      );
      assert.equal(await db.get("SELECT id FROM contract WHERE id = 'r1'"), undefined);
      assert.equal((await db.get<{ n: number }>("SELECT n FROM contract WHERE id = 'c1'"))!.n, 1);
    });

    it('runs afterCommit hooks once committed, with the data visible to others, and never after a rollback', async () => {
      const seen: Array<string | undefined> = [];
      await db.tx(async (tx) => {
        await tx.run('INSERT INTO contract (id) VALUES (?)', ['h1']);
        tx.afterCommit(() => void seen.push('hook ran'));
        assert.deepEqual(seen, [], 'not before commit');
      });
      assert.deepEqual(seen, ['hook ran']);
      let rolledBack = false;
      await db
        .tx(async (tx) => {
          tx.afterCommit(() => (rolledBack = true));
          throw new Error('abort');
        })
        .catch(() => {});
      assert.equal(rolledBack, false);
      // A hook sees committed data from outside the transaction (where a wake-up would look).
      const outside = await new Promise<unknown>((resolve) => {
        void db.tx(async (tx) => {
          await tx.run('INSERT INTO contract (id) VALUES (?)', ['h2']);
          tx.afterCommit(() => void db.get("SELECT id FROM contract WHERE id = 'h2'").then(resolve));
        });
      });
      assert.deepEqual(outside, { id: 'h2' });
    });

    it('lets reads outside a transaction see committed data only', async () => {
      await db.tx(async (tx) => {
        await tx.run('INSERT INTO contract (id) VALUES (?)', ['u1']);
        assert.deepEqual(await tx.get("SELECT id FROM contract WHERE id = 'u1'"), { id: 'u1' }, 'the transaction sees its own write');
        assert.equal(await db.get("SELECT id FROM contract WHERE id = 'u1'"), undefined, 'others do not, before commit');
      });
      assert.deepEqual(await db.get("SELECT id FROM contract WHERE id = 'u1'"), { id: 'u1' });
    });

    it('counts the rows a statement wrote, RETURNING rows included', async () => {
      await db.tx(async (tx) => {
        for (const id of ['k1', 'k2', 'k3']) await tx.run('INSERT INTO contract (id, n) VALUES (?, 0)', [id]);
      });
      // `changes` only: SQLite also says the connection's last insert rowid (Queryable.run's lastRowid).
      assert.equal((await db.run("UPDATE contract SET n = n + 1 WHERE id IN ('k1', 'k2', 'k3')")).changes, 3);
      assert.equal((await db.run("UPDATE contract SET n = 5 WHERE id = 'nope'")).changes, 0);
      const returned = await db.tx((tx) => tx.get<{ n: number }>("UPDATE contract SET n = n + 1 WHERE id = 'k1' RETURNING n"));
      assert.deepEqual(returned, { n: 2 });
      assert.equal((await db.tx((tx) => tx.run("UPDATE contract SET n = 0 WHERE id IN ('k2', 'k3') RETURNING id"))).changes, 2);
    });

    it('binds ? placeholders in order, never inside quoted text or comments', async () => {
      await db.run(
        `INSERT INTO contract (id, body, n) -- which values? these:
         VALUES (?, 'it''s a ? and "?"' || ?, ?)`,
        ['q1', ' / tail?', 7],
      );
      assert.deepEqual(await db.get('SELECT body, n FROM contract WHERE id = ? AND n = ?', ['q1', 7]), { body: `it's a ? and "?" / tail?`, n: 7 });
      // undefined binds as NULL, booleans as 0/1 (the schema keeps booleans as integers).
      await db.run('INSERT INTO contract (id, body, flag) VALUES (?, ?, ?)', ['q2', undefined, true]);
      await db.run('INSERT INTO contract (id, flag) VALUES (?, ?)', ['q3', false]);
      assert.deepEqual(await db.all("SELECT id, body, flag FROM contract WHERE id IN ('q2', 'q3') ORDER BY id"), [
        { id: 'q2', body: null, flag: 1 },
        { id: 'q3', body: null, flag: 0 },
      ]);
    });

    it('returns big integers and aggregates as exact JS numbers', async () => {
      const big = Number.MAX_SAFE_INTEGER; // 2^53 - 1
      const ms = 4_102_444_800_000; // 2100-01-01 in ms
      await db.run('INSERT INTO contract (id, n) VALUES (?, ?), (?, ?)', ['b1', big, 'b2', ms]);
      const rows = await db.all<{ n: number }>("SELECT n FROM contract WHERE id IN ('b1', 'b2') ORDER BY n");
      assert.deepEqual(rows, [{ n: ms }, { n: big }]);
      const agg = await db.get<{ c: number; s: number; m: number }>("SELECT COUNT(*) AS c, SUM(n) AS s, MAX(n) AS m FROM contract WHERE id = 'b2'");
      assert.deepEqual(agg, { c: 1, s: ms, m: ms });
      assert.equal(typeof agg!.c, 'number');
    });

    it('returns rows as arrays in column order with `values`, the same values `all` gives, in and out of a transaction', async () => {
      const ms = 4_102_444_800_000;
      await db.run('INSERT INTO contract (id, n, body, flag) VALUES (?, ?, ?, ?), (?, ?, ?, ?)', ['v1', ms, 'one', 1, 'v2', null, null, 0]);
      const sql = "SELECT flag, id, n, body FROM contract WHERE id IN ('v1', 'v2') ORDER BY id";
      const rows = await db.values(sql);
      assert.deepEqual(rows, [
        [1, 'v1', ms, 'one'],
        [0, 'v2', null, null],
      ]);
      assert.deepEqual(rows, (await db.all<Record<string, unknown>>(sql)).map((r) => [r.flag, r.id, r.n, r.body]));
      // The same statement text through `all` still gives objects (a statement's row shape is not shared).
      assert.deepEqual((await db.all(sql))[0], { flag: 1, id: 'v1', n: ms, body: 'one' });
      const returned = await db.tx((tx) => tx.values("UPDATE contract SET n = n + 1 WHERE id = 'v1' RETURNING id, n"));
      assert.deepEqual(returned, [['v1', ms + 1]]);
    });

    it('keeps JSON text exactly as written', async () => {
      const value = { quote: 'say "hi"', slash: 'a\\b', nul: 'before\u0000after', emoji: 'déjà vu 🎉', nested: [1, { deep: null }], big: 2 ** 52 };
      await db.run('INSERT INTO contract (id, body) VALUES (?, ?)', ['j1', JSON.stringify(value)]);
      const row = await db.get<{ body: string }>("SELECT body FROM contract WHERE id = 'j1'");
      assert.equal(row!.body, JSON.stringify(value));
      assert.deepEqual(json(row!.body), value);
      assert.equal(json(null), null);
    });

    it('reports a unique violation that callers can recognise, and keeps the first row', async () => {
      await db.run('INSERT INTO contract_unique (a, b) VALUES (?, ?)', ['x', 'y']);
      const err = await db.run('INSERT INTO contract_unique (a, b) VALUES (?, ?)', ['x', 'y']).then(
        () => null,
        (e: unknown) => e,
      );
      assert.ok(err, 'the duplicate was refused');
      assert.equal(isUniqueViolation(err), true);
      assert.equal(isUniqueViolation(new Error('something else')), false);
      // Inside a transaction it rolls the transaction back.
      await assert.rejects(
        db.tx(async (tx) => {
          await tx.run('INSERT INTO contract (id) VALUES (?)', ['dup-tx']);
          await tx.run('INSERT INTO contract_unique (a, b) VALUES (?, ?)', ['x', 'y']);
        }),
        (e) => isUniqueViolation(e),
      );
      assert.equal(await db.get("SELECT id FROM contract WHERE id = 'dup-tx'"), undefined);
      assert.deepEqual(await db.all('SELECT a, b FROM contract_unique'), [{ a: 'x', b: 'y' }]);
    });

    it('upserts with ON CONFLICT', async () => {
      const upsert = 'INSERT INTO contract (id, n) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET n = excluded.n';
      await db.run(upsert, ['up', 1]);
      await db.run(upsert, ['up', 2]);
      assert.deepEqual(await db.get("SELECT n FROM contract WHERE id = 'up'"), { n: 2 });
      const skipped = await db.run('INSERT INTO contract (id, n) VALUES (?, ?) ON CONFLICT (id) DO NOTHING', ['up', 3]);
      assert.equal(skipped.changes, 0);
    });

    it('commits concurrent transactions without losing an update', async () => {
      await db.run('INSERT INTO contract (id, n) VALUES (?, 0)', ['counter']);
      await Promise.all(
        Array.from({ length: 20 }, () => db.tx((tx) => tx.run("UPDATE contract SET n = n + 1 WHERE id = 'counter'"))),
      );
      assert.deepEqual(await db.get("SELECT n FROM contract WHERE id = 'counter'"), { n: 20 });
    });

    it('commits each of the transactions asked for together with `gather`, and undoes one that throws alone', async () => {
      // Asked for in one turn of the event loop: on SQLite they share one BEGIN and COMMIT.
      const hooks: string[] = [];
      const write = (id: string, fail?: Error) =>
        db.tx(
          async (tx) => {
            await tx.run('INSERT INTO contract (id, n) VALUES (?, ?)', [id, 1]);
            tx.afterCommit(() => void hooks.push(id));
            if (fail) throw fail;
            await tx.run("UPDATE contract SET n = n + 1 WHERE id = 'g-count'");
            return id;
          },
          { gather: true },
        );
      await db.run("INSERT INTO contract (id, n) VALUES ('g-count', 0)");
      const refused = new HeraldError('validation_failed', 'refused', { errors: { title: ['refused'] } });
      const outcomes = await Promise.allSettled([write('g1'), write('g2', refused), write('g3'), write('g4')]);
      assert.deepEqual(
        outcomes.map((o) => (o.status === 'fulfilled' ? o.value : o.reason)),
        ['g1', refused, 'g3', 'g4'],
      );
      assert.deepEqual(await db.all("SELECT id FROM contract WHERE id IN ('g1', 'g2', 'g3', 'g4') ORDER BY id"), [{ id: 'g1' }, { id: 'g3' }, { id: 'g4' }]);
      assert.deepEqual(await db.get("SELECT n FROM contract WHERE id = 'g-count'"), { n: 3 });
      assert.deepEqual(hooks.sort(), ['g1', 'g3', 'g4']);
    });

    it('fails only the gathered transaction that breaks a unique key, with the unique violation', async () => {
      await db.run('INSERT INTO contract_unique (a, b) VALUES (?, ?)', ['gu', 'taken']);
      const insert = (id: string, b: string) =>
        db.tx(
          async (tx) => {
            await tx.run('INSERT INTO contract (id) VALUES (?)', [id]);
            await tx.run('INSERT INTO contract_unique (a, b) VALUES (?, ?)', ['gu', b]);
          },
          { gather: true },
        );
      const [a, b, c] = await Promise.allSettled([insert('gu1', 'one'), insert('gu2', 'taken'), insert('gu3', 'three')]);
      assert.equal(a.status, 'fulfilled');
      assert.ok(b.status === 'rejected' && isUniqueViolation(b.reason), 'the duplicate was refused as a unique violation');
      assert.equal(c.status, 'fulfilled');
      assert.deepEqual(await db.all("SELECT id FROM contract WHERE id LIKE 'gu%' ORDER BY id"), [{ id: 'gu1' }, { id: 'gu3' }]);
      assert.deepEqual(await db.all("SELECT b FROM contract_unique WHERE a = 'gu' ORDER BY b"), [{ b: 'one' }, { b: 'taken' }, { b: 'three' }]);
    });

    it('keeps a gathered group whose failing member only read: the others run once and commit together', async () => {
      const runs = new Map<string, number>();
      const write = (id: string) =>
        db.tx(
          async (tx) => {
            runs.set(id, (runs.get(id) ?? 0) + 1);
            await tx.run('INSERT INTO contract (id, n) VALUES (?, ?)', [id, 1]);
            return id;
          },
          { gather: true },
        );
      const refused = new HeraldError('validation_failed', 'refused', { errors: { title: ['refused'] } });
      const readThenThrow = db.tx(
        async (tx) => {
          runs.set('r', (runs.get('r') ?? 0) + 1);
          await tx.get("SELECT n FROM contract WHERE id = 'gr1'");
          throw refused;
        },
        { gather: true },
      );
      const outcomes = await Promise.allSettled([write('gr1'), readThenThrow, write('gr3')]);
      assert.deepEqual(
        outcomes.map((o) => (o.status === 'fulfilled' ? o.value : o.reason)),
        ['gr1', refused, 'gr3'],
      );
      // Nothing to undo for a member that only read: no one runs again.
      assert.deepEqual(Object.fromEntries(runs), { gr1: 1, r: 1, gr3: 1 });
      assert.deepEqual(await db.all("SELECT id FROM contract WHERE id LIKE 'gr%' ORDER BY id"), [{ id: 'gr1' }, { id: 'gr3' }]);
    });

    it('gives a gathered member that conflicts with an earlier one of its group the outcome it would have had alone', { skip: backend === 'postgres' && 'PostgreSQL runs transactions side by side: which of two conflicting ones wins is not ordered' }, async () => {
      // gc2 writes, then breaks the unique key gc1 took in the same group (SQLite: one group, run in
      // order): gc1 commits, gc2 fails with nothing of its own committed, gc3 commits.
      const insert = (id: string, b: string) =>
        db.tx(
          async (tx) => {
            await tx.run('INSERT INTO contract (id) VALUES (?)', [id]);
            await tx.run('INSERT INTO contract_unique (a, b) VALUES (?, ?)', ['gc', b]);
            return id;
          },
          { gather: true },
        );
      const [a, b, c] = await Promise.allSettled([insert('gc1', 'same'), insert('gc2', 'same'), insert('gc3', 'other')]);
      assert.ok(a.status === 'fulfilled' && a.value === 'gc1');
      assert.ok(b.status === 'rejected' && isUniqueViolation(b.reason), 'the second was refused as a unique violation');
      assert.ok(c.status === 'fulfilled' && c.value === 'gc3');
      assert.deepEqual(await db.all("SELECT id FROM contract WHERE id LIKE 'gc%' ORDER BY id"), [{ id: 'gc1' }, { id: 'gc3' }]);
      assert.deepEqual(await db.all("SELECT b FROM contract_unique WHERE a = 'gc' ORDER BY b"), [{ b: 'other' }, { b: 'same' }]);
    });

    it('runs transactions that lock the same key one after the other', async () => {
      // A holds the key until the gate opens; B, locking the same key, must then see A's write.
      const a = gate();
      const aLocked = gate();
      const first = db.tx(async (tx) => {
        await tx.lock?.(['contract:key']);
        await tx.run('INSERT INTO contract (id) VALUES (?)', ['lockA']);
        aLocked.open();
        await a.opened;
      });
      await aLocked.opened;
      const second = db.tx(async (tx) => {
        await tx.lock?.(['other:key', 'contract:key']);
        return tx.get<{ n: number }>("SELECT COUNT(*) AS n FROM contract WHERE id = 'lockA'");
      });
      await sleep(100); // room for B to run ahead if the key did not hold it
      a.open();
      await first;
      assert.deepEqual(await second, { n: 1 });
    });

    it('applies migrations once: running them again changes nothing', async () => {
      const files = migrationFiles(db.dialect);
      assert.ok(files.length >= 2);
      assert.deepEqual(await migrate(db), []);
      const rows = await db.all<{ id: number; name: string }>('SELECT id, name FROM schema_migrations ORDER BY id');
      assert.deepEqual(rows, files.map((f) => ({ id: f.id, name: f.name })));
    });

    it('migrates safely when several processes open a new store at once', async () => {
      const target = await freshTarget(backend);
      try {
        const runs = await Promise.all(
          Array.from({ length: 4 }, () => run(process.execPath, ['--import', 'tsx', 'test/store/open-store.ts', backend, target.where])),
        );
        const ids = migrationFiles(backend).map((f) => f.id);
        for (const r of runs) {
          assert.equal(r.code, 0, `a process failed to open the store:\n${r.stderr}`);
          assert.deepEqual(JSON.parse(r.stdout), ids, 'each process sees every migration applied');
        }
      } finally {
        await target.drop();
      }
    });

    it('sends signals to every process on the database, itself included (where the backend has them)', async (t) => {
      if (!db.notify || !db.listen) {
        assert.equal(backend, 'sqlite', 'only SQLite, one process per store, goes without signals');
        return t.skip('SQLite has one process per store: nobody else to signal');
      }
      const other = await store.open(); // a second process on the same database
      try {
        const here: string[] = [];
        const there: string[] = [];
        const heardBoth = gate();
        const check = () => here.includes('hello') && there.includes('hello') && heardBoth.open();
        const stopHere = await db.listen('herald_contract', (p) => (here.push(p), check()));
        const stopThere = await other.listen!('herald_contract', (p) => (there.push(p), check()));
        db.notify('herald_contract', 'hello');
        await heardBoth.opened;
        await stopHere();
        await stopThere();
      } finally {
        await other.close();
      }
    });
  });
}

describe('the PostgreSQL backend', async () => {
  const backends = await testBackends();
  it('turns an unreachable server into `unavailable` (503), not a crash', { skip: !backends.includes('postgres') && 'no PostgreSQL' }, async () => {
    await assert.rejects(openPostgres('postgres://postgres@127.0.0.1:1/test'), (err) => err instanceof HeraldError && err.code === 'unavailable');
  });

  it('commits without waiting for the disk only when asked to (worker processes)', { skip: !backends.includes('postgres') && 'no PostgreSQL' }, async () => {
    const schema = await freshSchema();
    const durable = await openPostgres(schema.url, { poolSize: 1 });
    const worker = await openPostgres(schema.url, { poolSize: 1, asyncCommit: true });
    try {
      assert.deepEqual(await durable.get('SHOW synchronous_commit'), { synchronous_commit: 'on' });
      assert.deepEqual(await worker.get('SHOW synchronous_commit'), { synchronous_commit: 'off' });
      assert.deepEqual(await worker.tx((tx) => tx.get('SHOW synchronous_commit')), { synchronous_commit: 'off' });
    } finally {
      await durable.close();
      await worker.close();
      await schema.drop();
    }
  });

  it('keeps using an index on a table that was planned while it was empty', { skip: !backends.includes('postgres') && 'no PostgreSQL' }, async () => {
    // A prepared statement's generic plan, chosen while the table was empty, would scan the whole
    // table on every call once it grew (until statistics change, which with autovacuum off is never).
    const schema = await freshSchema();
    const db = await openPostgres(schema.url, { poolSize: 1 });
    try {
      await db.run('CREATE TABLE young (id TEXT PRIMARY KEY, lane TEXT NOT NULL, state TEXT NOT NULL)');
      await db.run('CREATE INDEX young_lane ON young(lane)');
      await db.run('ANALYZE young');
      const lookup = 'SELECT 1 AS busy FROM young WHERE lane = ? AND state = ? LIMIT 1';
      for (let i = 0; i < 10; i++) assert.equal(await db.get(lookup, [`lane-${i}`, 'pending']), undefined);
      await db.run("INSERT INTO young (id, lane, state) SELECT 'x' || g, 'lane-' || g, 'pending' FROM generate_series(1, 20000) AS g");
      // This backend's scan counts (not yet flushed to the shared statistics), before and after.
      // By oid, this schema's table: the view lists every schema's tables, and a run of this test
      // in another process (two suites on one server) has a `young` of its own, whose counts read 0.
      const counts = "SELECT seq_scan, idx_scan FROM pg_stat_xact_user_tables WHERE relid = 'young'::regclass";
      const [before, after] = await db.tx(async (tx) => {
        const b = await tx.get<{ seq_scan: number; idx_scan: number }>(counts);
        for (let i = 0; i < 10; i++) assert.deepEqual(await tx.get(lookup, [`lane-${i + 1}`, 'pending']), { busy: 1 });
        return [b!, (await tx.get<{ seq_scan: number; idx_scan: number }>(counts))!];
      });
      assert.deepEqual({ seq_scan: after.seq_scan - before.seq_scan, idx_scan: after.idx_scan - before.idx_scan }, { seq_scan: 0, idx_scan: 10 });
    } finally {
      await db.close();
      await schema.drop();
    }
  });

  it('recovers when a newer process alters a table under a prepared statement', { skip: !backends.includes('postgres') && 'no PostgreSQL' }, async () => {
    const schema = await freshSchema();
    const db = await openPostgres(schema.url, { poolSize: 1 });
    const newer = await openPostgres(schema.url, { poolSize: 1 });
    try {
      await db.run('CREATE TABLE grows (id TEXT PRIMARY KEY)');
      await db.run("INSERT INTO grows (id) VALUES ('a')");
      // Run twice: prepared from the second run on.
      for (let i = 0; i < 2; i++) assert.deepEqual(await db.all('SELECT * FROM grows'), [{ id: 'a' }]);
      await newer.run("ALTER TABLE grows ADD COLUMN note TEXT NOT NULL DEFAULT 'new'");
      await assert.rejects(db.all('SELECT * FROM grows'), (err) => err instanceof HeraldError && err.code === 'unavailable');
      assert.deepEqual(await db.all('SELECT * FROM grows'), [{ id: 'a', note: 'new' }]);
    } finally {
      await db.close();
      await newer.close();
      await schema.drop();
    }
  });

  it('keeps listening after its connection is cut, and says signals may have been missed', { skip: !backends.includes('postgres') && 'no PostgreSQL' }, async () => {
    const schema = await freshSchema();
    const name = `herald-test-${Date.now().toString(36)}`;
    const db = await openPostgres(schema.url, { poolSize: 1, applicationName: name });
    try {
      const heard: string[] = [];
      let wake: () => void = () => {};
      await db.listen!('herald_contract_cut', (p) => (heard.push(p), wake()));
      const hear = (what: string) => new Promise<void>((r) => (wake = () => heard.includes(what) && r())).then(() => {});
      const first = hear('before');
      db.notify!('herald_contract_cut', 'before');
      await first;
      // The server drops the listening connection (a restart, a network cut, an operator).
      const missed = hear('');
      await db.run('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = ?', [`${name}-listen`]);
      await missed;
      const after = hear('after');
      db.notify!('herald_contract_cut', 'after');
      await after;
      assert.deepEqual(heard, ['before', '', 'after']);
    } finally {
      await db.close();
      await schema.drop();
    }
  });

  it('refuses a value PostgreSQL cannot store as a bad request, not an internal error', { skip: !backends.includes('postgres') && 'no PostgreSQL' }, async () => {
    const schema = await freshSchema();
    const db = await openPostgres(schema.url, { poolSize: 1 });
    try {
      await assert.rejects(
        db.run('INSERT INTO meta (key, value) VALUES (?, ?)', ['nul', 'a\u0000b']),
        (err) => err instanceof HeraldError && err.code === 'bad_request',
      );
      await assert.rejects(
        db.run('INSERT INTO meta (key, value) VALUES (?, ?)', ['meta-dup', 'x']).then(() => db.run('INSERT INTO meta (key, value) VALUES (?, ?)', ['meta-dup', 'y'])),
        (err) => err instanceof HeraldError && err.code === 'conflict' && isUniqueViolation(err),
      );
    } finally {
      await db.close();
      await schema.drop();
    }
  });
});

describe('the SQLite backend', () => {
  it('fails only the gathered transaction that fills the disk, as unavailable, and commits the others', async () => {
    const target = await freshTarget('sqlite');
    const db = await openSqlite(target.where);
    try {
      await db.tx((tx) => tx.exec('CREATE TABLE full_disk (id TEXT PRIMARY KEY, body TEXT)'));
      // A disk with room for a few pages more: SQLITE_FULL, which ends the whole transaction.
      const raw = (db as unknown as { handle: { pragma(s: string, o?: object): unknown } }).handle;
      raw.pragma(`max_page_count = ${Number(raw.pragma('page_count', { simple: true })) + 4}`);
      const write = (id: string, bytes: number) =>
        db.tx((tx) => tx.run('INSERT INTO full_disk (id, body) VALUES (?, ?)', [id, 'x'.repeat(bytes)]), { gather: true });
      const [a, b, c] = await Promise.allSettled([write('small1', 10), write('big', 1_000_000), write('small2', 10)]);
      assert.equal(a.status, 'fulfilled');
      assert.ok(b.status === 'rejected' && b.reason instanceof HeraldError && b.reason.code === 'unavailable', `the big one failed as unavailable: ${b.status === 'rejected' ? b.reason : 'it committed'}`);
      assert.equal(c.status, 'fulfilled');
      assert.deepEqual(await db.all('SELECT id FROM full_disk ORDER BY id'), [{ id: 'small1' }, { id: 'small2' }]);
    } finally {
      await db.close();
      await target.drop();
    }
  });
});
