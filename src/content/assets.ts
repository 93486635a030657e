import { HeraldError, invalid, notFound } from '../errors.ts';
import type { Action } from '../events/event.ts';
import { bltUid } from '../ids.ts';
import { json, type Db, type Queryable, type Tx } from '../store/db.ts';
import { iso, type ContentDeps, type Scope } from './context.ts';
import { fileUrl, type AssetLinks } from './asset-urls.ts';
import * as files from './files.ts';
import {
  atOnce,
  parsePublishRequest,
  publicationsOf,
  publishDetails,
  removeAllPublished,
  removePublished,
  setPublished,
  stampPublished,
  type PublicationRow,
  type PublishOutcome,
  type PublishRequest,
} from './publications.ts';
import { type AssetMeta, checkAssetMeta } from './asset-meta.ts';
import { throwIfErrors } from './field-errors.ts';
import { matchesQuery, type Paging, type Query, sortDocs } from './read-query.ts';

/**
 * Assets: uploaded files with metadata, one per uid per branch. The bytes live under the assets
 * dir (see files.ts); every change bumps `_version` (metadata or file) and records its event
 * (`{ asset }`, plus `environment` and `locale` for publish events) in the same transaction.
 *
 * `url` is where the file is served without a credential: a capability URL of the asset's version
 * (asset-urls.ts), on the origin of the request that made or read it, or the `publicUrl` setting
 * (src/http/origin.ts).
 */
export interface AssetDoc extends AssetMeta {
  uid: string;
  filename: string;
  content_type: string;
  /** Bytes, as a string (Contentstack's shape). */
  file_size: string;
  is_dir: false;
  created_at: string;
  updated_at: string;
  created_by: string;
  updated_by: string;
  _version: number;
  [key: string]: unknown;
}

interface AssetRow {
  uid: string;
  version: number;
  archived: number;
  file: string;
  doc: string;
  created_seq?: number;
}

interface Asset {
  version: number;
  archived: boolean;
  file: string;
  doc: AssetDoc;
  /**
   * The seq of the event that created it: which asset its uid names, when a deleted asset's uid was
   * given to a new one (assetFile). 0: made before migration 025, or copied into a branch.
   */
  createdSeq: number;
}

function parse(r: AssetRow): Asset {
  return { version: Number(r.version), archived: Number(r.archived) === 1, file: r.file, doc: json<AssetDoc>(r.doc), createdSeq: Number(r.created_seq ?? 0) };
}

/** The management `url` of an asset version: a capability URL valid while the asset exists (see asset-urls.ts). */
export function assetUrl(links: AssetLinks, scope: Pick<Scope, 'api_key' | 'branch'>, doc: AssetDoc): string {
  return fileUrl(links, 'm', scope.api_key, scope.branch, { uid: doc.uid, filename: doc.filename, version: doc._version, created_at: doc.created_at });
}

const linksOf = (deps: ContentDeps, origin: string): AssetLinks => ({ origin, key: deps.assetUrlKey });

function render(links: AssetLinks, scope: Scope, a: { doc: AssetDoc; archived: boolean }, pubs: PublicationRow[]) {
  return { ...a.doc, url: assetUrl(links, scope, a.doc), _archived: a.archived, publish_details: publishDetails(pubs) };
}

async function renderOne(q: Queryable, links: AssetLinks, scope: Scope, a: { doc: AssetDoc; archived: boolean }, locale?: string) {
  const pubs = await publicationsOf(q, scope, 'asset', [a.doc.uid], locale);
  return render(links, scope, a, pubs.get(a.doc.uid) ?? []);
}

async function find(q: Queryable, scope: Scope, uid: string): Promise<Asset | undefined> {
  const row = await q.get<AssetRow>('SELECT uid, version, archived, file, doc, created_seq FROM assets WHERE api_key = ? AND branch = ? AND uid = ?', [scope.api_key, scope.branch, uid]);
  return row ? parse(row) : undefined;
}

async function requireAsset(q: Queryable, scope: Scope, uid: string): Promise<Asset> {
  const a = await find(q, scope, uid);
  if (!a) throw notFound(`Asset ${uid}`);
  return a;
}

