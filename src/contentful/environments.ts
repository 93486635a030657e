import { createBranch, deleteBranch, type BranchDoc } from '../content/branches.ts';
import type { ContentDeps, Scope } from '../content/context.ts';
import { createEnvironment, getEnvironment } from '../content/environments.ts';
import { invalid } from '../errors.ts';
import type { Tx } from '../store/db.ts';
import { within } from './compose.ts';
import { branchOf, environmentIdOf } from './entities.ts';

/**
 * Contentful environments made and removed through the dialect (`PUT`/`DELETE
 * /spaces/{space}/environments/{id}`). An environment is a branch (`master`: main), so a new one
 * is a branch copied from its source environment (`X-Contentful-Source-Environment`, `master` when
 * absent), made at once (`sys.status` ready; Contentful's is queued a moment first).
 *
 * Contentful's copy carries the publish state of entries and assets. Herald's branch copy does not
 * (Contentstack's does not); the dialect publishes what environment E publishes to the Herald
 * environment named E (entries.ts), so here the source's publications to its own Herald
 * environment are copied into the new branch as publications to the Herald environment named
 * after the new one (created when missing), in the same transaction. Publications of the source
 * to other Herald environments (made through /v3) are not copied: they are Contentstack's.
 */

/** Contentful's environment ids are wider; here an id is a branch uid (Contentstack's rule). */
const ENVIRONMENT_ID = /^[a-z0-9_]{1,15}$/;

/** The publication columns copied as they are (the rest: api_key, branch, environment). */
const PUBLICATION_COLUMNS = 'module, uid, locale, version, actor, published_at, content_type_uid, doc, created_at, seq';

export async function createEnvironmentCopy(deps: ContentDeps, scope: Scope, environmentId: string, sourceEnvironmentId: string): Promise<BranchDoc> {
  if (!ENVIRONMENT_ID.test(environmentId)) {
    throw invalid('sys.id', 'must be lowercase letters, digits and underscores (at most 15): an environment is a Herald branch of that uid');
  }
  const copyPublications = async (tx: Tx, uid: string, source: string) => {
    const from = await getEnvironment(tx, scope.api_key, environmentIdOf(source));
    if (!from) return; // nothing was ever published in the source environment
    const published = await tx.get('SELECT 1 AS ok FROM publications WHERE api_key = ? AND branch = ? AND environment = ?', [scope.api_key, source, from.uid]);
    if (!published) return;
    const name = environmentIdOf(uid);
    const to = (await getEnvironment(tx, scope.api_key, name)) ?? (await createEnvironment(within(deps, tx).db, scope, { name }));
    await tx.run(
      `INSERT INTO publications (api_key, branch, environment, ${PUBLICATION_COLUMNS})
       SELECT api_key, ?, ?, ${PUBLICATION_COLUMNS} FROM publications WHERE api_key = ? AND branch = ? AND environment = ?`,
      [uid, to.uid, scope.api_key, source, from.uid],
    );
  };
  return createBranch(deps, scope, { uid: branchOf(environmentId), source: branchOf(sourceEnvironmentId) }, copyPublications);
}

/** Deletes the environment's branch with its content (`master` cannot be deleted). The Herald environment named after it stays (publishing there from /v3 may use it). */
export async function deleteEnvironmentOf(deps: ContentDeps, scope: Scope, environmentId: string): Promise<BranchDoc> {
  return deleteBranch(deps, scope, branchOf(environmentId));
}
