import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { after, describe, it } from 'node:test';
import { compare } from '../../src/ops/db-migrations.ts';
import { migrationFiles } from '../../src/store/migrate.ts';
import { removeDir, spawnHerald, type SpawnedHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { createWebhook, sleep, until } from '../helpers/engine.ts';
import { freshSchema, skipWithoutPostgres } from '../helpers/postgres.ts';

/** Runs `herald ...` as an operator would; resolves with its exit code and output. */
function herald(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.once('exit', (code) => resolve({ code, out, err }));
  });
}

const ON_POSTGRES = process.env.HERALD_TEST_BACKEND === 'postgres';
const tmp = mkdtempSync(join(tmpdir(), 'herald-db-'));
after(() => removeDir(tmp));

describe('herald db backup', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it('takes a consistent copy of the SQLite store while Herald runs under load', { skip: ON_POSTGRES && 'herald db backup copies SQLite stores (PostgreSQL: pg_dump)' }, async () => {
    const rx = await startReceiver(async () => void (await sleep(5)));
    cleanup.push(() => rx.close());
    const h: SpawnedHerald = await spawnHerald();
    cleanup.push(() => h.close());
    const stack = await h.newStack();
    const headers = { api_key: stack.api_key, authorization: stack.token };
    await createWebhook(h, stack, rx.url, { channels: ['content_types.entries.create', 'content_types.entries.update'] });
    await createWebhook(h, stack, rx.url, { channels: ['content_types.entries.create'] });
    const ct = await h.request('POST', '/v3/content_types', {
      headers,
      body: { content_type: { title: 'Post', uid: 'post', schema: [{ uid: 'title', data_type: 'text', display_name: 'Title', mandatory: true, unique: false }] } },
    });
    assert.equal(ct.status, 201);

    // Load: writers create and update entries (each change an event and two executions in one
    // transaction) while deliveries record attempts, until the backups are done.
    let writing = true;
    let changes = 0;
    const writers = Array.from({ length: 6 }, async (_, w) => {
      for (let i = 0; writing; i++) {
        const r = await h.request('POST', '/v3/content_types/post/entries', { headers, body: { entry: { title: `w${w} ${i}` } } });
        assert.equal(r.status, 201);
        await h.request('PUT', `/v3/content_types/post/entries/${r.body.entry.uid}`, { headers, body: { entry: { title: `w${w} ${i} again` } } });
        changes += 2;
      }
    });
    await until(() => rx.received.length >= 100, 30_000, 'deliveries under way');
    const copies = [join(tmp, 'one.db'), join(tmp, 'two.db')];
    const changesAt: number[] = [];
    for (const copy of copies) {
      const r = await herald(['db', 'backup', '--to', copy, '--data-dir', h.dataDir]);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /backed up \d+ pages \(\d+ bytes\) to .*; integrity check: ok/);
      changesAt.push(changes);
    }
    writing = false;
    await Promise.all(writers);
    assert.ok(changesAt[1]! > changesAt[0]!, 'changes were being made between and during the backups');
    assert.deepEqual(readdirSync(tmp).filter((f) => f.includes('.partial')), [], 'no partial file is left');

    for (const copy of copies) {
      const db = new Database(copy, { readonly: true });
      try {
        assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
        const count = (sql: string) => Number((db.prepare(sql).get() as { n: number }).n);
        assert.ok(count('SELECT COUNT(*) AS n FROM events') > 0);
        assert.ok(count('SELECT COUNT(*) AS n FROM attempts') > 0, 'attempts were recorded before the copy');
        // A change never without its event, nor its executions, nor an attempt without its execution.
        assert.equal(count('SELECT COUNT(*) AS n FROM executions x WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.seq = x.event_seq)'), 0);
        assert.equal(count('SELECT COUNT(*) AS n FROM attempts a WHERE NOT EXISTS (SELECT 1 FROM executions x WHERE x.uid = a.execution_uid)'), 0);
        assert.equal(count("SELECT COUNT(*) AS n FROM entries en WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.uid = en.uid AND e.action = 'create')"), 0);
        assert.equal(
          count("SELECT COUNT(*) AS n FROM events e WHERE e.module = 'entry' AND NOT EXISTS (SELECT 1 FROM entries en WHERE en.uid = e.uid)"),
          0,
          'every entry event has its entry',
        );
        // Each create event fanned out to both webhooks, each update to one, in the same transaction.
        assert.equal(
          count("SELECT COUNT(*) AS n FROM events e WHERE e.module = 'entry' AND (SELECT COUNT(*) FROM executions x WHERE x.event_seq = e.seq) <> CASE e.action WHEN 'create' THEN 2 ELSE 1 END"),
          0,
        );
        // An attempt's execution counts it.
        assert.equal(count('SELECT COUNT(*) AS n FROM executions x WHERE x.attempts <> (SELECT COUNT(*) FROM attempts a WHERE a.execution_uid = x.uid)'), 0);
      } finally {
        db.close();
      }
    }
    // The copy is a store Herald opens.
    const restored = join(tmp, 'restored');
    const { mkdirSync, copyFileSync } = await import('node:fs');
    mkdirSync(restored);
    copyFileSync(copies[0]!, join(restored, 'herald.db'));
    const again = await spawnHerald({}, restored);
    cleanup.push(() => again.close());
    const list = await again.request('GET', '/v3/content_types/post/entries?include_count=true', { headers });
    assert.equal(list.status, 200);
    assert.ok(list.body.count > 0);
  });

  it('never overwrites a file, and says what is wrong with exit code 2', async () => {
    const dir = join(tmp, 'empty');
    const missing = await herald(['db', 'backup', '--to', join(tmp, 'x.db'), '--data-dir', dir]);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /There is no Herald store at .*herald\.db \(check --data-dir\)/);
    const noTo = await herald(['db', 'backup', '--data-dir', dir]);
    assert.equal(noTo.code, 2);
    assert.match(noTo.err, /required option '--to <file>'/);
    const pg = await herald(['db', 'backup', '--to', join(tmp, 'y.db')], { HERALD_DATABASE_URL: 'postgres://u:pw@127.0.0.1:1/x' });
    assert.equal(pg.code, 2);
    assert.match(pg.err, /for PostgreSQL use pg_dump/);
  });
});