async function record(
  deps: ContentDeps,
  tx: Tx,
  scope: Scope,
  action: Action,
  asset: Record<string, unknown>,
  extra: Record<string, unknown> = {},
  at: { environment?: string; locale?: string } = {},
  versions?: { before: AssetDoc; after: AssetDoc },
  repeat?: boolean,
) {
  return deps.events.record(tx, {
    api_key: scope.api_key,
    branch: scope.branch,
    module: 'asset',
    action,
    uid: asset.uid as string,
    locale: at.locale ?? null,
    environment: at.environment ?? null,
    actor: scope.caller.actor,
    actor_name: scope.caller.name ?? null,
    data: { asset, ...extra },
    ...(versions ? { versions } : {}),
    ...(repeat ? { contentful_repeat: true as const } : {}),
  });
}

/**
 * Whether a publish or unpublish request already recorded `action` for `environment` (in another
 * locale): the event is then a repeat for Contentful-format webhooks (EventInput.contentful_repeat).
 * Marks it recorded.
 */
function recordedBefore(seen: Set<string>, action: string, environment: string): boolean {
  const key = `${action} ${environment}`;
  if (seen.has(key)) return true;
  seen.add(key);
  return false;
}

/**
 * Runs `change` with a received upload kept under its final name; removes the file again if the
 * change fails (the transaction rolled back, so no row points at it).
 */
async function withKeptFile<T>(deps: ContentDeps, scope: Scope, upload: files.Upload, change: (rel: string) => Promise<T>): Promise<T> {
  let rel: string;
  try {
    rel = await files.keep(deps.assetsDir, scope.api_key, upload.tmp);
  } catch (err) {
    await files.removeAbsolute(upload.tmp);
    throw err;
  }
  try {
    return await change(rel);
  } catch (err) {
    await files.remove(deps.assetsDir, rel);
    throw err;
  }
}

/**
 * The API's asset writes share a commit on SQLite with others asked for in the same turn of the
 * event loop, as entry writes do (entries.ts, GATHER): each reads and writes only through its
 * `tx`; the file is kept before and removed after a failure outside it (withKeptFile).
 */
const GATHER = { gather: true } as const;

/**
 * `opts.uid` chooses the new asset's uid (the Contentful dialect's create-with-id, /v3's
 * x-herald-uid); taken: a 409. A uid an asset deleted earlier had is free; the files that asset left
 * for its versions (retireFile) stay, told apart from the new asset's by `created_seq` (assetFile),
 * so a backup catching up on the deleted asset still gets its bytes.
 */
export async function createAsset(deps: ContentDeps, scope: Scope, upload: files.Upload, meta: Record<string, unknown>, origin: string, opts: { uid?: string } = {}) {
  const filename = files.safeFilename(upload.filename);
  const { value, errors } = checkAssetMeta(meta, { title: filename, description: '', tags: [], parent_uid: null });
  if (Object.keys(errors).length) await files.removeAbsolute(upload.tmp);
  throwIfErrors(errors);
  return withKeptFile(deps, scope, upload, (rel) =>
    deps.db.tx(async (tx) => {
      if (opts.uid !== undefined && (await tx.get('SELECT 1 AS ok FROM assets WHERE api_key = ? AND branch = ? AND uid = ?', [scope.api_key, scope.branch, opts.uid]))) {
        throw new HeraldError('conflict', `Asset ${opts.uid} already exists.`, { errors: { uid: ['already exists'] } });
      }
      const now = Date.now();
      const doc: AssetDoc = {
        uid: opts.uid ?? bltUid(),
        ...value,
        filename,
        content_type: files.safeMimetype(upload.mimetype),
        file_size: String(upload.size),
        is_dir: false,
        created_at: iso(now),
        updated_at: iso(now),
        created_by: scope.caller.actor,
        updated_by: scope.caller.actor,
        ACL: {},
        _version: 1,
      };
      await tx.run('INSERT INTO assets (api_key, branch, uid, version, archived, file, doc, created_at, updated_at) VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?)', [
        scope.api_key,
        scope.branch,
        doc.uid,
        1,
        rel,
        JSON.stringify(doc),
        now,
        now,
      ]);
      const asset = render(linksOf(deps, origin), scope, { doc, archived: false }, []);
      const event = await record(deps, tx, scope, 'create', asset);
      await tx.run('UPDATE assets SET created_seq = ? WHERE api_key = ? AND branch = ? AND uid = ?', [event.seq, scope.api_key, scope.branch, doc.uid]);
      return asset;
    }, GATHER),
  );
}

