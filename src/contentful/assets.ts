import { Readable } from 'node:stream';
import { createAsset, deleteAsset, fetchAsset, listAssets, publishAsset, setAssetArchived, unpublishAsset, updateAsset } from '../content/assets.ts';
import type { ContentDeps, Scope } from '../content/context.ts';
import { createEnvironment, getEnvironment, type EnvironmentDoc } from '../content/environments.ts';
import * as files from '../content/files.ts';
import { masterLocale } from '../content/locales.ts';
import { outcomeError, publicationsOf } from '../content/publications.ts';
import { isObject } from '../content/guards.ts';
import { fieldErrors, HeraldError, invalid, notFound, type FieldErrors } from '../errors.ts';
import { prefixed } from '../ids.ts';
import type { Queryable, Tx } from '../store/db.ts';
import { within } from './compose.ts';
import { assetEntity, contentfulLocale, link, type SysContext } from './entities.ts';
import { localeCodes, localesOf, publicationState, queryLocales } from './entries.ts';
import { metadataTags } from './values.ts';
import { fieldStatus } from './field-status.ts';
import { applyQuery, needsEntities, parseQuery, selectPaths } from './query.ts';
import { recordPublish, resetVersion, shift, versionState } from './versions.ts';
import { validationFailed, versionMismatch } from './errors.ts';

/**
 * Assets and uploads in the Contentful dialect, over src/content/assets.ts (the same assets as
 * /v3/assets).
 *
 * Herald assets are not localized: an asset has one title, description and file, shown in the
 * space's master locale; fields in another locale are refused. A Contentful asset's file comes
 * from an upload (`POST /spaces/{space}/uploads`, then `uploadFrom: { sys: { id } }`) or from a
 * `data:` URL in `upload`; Herald does not fetch remote URLs (a 422 says so). Herald keeps the file
 * at once, so "processing" (`PUT .../files/{locale}/process`) has nothing left to do and the
 * asset's `url` is there from the start. `sys.version` is the asset's `_version`.
 */

/** How long an upload can be used, ms (48 h, as Contentful's). */
export const UPLOAD_TTL_MS = 48 * 3_600_000;

interface UploadRow {
  id: string;
  file: string;
  size: number;
  created_at: number;
  expires_at: number;
}

export function presentUpload(u: UploadRow, ctx: { spaceId: string }, actor: string) {
  return {
    sys: {
      type: 'Upload',
      id: u.id,
      space: link('Space', ctx.spaceId),
      createdAt: new Date(Number(u.created_at)).toISOString(),
      expiresAt: new Date(Number(u.expires_at)).toISOString(),
      createdBy: link('User', actor),
    },
  };
}

/** Stores an upload's bytes (at most `limit`; more is a 413) and returns it. Expired uploads of the space are removed. */
export async function receiveUpload(deps: ContentDeps, scope: Scope, body: AsyncIterable<Buffer>, limit: number): Promise<UploadRow> {
  const now = Date.now();
  const expired = await deps.db.all<{ id: string; file: string }>('SELECT id, file FROM contentful_uploads WHERE api_key = ? AND expires_at <= ?', [scope.api_key, now]);
  for (const u of expired) {
    await deps.db.run('DELETE FROM contentful_uploads WHERE api_key = ? AND id = ?', [scope.api_key, u.id]);
    await files.remove(deps.assetsDir, u.file).catch(() => {});
  }
  let size = 0;
  const limited = Readable.from(
    (async function* () {
      for await (const chunk of body) {
        size += chunk.length;
        if (size > limit) throw new HeraldError('payload_too_large', `The upload is larger than the server accepts (${limit} bytes).`);
        yield chunk;
      }
    })(),
  );
  const { tmp } = await files.receive(deps.assetsDir, scope.api_key, limited);
  const rel = await files.keep(deps.assetsDir, scope.api_key, tmp);
  const row: UploadRow = { id: prefixed('upl', 12).replace(/[^A-Za-z0-9_]/g, 'x'), file: rel, size, created_at: now, expires_at: now + UPLOAD_TTL_MS };
  try {
    await deps.db.run('INSERT INTO contentful_uploads (api_key, id, file, size, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)', [
      scope.api_key,
      row.id,
      row.file,
      row.size,
      row.created_at,
      row.expires_at,
    ]);
  } catch (err) {
    await files.remove(deps.assetsDir, rel).catch(() => {});
    throw err;
  }
  return row;
}

