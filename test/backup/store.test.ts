import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { fromFeed } from '../../src/backup/event.ts';
import { findEntity } from '../../src/backup/selection.ts';
import { BackupStore, STORE_FILE } from '../../src/backup/store.ts';
import { HeraldError } from '../../src/errors.ts';

/**
 * The backup's store keys an entry by content type and uid (backup migration 006): a uid the source
 * gives again to another content type's entry (an entry deleted and one made under its uid with
 * x-herald-uid, a Contentful id reused) is another history, not the same one continued.
 */
const MIGRATIONS = join(import.meta.dirname, '../../src/backup/migrations');

function feedEvent(seq: number, action: string, ct: string, title: string, version: number) {
  return fromFeed({
    seq,
    api_key: 'bltstack',
    branch: 'main',
    module: 'entry',
    action,
    uid: 'reused',
    content_type_uid: ct,
    locale: 'en-us',
    actor: 'bltactor',
    data: { entry: { uid: 'reused', locale: 'en-us', content_type_uid: ct, title, tags: [], _version: version }, content_type: { uid: ct } },
    created_at: 1_000 * seq,
  });
}

describe('the backup store keys entries by content type and uid', () => {
  it('keeps two content types\' entries with one uid apart as they are stored', () => {
    const store = new BackupStore(mkdtempSync(join(tmpdir(), 'herald-backup-store-')));
    try {
      store.storeEvent(feedEvent(1, 'create', 'author', 'Grace', 1));
      store.storeEvent(feedEvent(2, 'delete', 'author', 'Grace', 1));
      // The post's create arrives after its update (a delivery ahead of catch-up): it rebuilds the post's history only.
      store.storeEvent(feedEvent(4, 'update', 'post', 'Same uid, edited', 2));
      store.storeEvent(feedEvent(3, 'create', 'post', 'Same uid', 1));
      const author = store.entity('bltstack', 'main', 'entry', 'reused', 'author')!;
      const post = store.entity('bltstack', 'main', 'entry', 'reused', 'post')!;
      assert.deepEqual([author.deleted, author.events, author.title], [true, 2, 'Grace']);
      assert.deepEqual([post.deleted, post.events, post.title], [false, 2, 'Same uid, edited']);
      assert.deepEqual(store.eventsOf('bltstack', 'main', 'entry', 'reused', 'author').map((e) => e.seq), [1, 2]);
      assert.equal(store.entities('bltstack', { q: 'reused' }).count, 2);
      // Named without its content type, the uid is a 422 naming the reader's field, not one of them picked.
      assert.throws(
        () => findEntity(store, 'bltstack', 'main', 'entry', 'reused', undefined, '--content-type'),
        (e: unknown) => e instanceof HeraldError && e.code === 'validation_failed' && Object.keys(e.errors ?? {})[0] === '--content-type' && /author, post/.test(e.message),
      );
      assert.equal(findEntity(store, 'bltstack', 'main', 'entry', 'reused', 'post', 'content_type_uid')?.title, 'Same uid, edited');
      // A restore's uid map is per content type too.
      store.mapUid('target', 'entry', 'reused', 'author', 'moved1');
      store.mapUid('target', 'entry', 'reused', 'post', 'moved2');
      assert.deepEqual([store.mappedUid('target', 'entry', 'reused', 'author'), store.mappedUid('target', 'entry', 'reused', 'post')], ['moved1', 'moved2']);
    } finally {
      store.close();
    }
  });

  it('splits a history merged before migration 006, and carries the uid map over', () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-backup-store-'));
    // A backup store as migrations 001-005 left it, holding one merged entity.
    const db = new Database(join(dir, STORE_FILE));
    db.exec('CREATE TABLE schema_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
    for (const f of readdirSync(MIGRATIONS).filter((f) => /^00[1-5]_/.test(f)).sort()) {
      db.exec(readFileSync(join(MIGRATIONS, f), 'utf8'));
      db.prepare('INSERT INTO schema_migrations (id, name, applied_at) VALUES (?, ?, 0)').run(Number(f.slice(0, 3)), f.replace(/\.sql$/, ''));
    }
    db.prepare('INSERT INTO stacks (api_key, first_seen_at) VALUES (?, 0)').run('bltstack');
    const insert = db.prepare(
      `INSERT INTO events (api_key, seq, branch, module, action, uid, content_type_uid, locale, line, version, title, data, partial, origin, created_at, stored_at)
       VALUES ('bltstack', ?, 'main', 'entry', ?, ?, ?, 'en-us', 'en-us', 1, ?, ?, 0, 'feed', ?, 0)`,
    );
    for (const [seq, action, uid, ct, title] of [
      [1, 'create', 'reused', 'author', 'Grace'],
      [2, 'delete', 'reused', 'author', 'Grace'],
      [3, 'create', 'reused', 'post', 'Same uid'],
      [4, 'create', 'single', 'post', 'Only one'],
    ] as const) {
      insert.run(seq, action, uid, ct, title, JSON.stringify({ entry: { uid, locale: 'en-us', content_type_uid: ct, title, tags: [], _version: 1 } }), seq * 1000);
    }
    // What 001-005 kept: one row for both histories, the post's content type over the author's.
    db.prepare(
      `INSERT INTO entities (api_key, branch, module, uid, content_type_uid, title, lines, origin_line, deleted, events, last_seq, last_action, updated_at)
       VALUES ('bltstack', 'main', 'entry', 'reused', 'post', 'Same uid', '{"en-us":"live"}', 'en-us', 0, 3, 3, 'create', 0)`,
    ).run();
    const map = db.prepare('INSERT INTO uid_map (target, module, source_uid, target_uid, created_at) VALUES (?, ?, ?, ?, 0)');
    map.run('target', 'entry', 'reused', 'moved');
    map.run('target', 'entry', 'single', 'moved-single');
    map.run('target', 'asset', 'bltasset', 'moved-asset');
    db.close();

    const store = new BackupStore(dir);
    try {
      const rows = store.entities('bltstack').entities.map((e) => `${e.content_type_uid}/${e.uid} ${e.title} ${e.deleted ? 'deleted' : 'live'} ${e.events}`);
      assert.deepEqual(rows.sort(), ['author/reused Grace deleted 2', 'post/reused Same uid live 1', 'post/single Only one live 1']);
      // An entry whose uid the events give one content type gets it in the uid map; an ambiguous one keeps '' (answers for either, checked by the restore).
      const keyed = store.db.prepare('SELECT module, content_type_uid, source_uid, target_uid FROM uid_map ORDER BY source_uid').all();
      assert.deepEqual(keyed, [
        { module: 'asset', content_type_uid: '', source_uid: 'bltasset', target_uid: 'moved-asset' },
        { module: 'entry', content_type_uid: '', source_uid: 'reused', target_uid: 'moved' },
        { module: 'entry', content_type_uid: 'post', source_uid: 'single', target_uid: 'moved-single' },
      ]);
      assert.equal(store.mappedUid('target', 'entry', 'single', 'post'), 'moved-single');
      assert.equal(store.mappedUid('target', 'entry', 'single', 'author'), undefined);
      assert.equal(store.mappedUid('target', 'entry', 'reused', 'author'), 'moved');
      assert.equal(store.mappedUid('target', 'asset', 'bltasset', null), 'moved-asset');
    } finally {
      store.close();
    }
  });
});

