import Database from 'better-sqlite3';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyEvent, summarize, type EntitySummary } from './history.ts';
import type { BackupEvent, Module } from './event.ts';
import type { ContentfulState } from './source.ts';

/**
 * The backup center's store: one SQLite file (`<data dir>/backup.db`, WAL) with its own numbered
 * migrations (`src/backup/migrations/NNN_name.sql`). The backup is a single process that owns its
 * file (a `herald restore` may read it and write its uid map at the same time: WAL and a busy
 * timeout let them share it).
 *
 * synchronous=FULL: a delivery is answered 2xx only after its commit is on disk, so a power loss
 * cannot take back what Herald was told is stored.
 *
 * better-sqlite3 is synchronous: each method runs to completion, so the check-then-write steps of
 * one event never interleave with another's.
 */
export const STORE_FILE = 'backup.db';

export interface StackRow {
  api_key: string;
  feed_cursor: number;
  highest_seq: number;
  first_seen_at: number;
  caught_up_at: number | null;
  catch_up_error: string | null;
  catch_up_error_at: number | null;
  environments: unknown[] | null;
  locales: unknown[] | null;
  /** `GET /v3/stacks/branches` at the last catch-up (migration 003); null until read. */
  branches: unknown[] | null;
  /** The same branches as Contentful environments (their `name`, `sys.version`); null until read. */
  contentful_environments: unknown[] | null;
  /** `GET /v3/herald/branches` at the last catch-up (migration 009: how each branch was made); null until read, or from a source without it. */
  branch_origins: unknown[] | null;
  settings_fetched_at: number | null;
  /** The stack's name at the source (from catch-up); null until known. */
  name: string | null;
}

export type FileStatus = 'stored' | 'pending' | 'missing';

export interface AssetFile {
  api_key: string;
  branch: string;
  uid: string;
  version: number;
  /**
   * Seq of the event the record was made for (migration 007). A uid can name several assets one
   * after another (deleted, then another made under it, each starting at version 1): a version's
   * record is the one whose seq lies between that asset's create and the next create of the uid.
   */
  seq: number;
  status: FileStatus;
  sha256: string | null;
  filename: string | null;
  content_type: string | null;
  size: number | null;
  problem: string | null;
}

export interface Gap {
  api_key: string;
  gap_key: string;
  kind: GapKind;
  detail: string;
  from_seq: number | null;
  to_seq: number | null;
  detected_at: number;
}

/**
 * - `source_unreachable`: catch-up failed (network, 5xx); events after the cursor may be missing.
 * - `no_access`: the token does not reach the stack (401/404).
 * - `events_missing`: events the backup holds from deliveries are not in the source's feed
 *   (pruned there), so what lies between them cannot be checked.
 * - `asset_file_missing`: an asset version's bytes were gone before they could be downloaded.
 */
export type GapKind = 'source_unreachable' | 'no_access' | 'events_missing' | 'asset_file_missing';

export interface EntityRow extends EntitySummary {
  api_key: string;
  branch: string;
  updated_at: number;
}

/** What storing one event did. */
export type StoreOutcome = 'stored' | 'upgraded' | 'duplicate';

interface EventRow {
  api_key: string;
  seq: number;
  branch: string;
  module: string;
  action: string;
  uid: string;
  content_type_uid: string | null;
  locale: string | null;
  line: string;
  environment: string | null;
  actor: string | null;
  actor_name: string | null;
  version: number | null;
  title: string | null;
  data: string;
  partial: number;
  origin: string;
  created_at: number;
}

function eventFromRow(r: EventRow): BackupEvent {
  return {
    api_key: r.api_key,
    seq: Number(r.seq),
    branch: r.branch,
    module: r.module as Module,
    action: r.action,
    uid: r.uid,
    content_type_uid: r.content_type_uid,
    locale: r.locale,
    line: r.line,
    environment: r.environment,
    actor: r.actor,
    actor_name: r.actor_name ?? null,
    version: r.version === null ? null : Number(r.version),
    title: r.title,
    data: JSON.parse(r.data),
    partial: Number(r.partial) === 1,
    origin: r.origin as BackupEvent['origin'],
    created_at: Number(r.created_at),
  };
}