export async function getUpload(q: Queryable, scope: Scope, id: string): Promise<UploadRow> {
  const row = await q.get<UploadRow>('SELECT id, file, size, created_at, expires_at FROM contentful_uploads WHERE api_key = ? AND id = ? AND expires_at > ?', [
    scope.api_key,
    id,
    Date.now(),
  ]);
  if (!row) throw notFound(`Upload ${id}`);
  return row;
}

export async function deleteUpload(deps: ContentDeps, scope: Scope, id: string): Promise<void> {
  const row = await getUpload(deps.db, scope, id);
  await deps.db.run('DELETE FROM contentful_uploads WHERE api_key = ? AND id = ?', [scope.api_key, id]);
  await files.remove(deps.assetsDir, row.file).catch(() => {});
}

/** A file for an asset, read from a body's `fields.file`. */
type FileSource = { upload: string } | { data: Buffer } | null;

interface AssetInput {
  title?: string;
  description?: string;
  tags?: string[];
  file?: { fileName: string; contentType: string; source: FileSource };
}

/** A single-locale value of an asset field (the master locale), with its problems. */
function masterValue(fields: Record<string, unknown>, key: string, master: string, add: (p: string, m: string) => void): unknown {
  const v = fields[key];
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) {
    add(`fields.${key}`, `must be an object of values by locale: { "${contentfulLocale(master)}": ... }`);
    return undefined;
  }
  let out: unknown;
  for (const [l, value] of Object.entries(v)) {
    if (l.toLowerCase() !== master) add(`fields.${key}.${l}`, `is not stored: Herald assets are not localized, give it in the master locale (${contentfulLocale(master)})`);
    else out = value;
  }
  return out;
}

/** The bytes of a data: URL's payload, or undefined when it is malformed. */
function dataBytes(payload: string, base64: boolean): Buffer | undefined {
  if (base64) return /^[A-Za-z0-9+/]*={0,2}$/.test(payload.replace(/\s/g, '')) ? Buffer.from(payload, 'base64') : undefined;
  try {
    return Buffer.from(decodeURIComponent(payload));
  } catch {
    return undefined;
  }
}

function parseAsset(raw: unknown, master: string): AssetInput {
  const errors: FieldErrors = fieldErrors();
  const add = (p: string, m: string) => (errors[p] ??= []).push(m);
  if (!isObject(raw)) throw invalid('body', 'must be an asset: { "fields": { "title": ..., "file": ... } }');
  for (const k of Object.keys(raw)) if (!['fields', 'metadata', 'sys'].includes(k)) add(k, 'is not a known field');
  const fields = raw.fields ?? {};
  const out: AssetInput = {};
  if (!isObject(fields)) add('fields', 'must be an object');
  else {
    for (const k of Object.keys(fields)) if (!['title', 'description', 'file'].includes(k)) add(`fields.${k}`, 'is not a field of assets (title, description, file)');
    const title = masterValue(fields, 'title', master, add);
    if (title !== undefined) typeof title === 'string' ? (out.title = title) : add(`fields.title.${contentfulLocale(master)}`, 'must be a string');
    const description = masterValue(fields, 'description', master, add);
    if (description !== undefined) typeof description === 'string' ? (out.description = description) : add(`fields.description.${contentfulLocale(master)}`, 'must be a string');
    const file = masterValue(fields, 'file', master, add);
    const at = `fields.file.${contentfulLocale(master)}`;
    if (file !== undefined) {
      if (!isObject(file)) add(at, 'must be { fileName, contentType, uploadFrom }');
      else {
        let source: FileSource = null;
        const from = isObject(file.uploadFrom) && isObject(file.uploadFrom.sys) ? file.uploadFrom.sys.id : undefined;
        if (from !== undefined) {
          if (typeof from !== 'string') add(`${at}.uploadFrom`, 'must be a Link to an upload');
          else source = { upload: from };
        } else if (file.upload !== undefined) {
          const m = typeof file.upload === 'string' ? /^data:[^;,]*(;base64)?,(.*)$/s.exec(file.upload) : null;
          const bytes = m ? dataBytes(m[2], m[1] !== undefined) : undefined;
          if (bytes) source = { data: bytes };
          else if (m) add(`${at}.upload`, 'is not a valid data: URL (percent-encoding or base64)');
          else add(`${at}.upload`, 'is not supported as a remote URL: Herald does not fetch files from the network; upload the file (POST /spaces/{space}/uploads) and use uploadFrom, or send a data: URL');
        }
        if (typeof file.fileName !== 'string' || file.fileName.trim() === '') add(`${at}.fileName`, 'is required');
        if (typeof file.contentType !== 'string' || file.contentType === '') add(`${at}.contentType`, 'is required');
        out.file = { fileName: String(file.fileName ?? ''), contentType: String(file.contentType ?? ''), source };
      }
    }
  }
  const tags = metadataTags(raw, errors);
  if (tags !== undefined) out.tags = tags;
  if (Object.keys(errors).length) throw validationFailed(errors);
  return out;
}

