import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import type { Queryable } from '../store/db.ts';

/**
 * Asset file URLs: capability URLs, public (no credential) and unguessable, in Contentstack's
 * shape `<origin>/v3/assets/<api_key>/<asset uid>/<capability>/<filename>`.
 *
 * The capability is `<scope><version>-<mac>`, where mac = HMAC-SHA256(server key,
 * scope|api_key|branch|uid|version), base64url, 160 bits. Two scopes:
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

function mac(key: Buffer, scope: UrlScope, apiKey: string, branch: string, uid: string, version: number): Buffer {
  return createHmac('sha256', key).update(`${scope}|${apiKey}|${branch}|${uid}|${version}`).digest().subarray(0, MAC_BYTES);
}

export function capability(key: Buffer, scope: UrlScope, apiKey: string, branch: string, uid: string, version: number): string {
  return `${scope}${version}-${mac(key, scope, apiKey, branch, uid, version).toString('base64url')}`;
}

/** A capability's claims, once its MAC checked out; undefined for anything forged or malformed. */
export function verifyCapability(key: Buffer, cap: string, apiKey: string, branch: string, uid: string): { scope: UrlScope; version: number } | undefined {
  const m = /^([pm])([1-9][0-9]{0,14})-([A-Za-z0-9_-]{27})$/.exec(cap);
  if (!m) return undefined;
  const scope = m[1] as UrlScope;
  const version = Number(m[2]);
  const sent = Buffer.from(m[3], 'base64url');
  const want = mac(key, scope, apiKey, branch, uid, version);
  return sent.length === want.length && timingSafeEqual(sent, want) ? { scope, version } : undefined;
}

/** Where URLs are made: the origin clients reach Herald at, and the server key. */
export interface AssetLinks {
  origin: string;
  key: Buffer;
}

export function fileUrl(links: AssetLinks, scope: UrlScope, apiKey: string, branch: string, asset: { uid: string; filename: string; version: number }): string {
  const cap = capability(links.key, scope, apiKey, branch, asset.uid, asset.version);
  const b = branch === 'main' ? '' : `?branch=${encodeURIComponent(branch)}`;
  return `${links.origin}/v3/assets/${apiKey}/${asset.uid}/${cap}/${encodeURIComponent(asset.filename)}${b}`;
}

/** The store's asset URL key: made on first use, the same for every process on the database. */
export async function assetUrlKey(db: Queryable): Promise<Buffer> {
  await db.run("INSERT INTO meta (key, value) VALUES ('asset_url_key', ?) ON CONFLICT (key) DO NOTHING", [randomBytes(32).toString('hex')]);
  const row = await db.get<{ value: string }>("SELECT value FROM meta WHERE key = 'asset_url_key'");
  return Buffer.from(row!.value, 'hex');
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
  deps: { db: Queryable; assetsDir: string; assetUrlKey: Buffer },
  apiKey: string,
  branch: string,
  uid: string,
  cap: string,
): Promise<CapabilityFile | undefined> {
  const claim = verifyCapability(deps.assetUrlKey, cap, apiKey, branch, uid);
  if (!claim) return undefined;
  if (claim.scope === 'p') {
    const pub = await deps.db.get(
      "SELECT 1 AS ok FROM publications WHERE api_key = ? AND branch = ? AND module = 'asset' AND uid = ? AND version = ? LIMIT 1",
      [apiKey, branch, uid, claim.version],
    );
    if (!pub) return undefined;
  }
  const current = await deps.db.get<{ version: number; file: string; doc: string; created_seq: number }>('SELECT version, file, doc, created_seq FROM assets WHERE api_key = ? AND branch = ? AND uid = ?', [apiKey, branch, uid]);
  if (!current || claim.version > Number(current.version)) return undefined;
  // The current asset's first retired file whose versions reach this one (it was replaced later); else
  // its current file. A deleted asset whose uid was given again left files of another created_seq.
  const retired = await deps.db.get<{ file: string; filename: string; content_type: string }>(
    'SELECT file, filename, content_type FROM retired_asset_files WHERE api_key = ? AND branch = ? AND uid = ? AND created_seq = ? AND until_version >= ? ORDER BY until_version LIMIT 1',
    [apiKey, branch, uid, Number(current.created_seq), claim.version],
  );
  const doc = retired ?? (JSON.parse(current.doc) as { filename: string; content_type: string });
  const file = retired?.file ?? current.file;
  return { path: join(deps.assetsDir, file), filename: doc.filename, content_type: doc.content_type, uid, version: claim.version, scope: claim.scope };
}