describe('the backup store keeps each asset file with the asset it belongs to', () => {
  function assetEvent(seq: number, action: string, version: number) {
    return fromFeed({
      seq,
      api_key: 'bltstack',
      branch: 'main',
      module: 'asset',
      action,
      uid: 'reused',
      actor: 'bltactor',
      data: { asset: { uid: 'reused', filename: 'f.txt', content_type: 'text/plain', file_size: '1', title: 'f', _version: version } },
      created_at: 1_000 * seq,
    });
  }
  const record = (version: number, status: 'stored' | 'pending', sha256: string | null) => ({ version, status, sha256, filename: 'f.txt', content_type: 'text/plain', size: 1, problem: null });

  it("gives a new asset under a deleted asset's uid its own version 1, and updates a pending record in place", () => {
    const store = new BackupStore(mkdtempSync(join(tmpdir(), 'herald-backup-store-')));
    try {
      store.storeEvent(assetEvent(1, 'create', 1), { file: record(1, 'stored', 'a'.repeat(64)) });
      store.storeEvent(assetEvent(2, 'delete', 1));
      store.storeEvent(assetEvent(3, 'create', 1), { file: record(1, 'pending', null) });
      // Its bytes fetched later (catch-up reading the same event again): the pending record is updated, not doubled.
      store.storeEvent(assetEvent(3, 'create', 1), { file: record(1, 'stored', 'b'.repeat(64)) });
      assert.equal(store.assetFile('bltstack', 'main', 'reused', 1, { seq: 2 })?.sha256, 'a'.repeat(64));
      assert.deepEqual([store.assetFile('bltstack', 'main', 'reused', 1, { seq: 3 })?.sha256, store.assetFile('bltstack', 'main', 'reused', 1)?.seq], ['b'.repeat(64), 3]);
      assert.deepEqual(store.fileCounts(), { stored: 2, pending: 0, missing: 0 });
      // A create not stored yet is its own asset's start, not the earlier asset's.
      assert.equal(store.assetFile('bltstack', 'main', 'reused', 1, { seq: 9, action: 'create' }), undefined);
    } finally {
      store.close();
    }
  });

  it('carries file records over migration 007, each to the asset whose event captured it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-backup-store-'));
    const db = new Database(join(dir, STORE_FILE));
    db.exec('CREATE TABLE schema_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
    for (const f of readdirSync(MIGRATIONS).filter((f) => /^00[1-6]_/.test(f)).sort()) {
      db.exec(readFileSync(join(MIGRATIONS, f), 'utf8'));
      db.prepare('INSERT INTO schema_migrations (id, name, applied_at) VALUES (?, ?, 0)').run(Number(f.slice(0, 3)), f.replace(/\.sql$/, ''));
    }
    const insert = db.prepare(
      `INSERT INTO events (api_key, seq, branch, module, action, uid, line, version, title, data, partial, origin, created_at, stored_at)
       VALUES ('bltstack', ?, 'main', 'asset', ?, 'reused', '', ?, 'f', '{"asset":{"uid":"reused","file_size":"1","_version":1}}', 0, 'feed', 0, 0)`,
    );
    for (const [seq, action, version] of [
      [1, 'create', 1],
      [2, 'update', 2],
      [3, 'delete', 2],
      [4, 'create', 1],
    ] as const)
      insert.run(seq, action, version);
    // What 001-006 kept: one record per (uid, version), so the new asset's version 1 read the old one's.
    const file = db.prepare("INSERT INTO asset_files (api_key, branch, uid, version, status, sha256, updated_at) VALUES ('bltstack', 'main', 'reused', ?, 'stored', ?, 0)");
    file.run(1, 'a'.repeat(64));
    file.run(2, 'b'.repeat(64));
    db.close();

    const store = new BackupStore(dir);
    try {
      assert.equal(store.assetFile('bltstack', 'main', 'reused', 1, { seq: 1 })?.sha256, 'a'.repeat(64));
      assert.equal(store.assetFile('bltstack', 'main', 'reused', 2, { seq: 3 })?.sha256, 'b'.repeat(64));
      // The later asset's bytes were never fetched: it has no record, rather than the old one's.
      assert.equal(store.assetFile('bltstack', 'main', 'reused', 1, { seq: 4 }), undefined);
      assert.equal(store.assetFile('bltstack', 'main', 'reused', 1), undefined);
    } finally {
      store.close();
    }
  });
});