/** The file a source names, as an upload Herald's assets take (a copy: the source stays usable). */
async function fileFor(deps: ContentDeps, scope: Scope, file: NonNullable<AssetInput['file']>, limit: number): Promise<files.Upload> {
  const source = file.source!;
  if ('upload' in source) {
    const u = await getUpload(deps.db, scope, source.upload).catch(() => {
      throw invalid('fields.file.uploadFrom', `names upload ${source.upload}, which does not exist or has expired`);
    });
    const copy = await files.duplicate(deps.assetsDir, scope.api_key, u.file);
    return { tmp: files.absolute(deps.assetsDir, copy), size: Number(u.size), filename: file.fileName, mimetype: file.contentType };
  }
  if (source.data.length > limit) throw new HeraldError('payload_too_large', `The file is larger than the server accepts (${limit} bytes).`);
  const { tmp, size } = await files.receive(deps.assetsDir, scope.api_key, Readable.from([source.data]));
  return { tmp, size, filename: file.fileName, mimetype: file.contentType };
}

function meta(input: AssetInput): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (input.title !== undefined) out.title = input.title;
  if (input.description !== undefined) out.description = input.description;
  if (input.tags !== undefined) out.tags = input.tags;
  return out;
}

async function publishEnvironment(q: Queryable, scope: Scope, ctx: SysContext): Promise<EnvironmentDoc | undefined> {
  return getEnvironment(q, scope.api_key, ctx.environmentId);
}

/**
 * An asset as Contentful shows it, read through `deps` (inside a transaction when it is one). A list
 * passes the space's locales it read once (queryLocales); a single asset reads them here.
 */
async function present(deps: ContentDeps, scope: Scope, ctx: SysContext, uid: string, origin: string, locs?: { heraldCodes: Set<string>; master: string }) {
  const q = deps.db;
  const a = (await fetchAsset(deps, scope, uid, origin)) as Record<string, unknown> & Parameters<typeof assetEntity>[0];
  const env = await publishEnvironment(q, scope, ctx);
  const pubs = env ? ((await publicationsOf(q, scope, 'asset', [uid])).get(uid) ?? []).filter((p) => p.environment === env.uid) : [];
  const vs = await versionState(q, scope, 'asset', uid);
  const version = Number(a._version) + vs.offset;
  return assetEntity(a, locs?.master ?? (await masterLocale(q, scope.api_key)), ctx, {
    id: uid,
    version,
    createdAt: String(a.created_at),
    updatedAt: String(a.updated_at),
    createdBy: String(a.created_by),
    updatedBy: String(a.updated_by),
    published: publicationState(pubs, vs),
    archived: a._archived === true ? { version, at: String(a.updated_at), by: String(a.updated_by) } : null,
    // Herald's asset is one content in every locale: each published locale compares with its version.
    fieldStatus: fieldStatus(locs?.heraldCodes ?? (await localeCodes(q, scope.api_key)), [], pubs.map((p) => ({ locale: p.locale, version: Number(p.version) })), Number(a._version)),
  });
}

/** Whether an asset of this uid exists in the scope's branch. */
export async function assetExists(q: Queryable, scope: Scope, uid: string): Promise<boolean> {
  return !!(await q.get('SELECT 1 AS ok FROM assets WHERE api_key = ? AND branch = ? AND uid = ?', [scope.api_key, scope.branch, uid]));
}

export async function getAssetView(deps: ContentDeps, scope: Scope, ctx: SysContext, uid: string, origin: string) {
  return present(deps, scope, ctx, uid, origin);
}

