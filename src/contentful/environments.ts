import { createBranch, deleteBranch, type BranchDoc } from '../content/branches.ts';
import type { ContentDeps, Scope } from '../content/context.ts';
import { createEnvironment, getEnvironment } from '../content/environments.ts';
import { isObject } from '../content/guards.ts';
import { fieldErrors, invalid, notFound } from '../errors.ts';
import { hexId } from '../ids.ts';
import { json, type Queryable, type Tx } from '../store/db.ts';
import { within } from './compose.ts';
import { branchOf, environmentIdOf, MASTER_ENVIRONMENT } from './entities.ts';
import { validationFailed, versionMismatch } from './errors.ts';

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
 *
 * An environment keeps the `name` it was made with (column branches.contentful_name, migration 022);
 * one made without a name, master, and branches made through /v3 are named after their id.
 * A PUT with X-Contentful-Version to an existing environment renames it (contentful-management's
 * `environment.update`), moving its `sys.version` (branches.contentful_version, migration 023; 1
 * for every branch until then) by one. `master` is never renamed, as in Contentful ("The master
 * environment cannot be changed, deleted or renamed"): always named `master`.
 */

/** Contentful's environment ids are wider; here an id is a branch uid (Contentstack's rule). */
const ENVIRONMENT_ID = /^[a-z0-9_]{1,15}$/;

/** The publication columns copied as they are (the rest: api_key, branch, environment). */
const PUBLICATION_COLUMNS = 'module, uid, locale, version, actor, published_at, content_type_uid, doc, created_at, seq';

/** An environment as the dialect shows it: its branch and its name. */
export interface EnvironmentOf {
  branch: BranchDoc;
  name: string;
  /** sys.version: 1, and one more for each rename. */
  version: number;
  /** sys.updatedAt: the last rename's time, else the branch's updated_at (ISO 8601). */
  updatedAt: string;
}

interface EnvironmentRow {
  doc: string;
  contentful_name: string | null;
  contentful_version: number | string;
  contentful_updated_at: number | string | null;
}

const ENVIRONMENT_COLUMNS = 'doc, contentful_name, contentful_version, contentful_updated_at';

function environmentOfRow(r: EnvironmentRow): EnvironmentOf {
  const branch = json<BranchDoc>(r.doc);
  return {
    branch,
    // A name stored for main before renaming master was refused is not shown: master is `master`.
    name: branch.uid === 'main' ? MASTER_ENVIRONMENT : (r.contentful_name ?? environmentIdOf(branch.uid)),
    version: Number(r.contentful_version),
    updatedAt: r.contentful_updated_at === null ? branch.updated_at : new Date(Number(r.contentful_updated_at)).toISOString(),
  };
}

/** The row of branch `uid`'s environment; undefined when there is no such branch. */
function environmentRow(q: Queryable, apiKey: string, uid: string): Promise<EnvironmentRow | undefined> {
  return q.get<EnvironmentRow>(`SELECT ${ENVIRONMENT_COLUMNS} FROM branches WHERE api_key = ? AND uid = ?`, [apiKey, uid]);
}

/** The environment `scope` names (its branch); undefined when there is none. */
export async function environmentOfScope(q: Queryable, scope: Scope): Promise<EnvironmentOf | undefined> {
  const row = await environmentRow(q, scope.api_key, scope.branch);
  return row && environmentOfRow(row);
}

/** The space's environments, oldest first (the order of listBranches). */
export async function listEnvironments(q: Queryable, scope: Scope): Promise<EnvironmentOf[]> {
  const rows = await q.all<EnvironmentRow>(`SELECT ${ENVIRONMENT_COLUMNS} FROM branches WHERE api_key = ? ORDER BY created_at, uid`, [scope.api_key]);
  return rows.map(environmentOfRow);
}

/** Longest environment name (characters): the dialect's limit for names (tags' too); Contentful documents none. */
const NAME_MAX = 64;

/**
 * The body of PUT/POST `.../environments`: `{ name }` (`sys`, read-only, is ignored).
 * No body or no name: undefined (named after its id). Any other field is refused: an environment has none.
 */
function nameOf(body: unknown): string | undefined {
  if (body === undefined || body === null) return undefined;
  const errors = fieldErrors();
  if (!isObject(body)) throw validationFailed(Object.assign(errors, { body: ['must be an environment: { "name": ... }'] }));
  for (const k of Object.keys(body)) if (k !== 'name' && k !== 'sys') errors[k] = ['is not a field of environments'];
  const name = body.name;
  if (name !== undefined && (typeof name !== 'string' || name.trim() === '' || name.trim().length > NAME_MAX)) {
    errors.name = [`must be a string of 1 to ${NAME_MAX} characters`];
  }
  if (Object.keys(errors).length) throw validationFailed(errors);
  return typeof name === 'string' ? name.trim() : undefined;
}

/**
 * A new environment id for `POST .../environments`: 12 lowercase hex digits, a branch uid
 * (ENVIRONMENT_ID; 16^12, ~2.8e14 ids: a clash with an existing branch is not retried; it would
 * answer 409 as a PUT does).
 */
export function newEnvironmentId(): string {
  return hexId(6);
}

/**
 * Makes environment `environmentId` named as `body` says, a copy of `sourceEnvironmentId`.
 * The id, then the body, are checked before anything is made.
 */
export async function createEnvironmentCopy(deps: ContentDeps, scope: Scope, environmentId: string, sourceEnvironmentId: string, body: unknown): Promise<EnvironmentOf> {
  if (!ENVIRONMENT_ID.test(environmentId)) {
    throw invalid('sys.id', 'must be lowercase letters, digits and underscores (at most 15): an environment is a Herald branch of that uid');
  }
  const name = nameOf(body);
  const copyMore = async (tx: Tx, uid: string, source: string) => {
    // publications_copied (store 028): the copy took its source's publications (none, when nothing was published there), which /v3's leaves behind.
    await tx.run('UPDATE branches SET contentful_name = ?, publications_copied = 1 WHERE api_key = ? AND uid = ?', [name ?? null, scope.api_key, uid]);
    await copyPublications(tx, uid, source);
  };
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
  const branch = await createBranch(deps, scope, { uid: branchOf(environmentId), source: branchOf(sourceEnvironmentId) }, copyMore);
  return { branch, name: name ?? environmentId, version: 1, updatedAt: branch.updated_at };
}

/**
 * A PUT to `.../environments/{id}`: without X-Contentful-Version (`sent` null; `environment.createWithId`)
 * or with 0, a new environment (createEnvironmentCopy; one that exists is a 409). With a version, a
 * rename of the environment that exists (`environment.update`): `sent` must be its current version
 * (else 409 VersionMismatch), the body is `{ name }` as when made (none: named after its id again),
 * and its version moves by one. Only the name changes: the content and the id stay. `created`
 * says which it was (201 or 200). Renaming master is a 422 naming `name`, as deleting it is a 422.
 */
export async function putEnvironment(
  deps: ContentDeps,
  scope: Scope,
  environmentId: string,
  sourceEnvironmentId: string,
  sent: number | null,
  body: unknown,
): Promise<{ environment: EnvironmentOf; created: boolean }> {
  if (sent !== null) {
    if (branchOf(environmentId) === 'main') throw validationFailed({ name: ['cannot be changed: the master environment cannot be renamed (as in Contentful)'] });
    const renamed = await renameEnvironment(deps, scope, environmentId, sent, body);
    if (renamed) return { environment: renamed, created: false };
    if (sent !== 0) throw notFound(`Environment ${environmentId}`);
  }
  return { environment: await createEnvironmentCopy(deps, scope, environmentId, sourceEnvironmentId, body), created: true };
}

/** Renames the environment (see putEnvironment); undefined when it does not exist. */
async function renameEnvironment(deps: ContentDeps, scope: Scope, environmentId: string, sent: number, body: unknown): Promise<EnvironmentOf | undefined> {
  if (!ENVIRONMENT_ID.test(branchOf(environmentId))) return undefined;
  const name = nameOf(body);
  return deps.db.tx(async (tx) => {
    const uid = branchOf(environmentId);
    const row = await environmentRow(tx, scope.api_key, uid);
    if (!row) return undefined;
    const current = Number(row.contentful_version);
    if (sent !== current) throw versionMismatch('the environment', sent, current);
    const renamed: EnvironmentRow = { ...row, contentful_name: name ?? null, contentful_version: current + 1, contentful_updated_at: Date.now() };
    // Checked against the version read: a rename that raced this one changed no row here.
    const { changes } = await tx.run('UPDATE branches SET contentful_name = ?, contentful_version = ?, contentful_updated_at = ? WHERE api_key = ? AND uid = ? AND contentful_version = ?', [
      renamed.contentful_name,
      renamed.contentful_version,
      renamed.contentful_updated_at,
      scope.api_key,
      uid,
      current,
    ]);
    if (changes === 0) throw versionMismatch('the environment', sent, current + 1);
    return environmentOfRow(renamed);
  });
}

/** Deletes the environment's branch with its content (`master` cannot be deleted). The Herald environment named after it stays (publishing there from /v3 may use it). */
export async function deleteEnvironmentOf(deps: ContentDeps, scope: Scope, environmentId: string): Promise<BranchDoc> {
  return deleteBranch(deps, scope, branchOf(environmentId));
}
