import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import type { Queryable } from '../store/db.ts';
import { NOT_HELD } from './files.ts';

/**
 * Asset file URLs: capability URLs, public (no credential) and unguessable, in Contentstack's
 * shape `<origin>/v3/assets/<api_key>/<asset uid>/<capability>/<filename>`.
 *
 * The capability is `<scope><version>-<mac>`, where mac = HMAC-SHA256(server key,
 * scope|api_key|branch|uid|version[|created_at]), base64url, 160 bits; `created_at` (the asset's, as
 * its doc says) for an asset made after the key's epoch (AssetUrlKey). Two scopes:
 * - `p` (published): what the delivery APIs show. Served only while that version of the asset is
 *   published to some environment of its branch; an unpublish or delete makes it 404 at once.
 * - `m` (management): what the management APIs, webhook payloads and the export tools see.
 *   Served while the asset exists and has that version, published or not; deleted assets 404.
 * Nothing but the server key makes a capability, so knowing an asset uid gives nothing. The key is
 * made once per store (the `meta` row `asset_url_key`), shared by every process on the database,
 * and never leaves it. The file name segment is cosmetic (clients re-encode it): it is not checked.
 */
export type UrlScope = 'p' | 'm';

/** Bytes of HMAC kept in a capability: 160 bits. */
const MAC_BYTES = 20;

/**
 * The store's key for asset URLs. `secret`: what every MAC is made with. `epoch` (ms): when this
 * store first made URLs that name an asset's making. A uid can name one asset after another (a
 * deleted asset's given to a new one: x-herald-uid, a Contentful id reused), each with versions
 * from 1: an asset made after the epoch has its `created_at` in its MACs, so URLs made for an
 * earlier asset under its uid 404 instead of serving the new one's file. One made before the epoch
 * keeps the URLs it had (sites and caches hold them).
 */
export interface AssetUrlKey {
  secret: Buffer;
  epoch: number;
}

/** What of the asset goes into its MACs beyond uid and version: its `created_at` when made after the epoch (see AssetUrlKey). */
function madeAt(key: AssetUrlKey, createdAt: unknown): string {
  return typeof createdAt === 'string' && Date.parse(createdAt) > key.epoch ? `|${createdAt}` : '';
}

function mac(key: AssetUrlKey, scope: UrlScope, apiKey: string, branch: string, uid: string, version: number, createdAt: unknown): Buffer {
  return createHmac('sha256', key.secret).update(`${scope}|${apiKey}|${branch}|${uid}|${version}${madeAt(key, createdAt)}`).digest().subarray(0, MAC_BYTES);
}

/** A capability for version `version` of the asset made at `createdAt` (its doc's `created_at`). */
export function capability(key: AssetUrlKey, scope: UrlScope, apiKey: string, branch: string, uid: string, version: number, createdAt: unknown): string {
  return `${scope}${version}-${mac(key, scope, apiKey, branch, uid, version, createdAt).toString('base64url')}`;
}

/**
 * A capability's claims, once its MAC checked out against the asset the uid names now (made at
 * `createdAt`); undefined for anything forged or malformed, or made for another asset under the uid.
 */
export function verifyCapability(key: AssetUrlKey, cap: string, apiKey: string, branch: string, uid: string, createdAt: unknown): { scope: UrlScope; version: number } | undefined {
  const m = /^([pm])([1-9][0-9]{0,14})-([A-Za-z0-9_-]{27})$/.exec(cap);
  if (!m) return undefined;
  const scope = m[1] as UrlScope;
  const version = Number(m[2]);
  const sent = Buffer.from(m[3], 'base64url');
  const want = mac(key, scope, apiKey, branch, uid, version, createdAt);
  return sent.length === want.length && timingSafeEqual(sent, want) ? { scope, version } : undefined;
}

/** Where URLs are made: the origin clients reach Herald at, and the server key. */
export interface AssetLinks {
  origin: string;
  key: AssetUrlKey;
}