/**
 * The assets of the environment as Contentful's collection query asks (src/contentful/query.ts:
 * sys.*, fields.title/description/file.*, mimetype_group, query, order, select, skip, limit;
 * anything else is a 400 naming it), oldest first unless `order` says otherwise.
 */
export async function listAssetViews(deps: ContentDeps, scope: Scope, ctx: SysContext, params: Record<string, unknown>, origin: string) {
  const locs = await queryLocales(deps.db, scope.api_key);
  const parsed = parseQuery(params, { kind: 'Asset', locales: locs });
  if (!needsEntities(parsed)) {
    const { assets, count } = await listAssets(deps, scope, { paging: { skip: parsed.skip, limit: Math.max(1, parsed.limit), includeCount: true }, sort: { field: 'created_at', dir: 1 } }, origin);
    const items = parsed.limit === 0 ? [] : await Promise.all(assets.map((a) => present(deps, scope, ctx, a.uid as string, origin, locs)));
    return { items: parsed.select ? items.map((e) => selectPaths(e, parsed.select!)) : items, total: count, page: parsed };
  }
  const { assets } = await listAssets(deps, scope, { paging: { skip: 0, limit: Number.MAX_SAFE_INTEGER, includeCount: false }, sort: { field: 'created_at', dir: 1 } }, origin);
  const all = [];
  for (const a of assets) all.push(await present(deps, scope, ctx, a.uid as string, origin, locs));
  return { ...applyQuery(all, parsed), page: parsed };
}

/**
 * The dialect's asset writes share a commit on SQLite with other writes asked for in the same turn
 * of the event loop, as /v3's do (src/content/assets.ts, GATHER): each reads and writes only through
 * its `tx`. Not a save with a new file: updateAsset keeps the file inside it, so it could not run
 * again alone (create and delete are /v3's own, gathered there).
 */
const GATHER = { gather: true } as const;

/** Creates an asset (POST; or PUT to an id no asset has: `id`, Contentful's create-with-id). */
export async function createAssetFrom(deps: ContentDeps, scope: Scope, ctx: SysContext, raw: unknown, origin: string, limit: number, id?: string) {
  const input = parseAsset(raw, await masterLocale(deps.db, scope.api_key));
  if (!input.file?.source) {
    throw invalid(
      'fields.file',
      'is required with its bytes: Herald assets always have a file (upload it with POST /spaces/{space}/uploads and give uploadFrom, or a data: URL in upload)',
    );
  }
  const upload = await fileFor(deps, scope, input.file, limit);
  const asset = await createAsset(deps, scope, upload, { ...meta(input), title: input.title ?? input.file.fileName }, origin, id !== undefined ? { uid: id } : {});
  await deps.db.tx((tx) => resetVersion(tx, scope, 'asset', asset.uid as string), GATHER);
  return present(deps, scope, ctx, asset.uid as string, origin);
}

/** Saves an asset (PUT): metadata, and the file when the body gives a new one. `sent` must be its version. */
export async function saveAsset(deps: ContentDeps, scope: Scope, ctx: SysContext, uid: string, sent: number | null, raw: unknown, origin: string, limit: number) {
  await fetchAsset(deps, scope, uid, origin); // 404 before reading any file
  const input = parseAsset(raw, await masterLocale(deps.db, scope.api_key));
  const upload = input.file?.source ? await fileFor(deps, scope, input.file, limit) : undefined;
  try {
    // The version check and the change in one transaction: no change slips in between.
    return await deps.db.tx(async (tx) => {
      const inner = within(deps, tx);
      const current = await fetchAsset(inner, scope, uid, origin);
      const version = Number(current._version) + (await versionState(tx, scope, 'asset', uid)).offset;
      if (sent !== version) throw versionMismatch('the asset', sent, version);
      if (!upload && input.file && (input.file.fileName !== current.filename || input.file.contentType !== current.content_type)) {
        throw invalid('fields.file', 'can change its fileName or contentType only with a new file (uploadFrom)');
      }
      await updateAsset(inner, scope, uid, meta(input), upload, origin);
      return present(inner, scope, ctx, uid, origin);
    }, upload ? undefined : GATHER);
  } catch (err) {
    // updateAsset removes a file it took; one it never reached is removed here.
    if (upload) await files.removeAbsolute(upload.tmp);
    throw err;
  }
}