/**
 * Keeps an asset's file as the file of its versions up to `current.version` (it is being replaced,
 * or the asset deleted): downloadable by version until the log retention prunes it.
 */
async function retireFile(tx: Tx, scope: Scope, current: Asset, now: number): Promise<void> {
  await tx.run(
    'INSERT INTO retired_asset_files (api_key, branch, uid, created_seq, until_version, file, filename, content_type, retired_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    [scope.api_key, scope.branch, current.doc.uid, current.createdSeq, current.version, current.file, current.doc.filename, current.doc.content_type, now],
  );
}

/**
 * Updates an asset's metadata and/or replaces its file (`upload`); either bumps `_version`.
 * A replaced file is kept as the earlier versions' file (see retireFile).
 */
export async function updateAsset(deps: ContentDeps, scope: Scope, uid: string, meta: Record<string, unknown>, upload: files.Upload | undefined, origin: string) {
  const change = (rel: string | undefined) =>
    deps.db.tx(async (tx) => {
      const current = await requireAsset(tx, scope, uid);
      if (current.archived) throw invalid('asset', `${uid} is archived; unarchive it before editing`);
      const { value, errors } = checkAssetMeta(meta, current.doc);
      throwIfErrors(errors);
      const now = Date.now();
      const doc: AssetDoc = {
        ...current.doc,
        ...value,
        updated_at: iso(now),
        updated_by: scope.caller.actor,
        _version: current.version + 1,
      };
      if (upload) {
        doc.filename = files.safeFilename(upload.filename);
        doc.content_type = files.safeMimetype(upload.mimetype);
        doc.file_size = String(upload.size);
      }
      const { changes } = await tx.run('UPDATE assets SET version = ?, file = ?, doc = ?, updated_at = ? WHERE api_key = ? AND branch = ? AND uid = ? AND version = ?', [
        doc._version,
        rel ?? current.file,
        JSON.stringify(doc),
        now,
        scope.api_key,
        scope.branch,
        uid,
        current.version,
      ]);
      if (changes === 0) throw new HeraldError('conflict', `Asset ${uid} changed meanwhile; fetch it and try again.`);
      if (rel) await retireFile(tx, scope, current, now);
      const asset = await renderOne(tx, linksOf(deps, origin), scope, { doc, archived: false });
      await record(deps, tx, scope, 'update', asset, {}, {}, { before: current.doc, after: doc });
      return asset;
    }, GATHER);
  return upload ? withKeptFile(deps, scope, upload, change) : change(undefined);
}

/**
 * The assets file fields name, as a file field shows one through the management API: the asset
 * (uid, url, filename, content_type, file_size, title, ...), without publish state. One read;
 * uids that name no asset are left out.
 */
export async function assetsForFileFields(deps: ContentDeps, scope: Scope, uids: Iterable<string>, origin: string): Promise<Map<string, Record<string, unknown>>> {
  const wanted = [...new Set(uids)];
  const out = new Map<string, Record<string, unknown>>();
  const links = linksOf(deps, origin);
  for (let i = 0; i < wanted.length; i += 500) {
    const part = wanted.slice(i, i + 500);
    const rows = await deps.db.all<AssetRow>(`SELECT uid, version, archived, file, doc FROM assets WHERE api_key = ? AND branch = ? AND uid IN (${part.map(() => '?').join(',')})`, [
      scope.api_key,
      scope.branch,
      ...part,
    ]);
    for (const a of rows.map(parse)) out.set(a.doc.uid, { ...a.doc, url: assetUrl(links, scope, a.doc) });
  }
  return out;
}

export async function fetchAsset(deps: ContentDeps, scope: Scope, uid: string, origin: string) {
  const a = await requireAsset(deps.db, scope, uid);
  return renderOne(deps.db, linksOf(deps, origin), scope, a);
}

/**
 * The file of an asset, to serve: its absolute path and how to describe it. With `version`, the
 * file that version had: a replaced file, or a deleted asset's, stays available until the log
 * retention prunes it. A uid may have named several assets (a deleted one's given to a new one,
 * whose versions start at 1 again): `atSeq` (an event's seq) picks the one the uid named at that
 * event, the newest created at or before it; without it, the current asset, or the last deleted.
 * `createdSeq`: the chosen asset's (0 when made before migration 025).
 */