function migrationFiles(): Array<{ id: number; name: string; sql: string }> {
  const dir = fileURLToPath(new URL('./migrations/', import.meta.url));
  return readdirSync(dir)
    .filter((f) => /^\d{3}_.+\.sql$/.test(f))
    .sort()
    .map((f) => ({ id: Number(f.slice(0, 3)), name: f.replace(/\.sql$/, ''), sql: readFileSync(dir + f, 'utf8') }));
}

/**
 * The content type part of an entity's key (migration 006): an entry is one history per content type
 * and uid (a uid given again to another content type's entry is another entry); a content type's key
 * is its own uid, an asset's ''.
 */
function keyType(module: Module, uid: string, contentTypeUid: string | null | undefined): string {
  if (module === 'content_type') return uid;
  if (module === 'asset') return '';
  if (!contentTypeUid) throw new Error(`entry ${uid}: its content type is part of its key`);
  return contentTypeUid;
}

/** Work a migration needs beyond its SQL, run in its transaction, by migration id. */
const AFTER_MIGRATION: Record<number, (store: BackupStore) => void> = {
  // 006 keyed entries by content type too, 008 counts a uid's incarnations (`events`: the last one's):
  // the entities are filled again from the events after 008 (putEntity writes 008's column, so a
  // store upgraded from before 006 is filled once, there; in between the table is empty, within one start).
  8: (store) => store.rebuildEntities(),
};

/** `%` and `_` match themselves in a LIKE pattern. */
const likeEscape = (s: string) => s.replace(/[\\%_]/g, (c) => '\\' + c);

export class BackupStore {
  readonly db: Database.Database;

  constructor(readonly dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.db = new Database(join(dataDir, STORE_FILE));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    // Milliseconds to wait for a `herald restore` writing its uid map at the same time.
    this.db.pragma('busy_timeout = 5000');
    this.migrate();
  }

  private migrate() {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
    const done = new Set(this.db.prepare('SELECT id FROM schema_migrations').all().map((r) => Number((r as { id: number }).id)));
    for (const m of migrationFiles()) {
      if (done.has(m.id)) continue;
      this.db
        .transaction(() => {
          if (this.db.prepare('SELECT 1 FROM schema_migrations WHERE id = ?').get(m.id)) return;
          this.db.exec(m.sql);
          AFTER_MIGRATION[m.id]?.(this);
          this.db.prepare('INSERT INTO schema_migrations (id, name, applied_at) VALUES (?, ?, ?)').run(m.id, m.name, Date.now());
        })
        .immediate();
    }
  }

  close() {
    this.db.close();
  }

  // -------------------------------------------------------------------------------------------
  // Stacks

  ensureStack(apiKey: string, now = Date.now()) {
    this.db.prepare('INSERT INTO stacks (api_key, first_seen_at) VALUES (?, ?) ON CONFLICT (api_key) DO NOTHING').run(apiKey, now);
  }

  stack(apiKey: string): StackRow | undefined {
    const r = this.db.prepare('SELECT * FROM stacks WHERE api_key = ?').get(apiKey) as Record<string, unknown> | undefined;
    return r ? stackFromRow(r) : undefined;
  }

  stacks(): StackRow[] {
    return (this.db.prepare('SELECT * FROM stacks ORDER BY first_seen_at, api_key').all() as Array<Record<string, unknown>>).map(stackFromRow);
  }

  /** Moves the feed cursor forward (never back). */
  advanceCursor(apiKey: string, seq: number) {
    this.db.prepare('UPDATE stacks SET feed_cursor = ? WHERE api_key = ? AND feed_cursor < ?').run(seq, apiKey, seq);
  }

  caughtUp(apiKey: string, now = Date.now()) {
    this.db.prepare('UPDATE stacks SET caught_up_at = ?, catch_up_error = NULL, catch_up_error_at = NULL WHERE api_key = ?').run(now, apiKey);
  }

  catchUpFailed(apiKey: string, reason: string, now = Date.now()) {
    this.db.prepare('UPDATE stacks SET catch_up_error = ?, catch_up_error_at = ? WHERE api_key = ?').run(reason, now, apiKey);
  }