/** `PUT .../files/{locale}/process`: the file is kept at upload already; checks the asset and the locale. */
export async function processAsset(deps: ContentDeps, scope: Scope, uid: string, locale: string, origin: string) {
  await fetchAsset(deps, scope, uid, origin);
  const master = await masterLocale(deps.db, scope.api_key);
  if (locale.toLowerCase() !== master) throw invalid('locale', `is not stored: Herald assets are not localized (the master locale is ${contentfulLocale(master)})`);
}

async function ensureEnvironment(deps: ContentDeps, tx: Tx, scope: Scope, ctx: SysContext): Promise<EnvironmentDoc> {
  return (await publishEnvironment(tx, scope, ctx)) ?? createEnvironment(within(deps, tx).db, scope, { name: ctx.environmentId });
}

/**
 * Publishes the asset to the environment's Herald environment: in every locale of the space, as
 * Contentful publishes an asset (its fields show the master locale's content in each), or in the
 * locales the body names (contentful-management's `publish` with `locales`:
 * `{ add: { fields: { '*': [...] } } }`); sys.fieldStatus and the delivery API's
 * X-Contentful-Locale-Based-Publishing follow it. Herald records one publish event per locale, as
 * for /v3 (Contentstack publishes each locale on its own).
 */
export async function publishAssetTo(deps: ContentDeps, scope: Scope, ctx: SysContext, uid: string, sent: number | null, origin: string, body?: unknown) {
  return deps.db.tx(async (tx) => {
    const inner = within(deps, tx);
    const current = await fetchAsset(inner, scope, uid, origin);
    const version = Number(current._version) + (await versionState(tx, scope, 'asset', uid)).offset;
    if (sent !== version) throw versionMismatch('the asset', sent, version);
    const codes = await localeCodes(tx, scope.api_key);
    const master = await masterLocale(tx, scope.api_key);
    // The master locale's event first: the one its fields show in.
    const chosen = localesOf(body, 'add', codes) ?? [master, ...[...codes].filter((c) => c !== master)];
    const env = await ensureEnvironment(deps, tx, scope, ctx);
    await publishAsset(inner, scope, uid, { asset: { environments: [env.name], locales: chosen } }, origin);
    await recordPublish(tx, scope, 'asset', uid, version, Number(current._version));
    return present(inner, scope, ctx, uid, origin);
  }, GATHER);
}

/** Unpublishes the asset from the environment: every locale it is published in, or those the body names (`{ remove: { fields: { '*': [...] } } }`). */
export async function unpublishAssetFrom(deps: ContentDeps, scope: Scope, ctx: SysContext, uid: string, origin: string, body?: unknown) {
  let failed: unknown;
  const entity = await deps.db.tx(async (tx) => {
    const inner = within(deps, tx);
    await fetchAsset(inner, scope, uid, origin);
    const env = await publishEnvironment(tx, scope, ctx);
    const published = env ? ((await publicationsOf(tx, scope, 'asset', [uid])).get(uid) ?? []).filter((p) => p.environment === env.uid).map((p) => p.locale) : [];
    if (!env || published.length === 0) throw invalid('sys.publishedVersion', `asset ${uid} is not published in environment ${ctx.environmentId}`);
    const chosen = localesOf(body, 'remove', await localeCodes(tx, scope.api_key)) ?? [...new Set(published)];
    const outcomes = await unpublishAsset(inner, scope, uid, { asset: { environments: [env.name], locales: chosen } }, origin);
    failed = outcomeError(`asset ${uid}`, outcomes);
    if (!failed) await shift(tx, scope, 'asset', uid, 1);
    return present(inner, scope, ctx, uid, origin);
  }, GATHER);
  if (failed) throw failed;
  return entity;
}

export async function archiveAsset(deps: ContentDeps, scope: Scope, ctx: SysContext, uid: string, archived: boolean, origin: string) {
  await deps.db.tx(async (tx) => {
    await setAssetArchived(within(deps, tx), scope, uid, archived, origin);
    await shift(tx, scope, 'asset', uid, 1);
  }, GATHER);
  return present(deps, scope, ctx, uid, origin);
}

export async function removeAsset(deps: ContentDeps, scope: Scope, uid: string, origin: string) {
  await deleteAsset(deps, scope, uid, origin);
}