export async function assetFile(
  deps: ContentDeps,
  scope: Scope,
  uid: string,
  version?: number,
  atSeq?: number,
): Promise<{ path: string; doc: Pick<AssetDoc, 'filename' | 'content_type'>; createdSeq: number }> {
  const current = await find(deps.db, scope, uid);
  if (version === undefined) {
    if (!current) throw notFound(`Asset ${uid}`);
    return { path: files.absolute(deps.assetsDir, current.file), doc: current.doc, createdSeq: current.createdSeq };
  }
  const where = 'api_key = ? AND branch = ? AND uid = ?';
  const params: unknown[] = [scope.api_key, scope.branch, uid];
  const missing = () => notFound(`Version ${version} of asset ${uid}${atSeq === undefined ? '' : ` at event ${atSeq}`}`);
  let chosen = current && (atSeq === undefined || current.createdSeq <= atSeq) ? current.createdSeq : undefined;
  if (chosen === undefined) {
    const r = await deps.db.get<{ c: number | null }>(`SELECT MAX(created_seq) AS c FROM retired_asset_files WHERE ${where}${atSeq === undefined ? '' : ' AND created_seq <= ?'}`, [
      ...params,
      ...(atSeq === undefined ? [] : [atSeq]),
    ]);
    if (r?.c === null || r?.c === undefined) throw missing();
    chosen = Number(r.c);
  }
  // That asset's first retired file whose versions reach `version`; past all of them, its current file.
  const retired = await deps.db.get<{ file: string; filename: string; content_type: string }>(
    `SELECT file, filename, content_type FROM retired_asset_files WHERE ${where} AND created_seq = ? AND until_version >= ? ORDER BY until_version LIMIT 1`,
    [...params, chosen, version],
  );
  if (retired?.file === files.NOT_HELD) throw notHeld(scope, uid, version);
  if (retired) return { path: files.absolute(deps.assetsDir, retired.file), doc: retired, createdSeq: chosen };
  if (!current || current.createdSeq !== chosen || version > current.version) throw missing();
  return { path: files.absolute(deps.assetsDir, current.file), doc: current.doc, createdSeq: chosen };
}

/** The answer for a version whose file is a tombstone (see files.NOT_HELD): a 404 that says why. */
export function notHeld(scope: Pick<Scope, 'branch'>, uid: string, version: number): HeraldError {
  return new HeraldError(
    'not_found',
    `Version ${version} of asset ${uid}: its file is no longer held (it was replaced or deleted longer ago than the log retention keeps files, or replaced before branch ${scope.branch} was copied from its source).`,
  );
}

/**
 * Removes retired files (see retireFile) retired before `cutoff` (ms), a batch at a time; returns
 * how many. Each row stays as a tombstone (files.NOT_HELD) so its versions are not served the current
 * file; it changes first: a file left by a crash is an orphan, never a row without its file.
 */
export async function pruneRetiredFiles(db: Db, assetsDir: string, cutoff: number, batch = 500): Promise<number> {
  let total = 0;
  for (;;) {
    const gone = await db.tx(async (tx) => {
      const rows = await tx.all<{ api_key: string; branch: string; uid: string; created_seq: number; until_version: number; file: string }>(
        'SELECT api_key, branch, uid, created_seq, until_version, file FROM retired_asset_files WHERE retired_at < ? AND file <> ? LIMIT ?',
        [cutoff, files.NOT_HELD, batch],
      );
      for (const r of rows) {
        await tx.run('UPDATE retired_asset_files SET file = ? WHERE api_key = ? AND branch = ? AND uid = ? AND created_seq = ? AND until_version = ?', [
          files.NOT_HELD,
          r.api_key,
          r.branch,
          r.uid,
          r.created_seq,
          r.until_version,
        ]);
      }
      return rows;
    });
    for (const r of gone) await files.remove(assetsDir, r.file).catch(() => {});
    total += gone.length;
    if (gone.length < batch) break;
  }
  await dropCoveredTombstones(db);
  return total;
}