describe('herald db status and migrate', () => {
  it('compares known migrations with applied ones, naming those a newer Herald applied', () => {
    const known = [
      { id: 1, name: '001_core' },
      { id: 2, name: '002_content' },
    ];
    assert.deepEqual(compare(known, [{ id: 1, name: '001_core', applied_at: 5 }, { id: 7, name: '007_future', applied_at: 9 }]), [
      { id: 1, name: '001_core', state: 'applied', appliedAt: 5 },
      { id: 2, name: '002_content', state: 'pending', appliedAt: null },
      { id: 7, name: '007_future', state: 'unknown', appliedAt: 9 },
    ]);
  });

  it('on SQLite: lists every migration as pending for a new data dir, applies them, then reports up to date', async () => {
    const dir = join(tmp, 'fresh');
    const names = migrationFiles('sqlite').map((m) => m.name);
    const before = await herald(['db', 'status', '--data-dir', dir]);
    assert.equal(before.code, 0, before.err);
    assert.match(before.out, /sqlite store at .*herald\.db \(not created yet\)/);
    for (const n of names) assert.match(before.out, new RegExp(`pending +${n}`));
    assert.match(before.out, new RegExp(`${names.length} pending: run \`herald db migrate\``));
    assert.ok(!existsSync(join(dir, 'herald.db')), 'status changes nothing');

    const migrated = await herald(['db', 'migrate', '--data-dir', dir]);
    assert.equal(migrated.code, 0, migrated.err);
    assert.match(migrated.out, new RegExp(`applied ${names.join(', ')}`));
    for (const n of names) assert.match(migrated.out, new RegExp(`applied +${n} +applied \\d{4}-`));
    assert.match(migrated.out, /up to date/);

    const twice = await herald(['db', 'migrate', '--data-dir', dir]);
    assert.match(twice.out, /nothing to apply/);

    // A migration this version does not know (the store was migrated by a newer Herald).
    const db = new Database(join(dir, 'herald.db'));
    db.prepare('INSERT INTO schema_migrations (id, name, applied_at) VALUES (999, ?, ?)').run('999_future', Date.now());
    db.close();
    const newer = await herald(['db', 'status', '--data-dir', dir]);
    assert.match(newer.out, /unknown +999_future .*applied by a newer Herald/);
  });

  it('on PostgreSQL: the same, by --database-url, without showing its password', async (t) => {
    const skip = await skipWithoutPostgres();
    if (skip) return t.skip(skip);
    const schema = await freshSchema();
    try {
      const url = new URL(schema.url);
      url.password = 'not-a-real-password';
      const env = { HERALD_DATABASE_URL: schema.url };
      const names = migrationFiles('postgres').map((m) => m.name);
      const before = await herald(['db', 'status'], env);
      assert.equal(before.code, 0, before.err);
      assert.match(before.out, /postgres store at postgres:\/\/.* \(not created yet\)/);
      assert.match(before.out, new RegExp(`${names.length} pending`));
      const migrated = await herald(['db', 'migrate', '--database-url', schema.url]);
      assert.equal(migrated.code, 0, migrated.err);
      assert.match(migrated.out, new RegExp(`applied ${names.join(', ')}`));
      assert.match((await herald(['db', 'status'], env)).out, /up to date/);
      // A password in the URL is never printed (this one is wrong, so the connection fails or not:
      // trust auth on test servers ignores it; either way the output must not contain it).
      const withPassword = await herald(['db', 'status', '--database-url', url.toString()]);
      assert.ok(!(withPassword.out + withPassword.err).includes('not-a-real-password'), withPassword.out + withPassword.err);
    } finally {
      await schema.drop();
    }
  });
});
