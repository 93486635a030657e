import { HeraldError, invalid, notFound, type FieldErrors } from '../errors.ts';
import { json, type Queryable, type Tx } from '../store/db.ts';
import { iso, type ContentDeps, type Scope } from './context.ts';
import * as files from './files.ts';
import { addError, throwIfErrors } from './field-errors.ts';
import { isObject } from './guards.ts';

/**
 * Branches: independent copies of a stack's content (content types, entries with their versions,
 * assets with their files, and what the Contentful dialect keeps per branch). `main` always exists
 * and cannot be deleted. A new branch starts as a copy of its source; publish state of entries and
 * assets is not copied (a new branch starts unpublished; a Contentful environment copies its own:
 * src/contentful/environments.ts), and environments and locales are shared by all branches.
 *
 * Creating or deleting a branch records no content events: no entry, asset or content type
 * changed in any branch that existed before.
 */
export interface BranchDoc {
  uid: string;
  source: string;
  alias: Array<{ uid: string }>;
  created_at: string;
  updated_at: string;
  created_by?: string;
  updated_by?: string;
  [key: string]: unknown;
}

/** Contentstack's rule: lowercase letters, digits and underscores, at most 15. */
const BRANCH_UID = /^[a-z0-9_]{1,15}$/;

/** Whether stack `apiKey` has branch `uid` (`main` always exists). The one look-up of a branch by uid. */
export async function branchExists(q: Queryable, apiKey: string, uid: string): Promise<boolean> {
  return Boolean(await q.get('SELECT 1 AS ok FROM branches WHERE api_key = ? AND uid = ?', [apiKey, uid]));
}

/** The uids of a stack's branches, oldest first. */
export async function branchUids(q: Queryable, apiKey: string): Promise<string[]> {
  return (await q.all<{ uid: string }>('SELECT uid FROM branches WHERE api_key = ? ORDER BY created_at, uid', [apiKey])).map((r) => r.uid);
}

export async function listBranches(q: Queryable, scope: Scope): Promise<BranchDoc[]> {
  const rows = await q.all<{ doc: string }>('SELECT doc FROM branches WHERE api_key = ? ORDER BY created_at, uid', [scope.api_key]);
  return rows.map((r) => json<BranchDoc>(r.doc));
}

/**
 * How each of a stack's branches was made, oldest first (Herald's own record, GET /v3/herald/branches).
 * `publications_copied`: true when its copy took its source environment's publications (made through
 * the Contentful dialect), false when made through /v3 (its copy starts unpublished) and for main,
 * null for a branch made before Herald recorded it (store 028) whose making nothing tells.
 */
export interface BranchOrigin {
  uid: string;
  source: string | null;
  publications_copied: boolean | null;
}

export async function branchOrigins(q: Queryable, apiKey: string): Promise<BranchOrigin[]> {
  const rows = await q.all<{ uid: string; source: string | null; publications_copied: number | string | null }>(
    'SELECT uid, source, publications_copied FROM branches WHERE api_key = ? ORDER BY created_at, uid',
    [apiKey],
  );
  return rows.map((r) => ({ uid: r.uid, source: r.source, publications_copied: r.publications_copied === null ? null : Number(r.publications_copied) === 1 }));
}

export async function getBranch(q: Queryable, scope: Scope, uid: string): Promise<BranchDoc> {
  const row = await q.get<{ doc: string }>('SELECT doc FROM branches WHERE api_key = ? AND uid = ?', [scope.api_key, uid]);
  if (!row) throw notFound(`Branch ${uid}`);
  return json<BranchDoc>(row.doc);
}

/**
 * Tables copied row for row into a new branch (assets are copied with their files, below), each
 * after the table its rows point at. The Contentful dialect's state goes with its content: content
 * types keep their activation (published version, or draft mark), entries and assets their
 * `sys.version` offset and last published version (versions.ts: while nothing is published in the
 * copy, that reads as unpublished), tags and editor interfaces as saved (a Contentful environment
 * is a branch: src/contentful/content-types.ts). test/contentful/environments.test.ts checks every
 * table with a `branch` column is here or in NOT_COPIED.
 */