/**
 * Deletes each tombstone whose next row up (the same asset's, by until_version) is a tombstone too: a
 * version it covered then falls to that one, the same 404 (assetFile reads the lowest row at or above
 * the version). The highest of each run of tombstones stays, so every version keeps its answer and each
 * incarnation (created_seq) that had rows keeps one. Tombstones were kept for good before (session 19);
 * this bounds them by the held files between them. Returns how many it deleted.
 */
export async function dropCoveredTombstones(db: Db): Promise<number> {
  const same = (t: string) => `${t}.api_key = retired_asset_files.api_key AND ${t}.branch = retired_asset_files.branch AND ${t}.uid = retired_asset_files.uid AND ${t}.created_seq = retired_asset_files.created_seq`;
  const { changes } = await db.run(
    `DELETE FROM retired_asset_files WHERE file = ? AND EXISTS (
       SELECT 1 FROM retired_asset_files n WHERE ${same('n')} AND n.file = ? AND n.until_version = (
         SELECT MIN(m.until_version) FROM retired_asset_files m WHERE ${same('m')} AND m.until_version > retired_asset_files.until_version))`,
    [files.NOT_HELD, files.NOT_HELD],
  );
  return changes;
}

export async function listAssets(deps: ContentDeps, scope: Scope, opts: { paging: Paging; query?: Query; sort: { field: string; dir: 1 | -1 } }, origin: string) {
  const q = deps.db;
  const rows = await q.all<AssetRow>('SELECT uid, version, archived, file, doc FROM assets WHERE api_key = ? AND branch = ? ORDER BY created_at, uid', [scope.api_key, scope.branch]);
  let docs = rows.map(parse).map((a) => ({ ...a.doc, _archived: a.archived }) as Record<string, unknown>);
  if (opts.query) docs = docs.filter((d) => matchesQuery(d, opts.query!));
  docs = sortDocs(docs, opts.sort);
  const page = docs.slice(opts.paging.skip, opts.paging.skip + opts.paging.limit);
  const pubs = await publicationsOf(q, scope, 'asset', page.map((d) => d.uid as string));
  const assets = page.map((d) => render(linksOf(deps, origin), scope, { doc: d as AssetDoc, archived: d._archived as boolean }, pubs.get(d.uid as string) ?? []));
  return { assets, count: docs.length };
}

/**
 * Deletes an asset and its publications. Its file is no longer served at its url or as the
 * current download, but stays downloadable by version until the log retention prunes it (see
 * retireFile), so a backup can still fetch the bytes of what was deleted.
 */
export async function deleteAsset(deps: ContentDeps, scope: Scope, uid: string, origin: string) {
  return deps.db.tx(async (tx) => (await deleteAssetIn(deps, tx, scope, uid, origin)).snapshot, GATHER);
}

/** deleteAsset in the caller's transaction (a bulk job runs many in one); `seq` is the delete event's. */
export async function deleteAssetIn(deps: ContentDeps, tx: Tx, scope: Scope, uid: string, origin: string) {
  const current = await requireAsset(tx, scope, uid);
  const snapshot = await renderOne(tx, linksOf(deps, origin), scope, current);
  await tx.run('DELETE FROM assets WHERE api_key = ? AND branch = ? AND uid = ?', [scope.api_key, scope.branch, uid]);
  await retireFile(tx, scope, current, Date.now());
  await removeAllPublished(tx, scope, 'asset', uid);
  const event = await record(deps, tx, scope, 'delete', snapshot);
  return { snapshot, seq: event.seq };
}

/** Publishes to each environment x locale (an asset has no validation to fail); archived assets are refused. */
export async function publishAsset(deps: ContentDeps, scope: Scope, uid: string, body: unknown, origin: string, queryLocale?: unknown) {
  return deps.db.tx((tx) => publishAssetIn(deps, tx, scope, uid, origin, (t) => parsePublishRequest(t, scope, 'asset', body, queryLocale).then(atOnce)), GATHER);
}

/** What a publish (or unpublish) checks of the asset first, for one scheduled for later (see checkEntryTarget). */
export async function checkAssetTarget(q: Queryable, scope: Scope, uid: string, action: 'publish' | 'unpublish'): Promise<void> {
  const current = await requireAsset(q, scope, uid);
  if (action === 'publish' && current.archived) throw invalid('asset', `${uid} is archived; unarchive it before publishing`);
}

