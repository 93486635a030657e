import type { Scope } from '../content/context.ts';
import type { Queryable, Tx } from '../store/db.ts';

/**
 * `sys.version` of entries and assets as Contentful counts it. Herald's content versions count
 * saves; Contentful also counts publishing, unpublishing, archiving and unarchiving, so that after
 * a publish `sys.version` is `publishedVersion + 1` (the tools and the web app read "published and
 * unchanged" from that). The dialect keeps, per entity, how many such changes it made (`bumps`,
 * table contentful_versions): `sys.version` = content version + bumps, and never goes down.
 */

export type VersionedModule = 'entry' | 'asset';

export async function bumpsOf(q: Queryable, scope: Scope, module: VersionedModule, uid: string): Promise<number> {
  const row = await q.get<{ bumps: number }>('SELECT bumps FROM contentful_versions WHERE api_key = ? AND branch = ? AND module = ? AND uid = ?', [
    scope.api_key,
    scope.branch,
    module,
    uid,
  ]);
  return row ? Number(row.bumps) : 0;
}

/** The bumps of every entity of a module in the scope's branch, by uid (for lists). */
export async function allBumps(q: Queryable, scope: Scope, module: VersionedModule): Promise<Map<string, number>> {
  const rows = await q.all<{ uid: string; bumps: number }>('SELECT uid, bumps FROM contentful_versions WHERE api_key = ? AND branch = ? AND module = ?', [
    scope.api_key,
    scope.branch,
    module,
  ]);
  return new Map(rows.map((r) => [r.uid, Number(r.bumps)]));
}

/** Counts one publish, unpublish, archive or unarchive, in the transaction that made it. */
export async function bump(tx: Tx, scope: Scope, module: VersionedModule, uid: string): Promise<void> {
  await tx.run(
    `INSERT INTO contentful_versions (api_key, branch, module, uid, bumps) VALUES (?, ?, ?, ?, 1)
     ON CONFLICT (api_key, branch, module, uid) DO UPDATE SET bumps = contentful_versions.bumps + 1`,
    [scope.api_key, scope.branch, module, uid],
  );
}

/** Forgets the count of an entity created anew (an id used before, by a deleted entity). */
export async function resetBumps(tx: Tx, scope: Scope, module: VersionedModule, uid: string): Promise<void> {
  await tx.run('DELETE FROM contentful_versions WHERE api_key = ? AND branch = ? AND module = ? AND uid = ?', [scope.api_key, scope.branch, module, uid]);
}

/**
 * `sys.publishedVersion` from the content versions published (`published`: their sum) and the
 * bumps: the version the entity had when the dialect published it (the publish itself is the last
 * bump). Published through /v3 only (no bumps), it is the content version published.
 */
export function publishedVersionOf(published: number, bumps: number): number {
  return published + Math.max(bumps - 1, 0);
}