export const COPIED: ReadonlyArray<{ table: string; columns: string }> = [
  { table: 'content_types', columns: 'uid, version, doc, created_at, updated_at' },
  { table: 'contentful_draft_content_types', columns: 'uid' },
  { table: 'contentful_content_types', columns: 'uid, published_version, published_counter, published_by, first_published_at, published_at, published_doc' },
  { table: 'contentful_editor_interfaces', columns: 'content_type_uid, version, doc, created_by, updated_by, created_at, updated_at' },
  { table: 'contentful_tags', columns: 'id, name, visibility, version, created_by, updated_by, created_at, updated_at' },
  { table: 'global_fields', columns: 'uid, version, doc, created_at, updated_at' },
  { table: 'entries', columns: 'uid, locale, content_type_uid, version, archived, doc, created_at, updated_at' },
  { table: 'entry_versions', columns: 'uid, locale, version, action, actor, doc, created_at' },
  { table: 'contentful_versions', columns: 'module, uid, bumps, published_version, published_sum' },
];

/** Tables with a `branch` column that a new branch does not copy row for row, and why. */
export const NOT_COPIED: Readonly<Record<string, string>> = {
  assets: 'copied with their files (each copy its own file), below',
  publications: "a new branch starts unpublished (Contentstack's branches); a Contentful environment copies its own publications (src/contentful/environments.ts)",
  events: 'the log of changes that happened; creating a branch changes nothing that existed',
  schedules: "a scheduled publish belongs to the branch it was asked in (Contentful's environment copy leaves scheduled actions behind too)",
  retired_asset_files: "earlier files of the source's assets: the copy's assets start at their current file; their earlier versions' rows come as tombstones, below",
};

/** Tables deleted with a branch (the event log stays); contentful_draft_content_types goes with content_types by foreign key. */
const DELETED = ['content_types', 'contentful_content_types', 'contentful_editor_interfaces', 'contentful_tags', 'global_fields', 'entries', 'entry_versions', 'contentful_versions', 'assets', 'retired_asset_files', 'publications', 'schedules'];

/** Copies more into a new branch, in the transaction that makes it (the Contentful dialect's publications). */
export type CopyMore = (tx: Tx, uid: string, source: string) => Promise<void>;