export function fileUrl(links: AssetLinks, scope: UrlScope, apiKey: string, branch: string, asset: { uid: string; filename: string; version: number; created_at: unknown }): string {
  const cap = capability(links.key, scope, apiKey, branch, asset.uid, asset.version, asset.created_at);
  const b = branch === 'main' ? '' : `?branch=${encodeURIComponent(branch)}`;
  return `${links.origin}/v3/assets/${apiKey}/${asset.uid}/${cap}/${encodeURIComponent(asset.filename)}${b}`;
}

/** The store's asset URL key (AssetUrlKey): made on first use, the same for every process on the database. */
export async function assetUrlKey(db: Queryable): Promise<AssetUrlKey> {
  await db.run("INSERT INTO meta (key, value) VALUES ('asset_url_key', ?) ON CONFLICT (key) DO NOTHING", [randomBytes(32).toString('hex')]);
  await db.run("INSERT INTO meta (key, value) VALUES ('asset_url_epoch', ?) ON CONFLICT (key) DO NOTHING", [String(Date.now())]);
  const rows = await db.all<{ key: string; value: string }>("SELECT key, value FROM meta WHERE key IN ('asset_url_key', 'asset_url_epoch')");
  const of = (k: string) => rows.find((r) => r.key === k)!.value;
  return { secret: Buffer.from(of('asset_url_key'), 'hex'), epoch: Number(of('asset_url_epoch')) };
}

/** What a capability URL serves: the file of one asset version. */
export interface CapabilityFile {
  path: string;
  filename: string;
  content_type: string;
  uid: string;
  version: number;
  scope: UrlScope;
}

/**
 * Resolves a capability URL to the file it serves, or undefined (the caller answers 404, the same
 * for a forged capability, an unpublished or deleted asset, and an unknown stack or branch).
 * `p`: that version must be published to some environment of the branch now. `m`: the asset must
 * exist with at least that version.
 */
export async function capabilityFile(
  deps: { db: Queryable; assetsDir: string; assetUrlKey: AssetUrlKey },
  apiKey: string,
  branch: string,
  uid: string,
  cap: string,
): Promise<CapabilityFile | undefined> {
  const current = await deps.db.get<{ version: number; file: string; doc: string; created_seq: number }>('SELECT version, file, doc, created_seq FROM assets WHERE api_key = ? AND branch = ? AND uid = ?', [apiKey, branch, uid]);
  if (!current) return undefined;
  const doc = JSON.parse(current.doc) as { filename: string; content_type: string; created_at?: unknown };
  // Checked against the asset the uid names now: a capability made for an earlier one under it does not verify.
  const claim = verifyCapability(deps.assetUrlKey, cap, apiKey, branch, uid, doc.created_at);
  if (!claim) return undefined;
  if (claim.scope === 'p') {
    const pub = await deps.db.get(
      "SELECT 1 AS ok FROM publications WHERE api_key = ? AND branch = ? AND module = 'asset' AND uid = ? AND version = ? LIMIT 1",
      [apiKey, branch, uid, claim.version],
    );
    if (!pub) return undefined;
  }
  if (claim.version > Number(current.version)) return undefined;
  // The current asset's first retired file whose versions reach this one (it was replaced later); else
  // its current file. A deleted asset whose uid was given again left files of another created_seq.
  const retired = await deps.db.get<{ file: string; filename: string; content_type: string }>(
    'SELECT file, filename, content_type FROM retired_asset_files WHERE api_key = ? AND branch = ? AND uid = ? AND created_seq = ? AND until_version >= ? ORDER BY until_version LIMIT 1',
    [apiKey, branch, uid, Number(current.created_seq), claim.version],
  );
  if (retired?.file === NOT_HELD) return undefined; // a tombstone: that version's file is no longer held
  const served = retired ?? doc;
  const file = retired?.file ?? current.file;
  return { path: join(deps.assetsDir, file), filename: served.filename, content_type: served.content_type, uid, version: claim.version, scope: claim.scope };
}