/** publishAsset in the caller's transaction (a bulk job runs many in one); `request` is read once the asset is known to exist. */
export async function publishAssetIn(deps: ContentDeps, tx: Tx, scope: Scope, uid: string, origin: string, request: (tx: Tx) => Promise<PublishRequest>): Promise<PublishOutcome[]> {
  const current = await requireAsset(tx, scope, uid);
  const req = await request(tx);
  if (current.archived) throw invalid('asset', `${uid} is archived; unarchive it before publishing`);
  if (req.version !== undefined && req.version !== current.version) {
    throw invalid('version', `only the latest version (${current.version}) of an asset can be published`);
  }
  const outcomes: PublishOutcome[] = [];
  const seen = new Set<string>();
  for (const locale of req.locales) {
    for (const env of req.environments) {
      await setPublished(tx, scope, 'asset', uid, env.uid, locale, current.version, { doc: current.doc });
      const asset = await renderOne(tx, linksOf(deps, origin), scope, current);
      const extra = { environment: { name: env.name, uid: env.uid }, locale };
      const event = await record(deps, tx, scope, 'publish', asset, extra, { environment: env.name, locale }, undefined, recordedBefore(seen, 'publish', env.uid));
      outcomes.push({ environment: env.name, locale, action: 'publish', seq: event.seq });
      await stampPublished(tx, scope, 'asset', uid, env.uid, locale, event.seq);
    }
  }
  return outcomes;
}

export async function unpublishAsset(deps: ContentDeps, scope: Scope, uid: string, body: unknown, origin: string, queryLocale?: unknown) {
  return deps.db.tx((tx) => unpublishAssetIn(deps, tx, scope, uid, origin, (t) => parsePublishRequest(t, scope, 'asset', body, queryLocale).then(atOnce)), GATHER);
}

/** unpublishAsset in the caller's transaction (see publishAssetIn). */
export async function unpublishAssetIn(deps: ContentDeps, tx: Tx, scope: Scope, uid: string, origin: string, request: (tx: Tx) => Promise<PublishRequest>): Promise<PublishOutcome[]> {
  const current = await requireAsset(tx, scope, uid);
  const req = await request(tx);
  const outcomes: PublishOutcome[] = [];
  const seen = new Set<string>();
  for (const locale of req.locales) {
    for (const env of req.environments) {
      const removed = await removePublished(tx, scope, 'asset', uid, env.uid, locale);
      const asset = await renderOne(tx, linksOf(deps, origin), scope, current);
      const extra = { environment: { name: env.name, uid: env.uid }, locale };
      const at = { environment: env.name, locale };
      if (removed) {
        const event = await record(deps, tx, scope, 'unpublish', asset, extra, at, undefined, recordedBefore(seen, 'unpublish', env.uid));
        outcomes.push({ environment: env.name, locale, action: 'unpublish', seq: event.seq });
      } else {
        const reason = `the asset is not published to ${env.name} in ${locale}`;
        const event = await record(deps, tx, scope, 'unpublish.fail', asset, { ...extra, reason }, at, undefined, recordedBefore(seen, 'unpublish.fail', env.uid));
        outcomes.push({ environment: env.name, locale, action: 'unpublish.fail', reason, seq: event.seq });
      }
    }
  }
  return outcomes;
}

/** Archives or unarchives; archiving a published asset, or twice, is refused. */
export async function setAssetArchived(deps: ContentDeps, scope: Scope, uid: string, archived: boolean, origin: string) {
  return deps.db.tx(async (tx) => {
    const current = await requireAsset(tx, scope, uid);
    if (archived && current.archived) throw invalid('asset', `${uid} is already archived`);
    if (!archived && !current.archived) throw invalid('asset', `${uid} is not archived`);
    if (archived) {
      const pubs = (await publicationsOf(tx, scope, 'asset', [uid])).get(uid) ?? [];
      if (pubs.length) throw invalid('asset', `${uid} is published; unpublish it before archiving`);
    }
    await tx.run('UPDATE assets SET archived = ?, updated_at = ? WHERE api_key = ? AND branch = ? AND uid = ?', [archived ? 1 : 0, Date.now(), scope.api_key, scope.branch, uid]);
    const asset = await renderOne(tx, linksOf(deps, origin), scope, { doc: current.doc, archived });
    await record(deps, tx, scope, archived ? 'archive' : 'unarchive', asset);
    return asset;
  }, GATHER);
}