export async function createBranch(deps: ContentDeps, scope: Scope, raw: unknown, copyMore?: CopyMore): Promise<BranchDoc> {
  if (!isObject(raw)) throw invalid('branch', raw === undefined ? 'is required: { uid, source }' : 'must be an object');
  const errors: FieldErrors = {};
  if (typeof raw.uid !== 'string' || !BRANCH_UID.test(raw.uid)) {
    addError(errors, 'branch.uid', raw.uid === undefined ? 'is required' : 'must be lowercase letters, digits and underscores (at most 15)');
  }
  const source = raw.source === undefined || raw.source === '' ? 'main' : raw.source;
  if (typeof source !== 'string') addError(errors, 'branch.source', 'must be a branch uid');
  throwIfErrors(errors);
  const uid = raw.uid as string;
  const made: string[] = [];
  try {
    return await deps.db.tx(async (tx) => {
      if (await tx.get('SELECT 1 AS ok FROM branches WHERE api_key = ? AND uid = ?', [scope.api_key, uid])) {
        throw new HeraldError('conflict', `Branch ${uid} already exists.`, { errors: { 'branch.uid': ['already exists'] } });
      }
      if (!(await tx.get('SELECT 1 AS ok FROM branches WHERE api_key = ? AND uid = ?', [scope.api_key, source]))) {
        throw invalid('branch.source', `names branch '${source}', which does not exist`);
      }
      const now = Date.now();
      const doc: BranchDoc = {
        uid,
        source: source as string,
        alias: [],
        created_at: iso(now),
        updated_at: iso(now),
        created_by: scope.caller.actor,
        updated_by: scope.caller.actor,
        deleted_at: false,
      };
      // publications_copied 0: this copy leaves publications behind; the Contentful dialect's copyMore sets 1 (store 028).
      await tx.run('INSERT INTO branches (api_key, uid, source, doc, created_at, publications_copied) VALUES (?, ?, ?, ?, ?, 0)', [scope.api_key, uid, source, JSON.stringify(doc), now]);
      for (const { table, columns } of COPIED) {
        await tx.run(`INSERT INTO ${table} (api_key, branch, ${columns}) SELECT api_key, ?, ${columns} FROM ${table} WHERE api_key = ? AND branch = ?`, [
          uid,
          scope.api_key,
          source,
        ]);
      }
      const assets = await tx.all<{ uid: string; version: number; archived: number; file: string; doc: string; created_at: number; updated_at: number }>(
        'SELECT uid, version, archived, file, doc, created_at, updated_at FROM assets WHERE api_key = ? AND branch = ?',
        [scope.api_key, source],
      );
      for (const a of assets) {
        const file = await files.duplicate(deps.assetsDir, scope.api_key, a.file);
        made.push(file);
        await tx.run('INSERT INTO assets (api_key, branch, uid, version, archived, file, doc, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)', [
          scope.api_key,
          uid,
          a.uid,
          a.version,
          a.archived,
          file,
          a.doc,
          a.created_at,
          a.updated_at,
        ]);
      }
      // The copied assets' earlier files stay behind, but which versions had another file than the
      // current one comes along as tombstones (files.NOT_HELD, created_seq 0 as the copies'): a
      // download of such a version on the branch is a 404 saying so, not the copy's current file.
      // Only rows of each asset's current incarnation (the source's created_seq): a deleted one's are not its.
      await tx.run(
        `INSERT INTO retired_asset_files (api_key, branch, uid, created_seq, until_version, file, filename, content_type, retired_at)
         SELECT r.api_key, ?, r.uid, 0, r.until_version, ?, r.filename, r.content_type, r.retired_at FROM retired_asset_files r
         JOIN assets a ON a.api_key = r.api_key AND a.branch = r.branch AND a.uid = r.uid AND a.created_seq = r.created_seq
         WHERE r.api_key = ? AND r.branch = ?`,
        [uid, files.NOT_HELD, scope.api_key, source],
      );
      if (copyMore) await copyMore(tx, uid, source as string);
      return doc;
    });
  } catch (err) {
    for (const f of made) await files.remove(deps.assetsDir, f).catch(() => {});
    throw err;
  }
}

/** Deletes a branch and all its content; its asset files are removed once that committed. */
export async function deleteBranch(deps: ContentDeps, scope: Scope, uid: string): Promise<BranchDoc> {
  if (uid === 'main') throw invalid('branch', 'main cannot be deleted');
  return deps.db.tx(async (tx) => {
    const doc = await getBranch(tx, scope, uid);
    const assetFiles = await tx.all<{ file: string }>(
      'SELECT file FROM assets WHERE api_key = ? AND branch = ? UNION ALL SELECT file FROM retired_asset_files WHERE api_key = ? AND branch = ? AND file <> ?',
      [scope.api_key, uid, scope.api_key, uid, files.NOT_HELD],
    );
    for (const table of DELETED) {
      await tx.run(`DELETE FROM ${table} WHERE api_key = ? AND branch = ?`, [scope.api_key, uid]);
    }
    await tx.run('DELETE FROM branches WHERE api_key = ? AND uid = ?', [scope.api_key, uid]);
    tx.afterCommit(() => {
      for (const a of assetFiles) void files.remove(deps.assetsDir, a.file).catch(() => {});
    });
    return doc;
  });
}