  /** The stack's name at the source, for the pages. */
  saveName(apiKey: string, name: string | null) {
    if (name) this.db.prepare('UPDATE stacks SET name = ? WHERE api_key = ?').run(name, apiKey);
  }

  /**
   * What the event log has no events for, as the source answered (see StackRow), and each branch's
   * Contentful-dialect state (`contentful`) and publish queue (`publish_queues`), by branch uid, in
   * one transaction. A branch the source
   * no longer has keeps its last state. `now`: when the reads began (CatchUp), stored as
   * settings_fetched_at and each state's fetched_at.
   */
  saveSettings(
    apiKey: string,
    s: { environments: unknown[]; locales: unknown[]; branches: unknown[]; contentful_environments: unknown[]; branch_origins?: unknown[] | null; contentful?: Record<string, ContentfulState>; publish_queues?: Record<string, unknown[]> },
    now = Date.now(),
  ) {
    this.db.transaction(() => {
      this.db
        .prepare('UPDATE stacks SET environments = ?, locales = ?, branches = ?, contentful_environments = ?, branch_origins = ?, settings_fetched_at = ? WHERE api_key = ?')
        .run(JSON.stringify(s.environments), JSON.stringify(s.locales), JSON.stringify(s.branches), JSON.stringify(s.contentful_environments), s.branch_origins ? JSON.stringify(s.branch_origins) : null, now, apiKey);
      const put = this.db.prepare(
        `INSERT INTO contentful_branches (api_key, branch, content_types, activated_content_types, editor_interfaces, tags, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (api_key, branch) DO UPDATE SET content_types = excluded.content_types, activated_content_types = excluded.activated_content_types,
           editor_interfaces = excluded.editor_interfaces, tags = excluded.tags, fetched_at = excluded.fetched_at`,
      );
      for (const [branch, c] of Object.entries(s.contentful ?? {})) {
        put.run(apiKey, branch, JSON.stringify(c.content_types), JSON.stringify(c.activated_content_types), JSON.stringify(c.editor_interfaces), JSON.stringify(c.tags), now);
      }
      this.putPublishQueues(apiKey, s.publish_queues ?? {}, now);
    })();
  }

  /** Each branch's publish queue as just read between catch-ups (CatchUp.readQueues), by branch uid. */
  savePublishQueues(apiKey: string, queues: Record<string, unknown[]>, now = Date.now()) {
    this.db.transaction(() => this.putPublishQueues(apiKey, queues, now))();
  }

  /** Each branch's publish queue, by branch uid, in the caller's transaction (saveSettings, savePublishQueues). */
  private putPublishQueues(apiKey: string, queues: Record<string, unknown[]>, now: number) {
    const put = this.db.prepare(
      'INSERT INTO publish_queues (api_key, branch, queue, fetched_at) VALUES (?, ?, ?, ?) ON CONFLICT (api_key, branch) DO UPDATE SET queue = excluded.queue, fetched_at = excluded.fetched_at',
    );
    for (const [branch, q] of Object.entries(queues)) put.run(apiKey, branch, JSON.stringify(q), now);
  }

  /** A branch's Contentful-dialect state as last read at catch-up (migration 004); undefined until read. */
  contentful(apiKey: string, branch: string): (ContentfulState & { fetched_at: number }) | undefined {
    const r = this.db.prepare('SELECT * FROM contentful_branches WHERE api_key = ? AND branch = ?').get(apiKey, branch) as Record<string, string | number> | undefined;
    if (!r) return undefined;
    return {
      content_types: JSON.parse(String(r.content_types)),
      activated_content_types: JSON.parse(String(r.activated_content_types)),
      editor_interfaces: JSON.parse(String(r.editor_interfaces)),
      tags: JSON.parse(String(r.tags)),
      fetched_at: Number(r.fetched_at),
    };
  }

