import type { Scope } from '../content/context.ts';
import type { Queryable, Tx } from '../store/db.ts';

/**
 * `sys.version` of entries and assets as Contentful counts it. Herald's content versions count
 * saves of each locale line; Contentful counts one save as one version however many locales it
 * writes, and also counts publishing, unpublishing, archiving and unarchiving, so that after a
 * publish `sys.version` is `publishedVersion + 1` (the tools and the web app read "published and
 * unchanged" from that; contentful-migration computes the next version from it).
 *
 * The dialect keeps per entity (table contentful_versions) the offset of `sys.version` over the
 * sum of its content versions, moved by each of its own changes so that each is one version, and
 * the version it last published. A change through /v3 moves the sum, so `sys.version` still
 * moves (by one per locale written) and never goes down.
 */

export type VersionedModule = 'entry' | 'asset';

export interface VersionState {
  /** sys.version minus the sum of the content versions. */
  offset: number;
  /** sys.version the dialect last published at, and the content versions then published (sum). */
  publishedVersion: number | null;
  publishedSum: number | null;
}

const NONE: VersionState = { offset: 0, publishedVersion: null, publishedSum: null };

interface Row {
  uid: string;
  bumps: number;
  published_version: number | null;
  published_sum: number | null;
}

const state = (r: Row | undefined): VersionState =>
  r ? { offset: Number(r.bumps), publishedVersion: r.published_version === null ? null : Number(r.published_version), publishedSum: r.published_sum === null ? null : Number(r.published_sum) } : NONE;

export async function versionState(q: Queryable, scope: Scope, module: VersionedModule, uid: string): Promise<VersionState> {
  return state(
    await q.get<Row>('SELECT uid, bumps, published_version, published_sum FROM contentful_versions WHERE api_key = ? AND branch = ? AND module = ? AND uid = ?', [
      scope.api_key,
      scope.branch,
      module,
      uid,
    ]),
  );
}

/** The state of every entity of a module in the scope's branch, by uid (for lists). */
export async function versionStates(q: Queryable, scope: Scope, module: VersionedModule): Promise<Map<string, VersionState>> {
  const rows = await q.all<Row>('SELECT uid, bumps, published_version, published_sum FROM contentful_versions WHERE api_key = ? AND branch = ? AND module = ?', [
    scope.api_key,
    scope.branch,
    module,
  ]);
  return new Map(rows.map((r) => [r.uid, state(r)]));
}

/** Moves the offset by `delta`, in the transaction of the change it accounts for. */
export async function shift(tx: Tx, scope: Scope, module: VersionedModule, uid: string, delta: number): Promise<void> {
  if (delta === 0) return;
  await tx.run(
    `INSERT INTO contentful_versions (api_key, branch, module, uid, bumps) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (api_key, branch, module, uid) DO UPDATE SET bumps = contentful_versions.bumps + excluded.bumps`,
    [scope.api_key, scope.branch, module, uid, delta],
  );
}

/**
 * A publish through the dialect at sys.version `version`, which published content versions summing
 * to `publishedSum`: records both, and counts the publish as a version.
 */
export async function recordPublish(tx: Tx, scope: Scope, module: VersionedModule, uid: string, version: number, publishedSum: number): Promise<void> {
  await shift(tx, scope, module, uid, 1);
  await tx.run('UPDATE contentful_versions SET published_version = ?, published_sum = ? WHERE api_key = ? AND branch = ? AND module = ? AND uid = ?', [
    version,
    publishedSum,
    scope.api_key,
    scope.branch,
    module,
    uid,
  ]);
}

/** Forgets what was kept of an entity created anew (an id used before, by a deleted entity). */
export async function resetVersion(tx: Tx, scope: Scope, module: VersionedModule, uid: string): Promise<void> {
  await tx.run('DELETE FROM contentful_versions WHERE api_key = ? AND branch = ? AND module = ? AND uid = ?', [scope.api_key, scope.branch, module, uid]);
}

/**
 * `sys.publishedVersion` from the content versions published now (their sum) and the state: the
 * version the dialect published at while those are what it published; published otherwise
 * (through /v3), the version the entity had then as far as the sum tells.
 */
export function publishedVersionOf(publishedSum: number, s: VersionState): number {
  if (s.publishedVersion !== null && s.publishedSum === publishedSum) return s.publishedVersion;
  return publishedSum + s.offset;
}