  /** A branch's publish queue (GET /v3/publish-queue) as last read at catch-up (migration 005); undefined until read. */
  publishQueue(apiKey: string, branch: string): { queue: unknown[]; fetched_at: number } | undefined {
    const r = this.db.prepare('SELECT queue, fetched_at FROM publish_queues WHERE api_key = ? AND branch = ?').get(apiKey, branch) as { queue: string; fetched_at: number } | undefined;
    return r ? { queue: JSON.parse(r.queue), fetched_at: Number(r.fetched_at) } : undefined;
  }

  // -------------------------------------------------------------------------------------------
  // Events

  hasEvent(apiKey: string, seq: number): { origin: string; partial: boolean; actor: string | null } | undefined {
    const r = this.db.prepare('SELECT origin, partial, actor FROM events WHERE api_key = ? AND seq = ?').get(apiKey, seq) as
      | { origin: string; partial: number; actor: string | null }
      | undefined;
    return r ? { origin: r.origin, partial: Number(r.partial) === 1, actor: r.actor } : undefined;
  }

  /**
   * Stores an event, its asset file record and the delivery id, in one transaction (committed to
   * disk when this returns). The same seq stored before is a duplicate, except that a feed read
   * upgrades what a delivery stored: it adds the actor, and the full snapshot of a concise one.
   */
  storeEvent(e: BackupEvent, opts: { webhookId?: string; file?: Omit<AssetFile, 'api_key' | 'branch' | 'uid' | 'seq'> } = {}, now = Date.now()): StoreOutcome {
    return this.db
      .transaction((): StoreOutcome => {
        this.ensureStack(e.api_key, now);
        if (opts.webhookId) {
          this.db
            .prepare('INSERT INTO deliveries (webhook_id, api_key, seq, received_at) VALUES (?, ?, ?, ?) ON CONFLICT (webhook_id) DO UPDATE SET seq = excluded.seq')
            .run(opts.webhookId, e.api_key, e.seq, now);
        }
        if (opts.file) {
          // A record held for this asset's version (pending, say) is updated, not doubled.
          const held = this.assetFile(e.api_key, e.branch, e.uid, opts.file.version, e);
          this.putAssetFile({ ...opts.file, api_key: e.api_key, branch: e.branch, uid: e.uid, seq: held?.seq ?? e.seq }, now);
        }
        const held = this.hasEvent(e.api_key, e.seq);
        if (held) {
          if (e.origin !== 'feed' || held.origin === 'feed') return 'duplicate';
          const upgradeData = held.partial && !e.partial;
          this.db
            .prepare(
              `UPDATE events SET origin = 'feed', actor = COALESCE(actor, ?), actor_name = COALESCE(actor_name, ?)${upgradeData ? ', data = ?, partial = 0, title = ?, version = ?' : ''} WHERE api_key = ? AND seq = ?`,
            )
            .run(...[e.actor, e.actor_name, ...(upgradeData ? [JSON.stringify(e.data), e.title, e.version] : []), e.api_key, e.seq]);
          if (upgradeData) this.rebuildEntity(e.api_key, e.branch, e.module, e.uid, e.content_type_uid, now);
          return 'upgraded';
        }
        this.db
          .prepare(
            `INSERT INTO events (api_key, seq, branch, module, action, uid, content_type_uid, locale, line, environment, actor, actor_name, version, title, data, partial, origin, created_at, stored_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            e.api_key,
            e.seq,
            e.branch,
            e.module,
            e.action,
            e.uid,
            e.content_type_uid,
            e.locale,
            e.line,
            e.environment,
            e.actor,
            e.actor_name,
            e.version,
            e.title,
            JSON.stringify(e.data),
            e.partial ? 1 : 0,
            e.origin,
            e.created_at,
            now,
          );
        this.db.prepare('UPDATE stacks SET highest_seq = ? WHERE api_key = ? AND highest_seq < ?').run(e.seq, e.api_key, e.seq);
        this.updateEntity(e, now);
        return 'stored';
      })
      .immediate();
  }

  /** The newest event folds into the entity's summary; an older one (catch-up) rebuilds it. */
  private updateEntity(e: BackupEvent, now: number) {
    const current = this.entity(e.api_key, e.branch, e.module, e.uid, e.content_type_uid);
    if (current && current.last_seq > e.seq) return this.rebuildEntity(e.api_key, e.branch, e.module, e.uid, e.content_type_uid, now);
    this.putEntity(e.api_key, e.branch, applyEvent(current, e), now);
  }

  private rebuildEntity(apiKey: string, branch: string, module: Module, uid: string, contentTypeUid: string | null, now: number) {
    const s = summarize(this.eventsOf(apiKey, branch, module, uid, contentTypeUid));
    if (s) this.putEntity(apiKey, branch, s, now);
  }

  /** Fills `entities` again from the events, one row per entity key (migrations 006 and 008). */
  rebuildEntities(now = Date.now()) {
    const keys = this.db.prepare('SELECT DISTINCT api_key, branch, module, content_type_uid, uid FROM events').all() as Array<{
      api_key: string;
      branch: string;
      module: Module;
      content_type_uid: string | null;
      uid: string;
    }>;
    for (const k of keys) this.rebuildEntity(k.api_key, k.branch, k.module, k.uid, k.content_type_uid, now);
  }

  private putEntity(apiKey: string, branch: string, s: EntitySummary, now: number) {
    this.db
      .prepare(
        `INSERT INTO entities (api_key, branch, module, uid, content_type_uid, title, lines, origin_line, deleted, events, incarnations, last_seq, last_action, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (api_key, branch, module, content_type_uid, uid) DO UPDATE SET title = excluded.title,
           lines = excluded.lines, origin_line = excluded.origin_line, deleted = excluded.deleted, events = excluded.events,
           incarnations = excluded.incarnations, last_seq = excluded.last_seq, last_action = excluded.last_action, updated_at = excluded.updated_at`,
      )
      .run(apiKey, branch, s.module, s.uid, keyType(s.module, s.uid, s.content_type_uid), s.title, JSON.stringify(s.lines), s.origin_line, s.deleted ? 1 : 0, s.events, s.incarnations, s.last_seq, s.last_action, now);
  }

  /** An entity's events, oldest first; an entry's of its content type (`contentTypeUid`) only. */
  eventsOf(apiKey: string, branch: string, module: Module, uid: string, contentTypeUid: string | null): BackupEvent[] {
    const rows = (
      module === 'entry'
        ? this.db
            .prepare('SELECT * FROM events WHERE api_key = ? AND branch = ? AND module = ? AND uid = ? AND content_type_uid = ? ORDER BY seq')
            .all(apiKey, branch, module, uid, keyType(module, uid, contentTypeUid))
        : this.db.prepare('SELECT * FROM events WHERE api_key = ? AND branch = ? AND module = ? AND uid = ? ORDER BY seq').all(apiKey, branch, module, uid)
    ) as EventRow[];
    return rows.map(eventFromRow);
  }

  event(apiKey: string, seq: number): BackupEvent | undefined {
    const r = this.db.prepare('SELECT * FROM events WHERE api_key = ? AND seq = ?').get(apiKey, seq) as EventRow | undefined;
    return r ? eventFromRow(r) : undefined;
  }

  /** Seqs held for a stack in (after, upTo] that were stored before `storedBefore` (ms), oldest first. */
  seqsBetween(apiKey: string, after: number, upTo: number, storedBefore = Number.MAX_SAFE_INTEGER): number[] {
    const rows = this.db
      .prepare('SELECT seq FROM events WHERE api_key = ? AND seq > ? AND seq <= ? AND stored_at < ? ORDER BY seq')
      .all(apiKey, after, upTo, storedBefore) as Array<{ seq: number }>;
    return rows.map((r) => Number(r.seq));
  }

  /** Locales the history mentions (entry lines and publish locales), when no snapshot was taken. */
  knownLocales(apiKey: string, branch: string): string[] {
    const rows = this.db
      .prepare(
        `SELECT line AS code FROM events WHERE api_key = ? AND branch = ? AND module = 'entry' AND line <> ''
         UNION SELECT locale AS code FROM events WHERE api_key = ? AND branch = ? AND action = 'publish' AND locale IS NOT NULL`,
      )
      .all(apiKey, branch, apiKey, branch) as Array<{ code: string }>;
    return rows.map((r) => r.code).sort();
  }

  /** Environment names the history mentions (publish events), when no snapshot was taken. */
  knownEnvironments(apiKey: string): string[] {
    const rows = this.db.prepare('SELECT DISTINCT environment FROM events WHERE api_key = ? AND environment IS NOT NULL ORDER BY environment').all(apiKey) as Array<{
      environment: string;
    }>;
    return rows.map((r) => r.environment);
  }

  /** The name the feed last gave a token (an event's actor); null when it gave none. */
  actorName(apiKey: string, actor: string): string | null {
    const r = this.db.prepare('SELECT actor_name FROM events WHERE api_key = ? AND actor = ? AND actor_name IS NOT NULL ORDER BY seq DESC LIMIT 1').get(apiKey, actor) as
      | { actor_name: string }
      | undefined;
    return r?.actor_name ?? null;
  }

  countEvents(apiKey: string): number {
    return Number((this.db.prepare('SELECT COUNT(*) AS n FROM events WHERE api_key = ?').get(apiKey) as { n: number }).n);
  }

  // -------------------------------------------------------------------------------------------
  // Entities

  /** One entity by its key (an entry's includes its content type). */
  entity(apiKey: string, branch: string, module: Module, uid: string, contentTypeUid: string | null): EntityRow | undefined {
    const r = this.db
      .prepare('SELECT * FROM entities WHERE api_key = ? AND branch = ? AND module = ? AND content_type_uid = ? AND uid = ?')
      .get(apiKey, branch, module, keyType(module, uid, contentTypeUid), uid) as Record<string, unknown> | undefined;
    return r ? entityFromRow(r) : undefined;
  }

  /** The entities of a branch with this uid: at most one, except entries of several content types that had it. */
  entitiesWithUid(apiKey: string, branch: string, module: Module, uid: string): EntityRow[] {
    const rows = this.db.prepare('SELECT * FROM entities WHERE api_key = ? AND branch = ? AND module = ? AND uid = ? ORDER BY last_seq').all(apiKey, branch, module, uid) as Array<
      Record<string, unknown>
    >;
    return rows.map(entityFromRow);
  }

  /**
   * Entities of a stack's branch, optionally of one module and matching `q` (a uid, or part of a
   * title, case-insensitive), newest change first.
   */
  entities(apiKey: string, opts: { branch?: string; module?: Module; q?: string; deleted?: boolean; limit?: number; skip?: number } = {}): { entities: EntityRow[]; count: number } {
    const where = ['api_key = ?', 'branch = ?'];
    const params: unknown[] = [apiKey, opts.branch ?? 'main'];
    if (opts.module) {
      where.push('module = ?');
      params.push(opts.module);
    }
    if (opts.deleted !== undefined) {
      where.push('deleted = ?');
      params.push(opts.deleted ? 1 : 0);
    }
    if (opts.q) {
      where.push("(uid = ? OR title LIKE ? ESCAPE '\\')");
      params.push(opts.q, `%${likeEscape(opts.q)}%`);
    }
    const sql = `FROM entities WHERE ${where.join(' AND ')}`;
    const count = Number((this.db.prepare(`SELECT COUNT(*) AS n ${sql}`).get(...params) as { n: number }).n);
    const rows = this.db.prepare(`SELECT * ${sql} ORDER BY last_seq DESC LIMIT ? OFFSET ?`).all(...params, opts.limit ?? 100, opts.skip ?? 0) as Array<Record<string, unknown>>;
    return { entities: rows.map(entityFromRow), count };
  }

  /** Every entity of a branch, oldest first (whole-stack restore). */
  allEntities(apiKey: string, branch: string, module: Module): EntityRow[] {
    const rows = this.db.prepare('SELECT * FROM entities WHERE api_key = ? AND branch = ? AND module = ? ORDER BY last_seq').all(apiKey, branch, module) as Array<Record<string, unknown>>;
    return rows.map(entityFromRow);
  }

  // -------------------------------------------------------------------------------------------
  // Asset files and blobs

  /**
   * The file record of an asset version, of the asset the event `at` belongs to (the one made by the
   * last create of that uid up to it; `at.action` 'create' is that create, stored or not yet);
   * without `at`, of the asset the uid names now.
   */
  assetFile(apiKey: string, branch: string, uid: string, version: number, at?: { seq: number; action?: string }): AssetFile | undefined {
    const creates = "FROM events WHERE api_key = ? AND branch = ? AND module = 'asset' AND uid = ? AND action = 'create'";
    const seq = at?.seq ?? Number.MAX_SAFE_INTEGER;
    const from =
      at?.action === 'create' ? seq : Number((this.db.prepare(`SELECT MAX(seq) AS s ${creates} AND seq <= ?`).get(apiKey, branch, uid, seq) as { s: number | null }).s ?? 0);
    const next = (this.db.prepare(`SELECT MIN(seq) AS s ${creates} AND seq > ?`).get(apiKey, branch, uid, seq) as { s: number | null }).s;
    const to = next === null ? Number.MAX_SAFE_INTEGER : Number(next);
    const r = this.db
      .prepare('SELECT * FROM asset_files WHERE api_key = ? AND branch = ? AND uid = ? AND version = ? AND seq >= ? AND seq < ? ORDER BY seq LIMIT 1')
      .get(apiKey, branch, uid, version, from, to) as AssetFile | undefined;
    return r ? { ...r, version: Number(r.version), seq: Number(r.seq), size: r.size === null ? null : Number(r.size) } : undefined;
  }

  /** Records which bytes belong to an asset version; a stored file is never downgraded. */
  putAssetFile(f: AssetFile, now = Date.now()) {
    if (f.sha256) this.db.prepare('INSERT INTO blobs (sha256, size, stored_at) VALUES (?, ?, ?) ON CONFLICT (sha256) DO NOTHING').run(f.sha256, f.size ?? 0, now);
    this.db
      .prepare(
        `INSERT INTO asset_files (api_key, branch, uid, version, seq, status, sha256, filename, content_type, size, problem, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (api_key, branch, uid, version, seq) DO UPDATE SET status = excluded.status, sha256 = excluded.sha256, filename = excluded.filename,
           content_type = excluded.content_type, size = excluded.size, problem = excluded.problem, updated_at = excluded.updated_at
         WHERE asset_files.status <> 'stored'`,
      )
      .run(f.api_key, f.branch, f.uid, f.version, f.seq, f.status, f.sha256, f.filename, f.content_type, f.size, f.problem, now);
  }

  pendingFiles(apiKey: string): AssetFile[] {
    return this.db.prepare("SELECT * FROM asset_files WHERE api_key = ? AND status = 'pending' ORDER BY updated_at").all(apiKey) as AssetFile[];
  }

  fileCounts(): Record<FileStatus, number> {
    const out: Record<FileStatus, number> = { stored: 0, pending: 0, missing: 0 };
    for (const r of this.db.prepare('SELECT status, COUNT(*) AS n FROM asset_files GROUP BY status').all() as Array<{ status: FileStatus; n: number }>) out[r.status] = Number(r.n);
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Gaps

  /** Opens a gap unless the same one is open already (then only its detail is refreshed). */
  openGap(g: Omit<Gap, 'detected_at'>, now = Date.now()) {
    const open = this.db.prepare('SELECT detected_at FROM gaps WHERE api_key = ? AND gap_key = ? AND resolved_at IS NULL').get(g.api_key, g.gap_key) as
      | { detected_at: number }
      | undefined;
    if (open) {
      this.db
        .prepare('UPDATE gaps SET detail = ?, from_seq = ?, to_seq = ? WHERE api_key = ? AND gap_key = ? AND detected_at = ?')
        .run(g.detail, g.from_seq, g.to_seq, g.api_key, g.gap_key, open.detected_at);
      return false;
    }
    this.db
      .prepare('INSERT INTO gaps (api_key, gap_key, kind, detail, from_seq, to_seq, detected_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(g.api_key, g.gap_key, g.kind, g.detail, g.from_seq, g.to_seq, now);
    return true;
  }

  resolveGaps(apiKey: string, kinds: GapKind[], now = Date.now()) {
    for (const k of kinds) this.db.prepare('UPDATE gaps SET resolved_at = ? WHERE api_key = ? AND kind = ? AND resolved_at IS NULL').run(now, apiKey, k);
  }

  resolveGap(apiKey: string, gapKey: string, now = Date.now()) {
    this.db.prepare('UPDATE gaps SET resolved_at = ? WHERE api_key = ? AND gap_key = ? AND resolved_at IS NULL').run(now, apiKey, gapKey);
  }

  openGaps(apiKey?: string): Gap[] {
    const rows = (
      apiKey
        ? this.db.prepare('SELECT * FROM gaps WHERE api_key = ? AND resolved_at IS NULL ORDER BY detected_at').all(apiKey)
        : this.db.prepare('SELECT * FROM gaps WHERE resolved_at IS NULL ORDER BY detected_at').all()
    ) as Gap[];
    return rows.map((g) => ({ ...g, from_seq: g.from_seq === null ? null : Number(g.from_seq), to_seq: g.to_seq === null ? null : Number(g.to_seq), detected_at: Number(g.detected_at) }));
  }

  // -------------------------------------------------------------------------------------------
  // Restore's uid map

  /**
   * The uid a restore gave an entry or asset in `target`. An entry's row names its content type; a
   * row from before migration 006 whose content type was not known ('') answers when none does (the
   * restore checks the uid exists in the content type before using it).
   */
  mappedUid(target: string, module: Module, sourceUid: string, contentTypeUid: string | null): string | undefined {
    const r = this.db
      .prepare("SELECT target_uid FROM uid_map WHERE target = ? AND module = ? AND source_uid = ? AND content_type_uid IN (?, '') ORDER BY content_type_uid DESC LIMIT 1")
      .get(target, module, sourceUid, keyType(module, sourceUid, contentTypeUid)) as { target_uid: string } | undefined;
    return r?.target_uid;
  }

  mapUid(target: string, module: Module, sourceUid: string, contentTypeUid: string | null, targetUid: string, now = Date.now()) {
    this.db
      .prepare(
        `INSERT INTO uid_map (target, module, content_type_uid, source_uid, target_uid, created_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (target, module, content_type_uid, source_uid) DO UPDATE SET target_uid = excluded.target_uid, created_at = excluded.created_at`,
      )
      .run(target, module, keyType(module, sourceUid, contentTypeUid), sourceUid, targetUid, now);
  }
}

function stackFromRow(r: Record<string, unknown>): StackRow {
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    api_key: r.api_key as string,
    feed_cursor: Number(r.feed_cursor),
    highest_seq: Number(r.highest_seq),
    first_seen_at: Number(r.first_seen_at),
    caught_up_at: num(r.caught_up_at),
    catch_up_error: (r.catch_up_error as string | null) ?? null,
    catch_up_error_at: num(r.catch_up_error_at),
    environments: r.environments ? JSON.parse(r.environments as string) : null,
    locales: r.locales ? JSON.parse(r.locales as string) : null,
    branches: r.branches ? JSON.parse(r.branches as string) : null,
    contentful_environments: r.contentful_environments ? JSON.parse(r.contentful_environments as string) : null,
    branch_origins: r.branch_origins ? JSON.parse(r.branch_origins as string) : null,
    settings_fetched_at: num(r.settings_fetched_at),
    name: (r.name as string | null) ?? null,
  };
}

function entityFromRow(r: Record<string, unknown>): EntityRow {
  return {
    api_key: r.api_key as string,
    branch: r.branch as string,
    module: r.module as Module,
    uid: r.uid as string,
    // '' in the key: an asset's (migration 006).
    content_type_uid: (r.content_type_uid as string | null) || null,
    title: (r.title as string | null) ?? null,
    lines: JSON.parse(r.lines as string),
    origin_line: r.origin_line as string,
    deleted: Number(r.deleted) === 1,
    events: Number(r.events),
    incarnations: Number(r.incarnations ?? 1),
    last_seq: Number(r.last_seq),
    last_action: r.last_action as string,
    updated_at: Number(r.updated_at),
  };
}
