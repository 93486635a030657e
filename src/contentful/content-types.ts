import {
  createContentType,
  deleteContentType,
  getContentType,
  listContentTypes,
  updateContentType,
  type ContentTypeDoc,
} from '../content/content-types.ts';
import type { ContentDeps, Scope } from '../content/context.ts';
import { HeraldError, notFound } from '../errors.ts';
import { json, type Queryable, type Tx } from '../store/db.ts';
import { masterLocale } from '../content/locales.ts';
import { within } from './compose.ts';
import { onTypePublished } from './editor-interfaces.ts';
import { applyQuery, parseQuery } from './query.ts';
import { contentfulLocale, contentTypeEntity, contentTypeId, type Publication, type StoredContentType, type SysContext } from './entities.ts';
import { renameFields, validationFailed, versionMismatch } from './errors.ts';
import { contentfulIds, contentfulTypePath, fromContentfulType, heraldUid } from './schema.ts';

/**
 * Content types in the Contentful dialect, over src/content/content-types.ts (the same records as
 * /v3/content_types). Contentful's publish state of a content type is the dialect's own
 * (`contentful_content_types`): publishing records `ContentType.publish` (module content_type,
 * action publish) in the same transaction; unpublishing records `ContentType.unpublish`.
 *
 * Contentful's delivery and preview APIs show activated (published) content types only. A content
 * type the dialect makes is a draft until published, and one it unpublishes is a draft again
 * (`contentful_draft_content_types`); one made through /v3 is never a draft, since Contentstack
 * has no activation: it is delivered as soon as it exists (deliveredTypes).
 */

// Found by Contentful id in type-lookup.ts (editor-interfaces.ts uses them too, and this file uses it).
export { findType, requireType } from './type-lookup.ts';
import { findType, requireType } from './type-lookup.ts';

interface PublicationRow {
  published_version: number;
  published_counter: number;
  published_by: string;
  first_published_at: number;
  published_at: number;
}

async function publicationOf(q: Queryable, scope: Scope, uid: string): Promise<Publication | null> {
  const r = await q.get<PublicationRow>(
    'SELECT published_version, published_counter, published_by, first_published_at, published_at FROM contentful_content_types WHERE api_key = ? AND branch = ? AND uid = ?',
    [scope.api_key, scope.branch, uid],
  );
  if (!r) return null;
  return {
    version: Number(r.published_version),
    counter: Number(r.published_counter),
    by: r.published_by,
    firstAt: new Date(Number(r.first_published_at)).toISOString(),
    at: new Date(Number(r.published_at)).toISOString(),
  };
}

/** A content type as Contentful shows it. */
export async function presentType(q: Queryable, scope: Scope, ctx: SysContext, ct: ContentTypeDoc, types?: StoredContentType[]) {
  const ids = contentfulIds(types ?? (await listContentTypes(q, scope)));
  const s = {
    id: contentTypeId(ct),
    version: ct._version,
    createdAt: ct.created_at,
    updatedAt: ct.updated_at,
    createdBy: ct.created_by,
    updatedBy: ct.updated_by,
    published: await publicationOf(q, scope, ct.uid),
  };
  return contentTypeEntity(ct, ctx, s, ids);
}

/** Marks the content type a draft (draft: true) or activated (false), in the caller's transaction. */
async function setDraft(tx: Tx, scope: Scope, uid: string, draft: boolean) {
  if (draft) {
    await tx.run('INSERT INTO contentful_draft_content_types (api_key, branch, uid) VALUES (?, ?, ?) ON CONFLICT (api_key, branch, uid) DO NOTHING', [scope.api_key, scope.branch, uid]);
  } else {
    await tx.run('DELETE FROM contentful_draft_content_types WHERE api_key = ? AND branch = ? AND uid = ?', [scope.api_key, scope.branch, uid]);
  }
}

/**
 * The content types of the scope's branch that Contentful's delivery and preview APIs show: every
 * one but the dialect's drafts (see the top of this file), oldest first. `all`: the branch's
 * content types when the caller has them already.
 */
export async function deliveredTypes(q: Queryable, scope: Scope, all?: ContentTypeDoc[]): Promise<ContentTypeDoc[]> {
  const types = all ?? (await listContentTypes(q, scope));
  const drafts = await q.all<{ uid: string }>('SELECT uid FROM contentful_draft_content_types WHERE api_key = ? AND branch = ?', [scope.api_key, scope.branch]);
  if (drafts.length === 0) return types;
  const hidden = new Set(drafts.map((d) => d.uid));
  return types.filter((t) => !hidden.has(t.uid));
}

/**
 * Contentful's answer (400 BadRequest, its exact message, no details) to an entry made or published
 * on a content type that is not in the environment or was never activated.
 */
export const NOT_ACTIVATED = 'The content type you sent could not be found or was not activated.';

/**
 * The content type with Contentful id `id` if entries may be made and published on it: it exists
 * and is activated. Activated means not a draft (see the top of this file): one published once and
 * changed since keeps its activated version in Contentful, so its entries stay allowed; one made
 * through /v3 is never a draft. Contentful's refusal (NOT_ACTIVATED) otherwise.
 */
export async function activatedType(q: Queryable, scope: Scope, id: string): Promise<ContentTypeDoc> {
  const ct = await findType(q, scope, id);
  if (!ct) throw new HeraldError('bad_request', NOT_ACTIVATED);
  return requireActivated(q, scope, ct);
}

/** `ct` if it is activated (see activatedType); Contentful's refusal if it is a draft. */
export async function requireActivated(q: Queryable, scope: Scope, ct: ContentTypeDoc): Promise<ContentTypeDoc> {
  const draft = await q.get('SELECT 1 AS ok FROM contentful_draft_content_types WHERE api_key = ? AND branch = ? AND uid = ?', [scope.api_key, scope.branch, ct.uid]);
  if (draft) throw new HeraldError('bad_request', NOT_ACTIVATED);
  return ct;
}

export async function listTypes(q: Queryable, scope: Scope, ctx: SysContext) {
  const types = await listContentTypes(q, scope);
  return Promise.all(types.map((ct) => presentType(q, scope, ctx, ct, types)));
}

/** Each content type's definition when it was last activated (published_doc, migration 019), by uid. */
async function activatedDocs(q: Queryable, scope: Scope): Promise<Map<string, ContentTypeDoc>> {
  const rows = await q.all<{ uid: string; published_doc: string | null }>('SELECT uid, published_doc FROM contentful_content_types WHERE api_key = ? AND branch = ?', [
    scope.api_key,
    scope.branch,
  ]);
  return new Map(rows.filter((r) => r.published_doc !== null).map((r) => [r.uid, json<ContentTypeDoc>(r.published_doc!)]));
}

/**
 * The content types as they were last activated: deliveredTypes (drafts left out), each one's
 * definition when it was activated (published_doc, migration 019). One made through /v3 (never a
 * draft, no activation) is as it is, as is one activated before migration 019 (it has no stored
 * definition): exact while unchanged since, else its current definition until it is activated
 * again (the README says so). `all`: the branch's content types when the caller has them already.
 * What Contentful's CMA `public/content_types` and its delivery and preview APIs show, and the
 * definitions those APIs read entries against: a field saved since and not activated is not served,
 * fields follow the activated order, an activated `omitted` field is left out (contentfulFields'
 * `delivery`). An entry on a draft is not served at all (no definition here): Contentful has no
 * entries on a content type never activated (its CMA refuses them, NOT_ACTIVATED, and a content type
 * with entries is not deactivated); Herald's come only through /v3 or a restore.
 */
export async function activatedDefinitions(q: Queryable, scope: Scope, all?: ContentTypeDoc[]): Promise<ContentTypeDoc[]> {
  const types = all ?? (await listContentTypes(q, scope));
  const activated = await activatedDocs(q, scope);
  return (await deliveredTypes(q, scope, types)).map((ct) => activated.get(ct.uid) ?? ct);
}

/**
 * The content types as they were last activated (`GET .../public/content_types`, Contentful's "activated
 * versions of content types, ignoring any changes made since the last activation"): activatedDefinitions.
 */
export async function activatedTypes(q: Queryable, scope: Scope, ctx: SysContext) {
  const types = await listContentTypes(q, scope);
  const shown = await activatedDefinitions(q, scope, types);
  return Promise.all(shown.map((ct) => presentType(q, scope, ctx, ct, types)));
}

/**
 * The content types of the environment as Contentful's collection query asks
 * (src/contentful/query.ts: sys.*, name, description, displayField, query, order, select, skip,
 * limit; anything else is a 400 naming it), oldest first unless `order` says otherwise. `activated`:
 * as last activated (activatedTypes), else as they are.
 */
export async function queryTypes(q: Queryable, scope: Scope, ctx: SysContext, params: Record<string, unknown>, activated = false) {
  const master = await masterLocale(q, scope.api_key);
  const parsed = parseQuery(params, { kind: 'ContentType', locales: { codes: [contentfulLocale(master)], default: contentfulLocale(master) } });
  return { ...applyQuery(await (activated ? activatedTypes : listTypes)(q, scope, ctx), parsed), page: parsed };
}

/** Checks a Contentful definition against the branch; the Contentstack body to save. */
async function contentstackBody(tx: Tx, scope: Scope, id: string, raw: unknown, current?: ContentTypeDoc) {
  const types = await listContentTypes(tx, scope);
  const pending = new Set<string>();
  const { body, errors } = fromContentfulType(raw, {
    id,
    uidOf: (cid) => types.find((t) => contentTypeId(t) === cid)?.uid,
    allUids: types.map((t) => t.uid),
    pending,
  });
  if (Object.keys(errors).length) throw validationFailed(errors);
  // Options Herald or /v3 set (singleton...) stay; the dialect's own are replaced.
  body.options = { ...(current?.options ?? {}), ...(body.options as object) };
  if (current) body.uid = current.uid;
  return { body, pending };
}

const inContentfulTerms = (err: unknown, schema: ContentTypeDoc['schema'] = []) => renameFields(err, (p) => contentfulTypePath(p, schema));

/**
 * Creates a content type. `id` absent (POST): one is made from the name, as a Herald uid, with a
 * number appended when taken.
 */
export async function createType(deps: ContentDeps, scope: Scope, ctx: SysContext, id: string | undefined, raw: unknown) {
  return deps.db.tx(async (tx) => {
    let cid = id;
    if (cid === undefined) {
      const name = (raw as { name?: unknown } | null)?.name;
      const base = heraldUid(typeof name === 'string' && name.trim() ? name.trim().replace(/\s+/g, '_') : 'content_type');
      cid = base;
      for (let n = 2; await getContentType(tx, scope, cid); n++) cid = `${base}_${n}`.slice(0, 64);
    } else if (await findType(tx, scope, cid)) {
      throw new HeraldError('conflict', `Content type ${cid} already exists.`, { errors: { 'sys.id': ['already exists'] } });
    }
    const { body, pending } = await contentstackBody(tx, scope, cid, raw);
    let ct: ContentTypeDoc;
    try {
      ct = await createContentType(within(deps, tx), scope, body, { pendingReferences: pending });
    } catch (err) {
      throw inContentfulTerms(err, body.schema as ContentTypeDoc['schema']);
    }
    // A content type of this uid deleted through /v3 may have left its publish state behind.
    await tx.run('DELETE FROM contentful_content_types WHERE api_key = ? AND branch = ? AND uid = ?', [scope.api_key, scope.branch, ct.uid]);
    await tx.run('DELETE FROM contentful_editor_interfaces WHERE api_key = ? AND branch = ? AND content_type_uid = ?', [scope.api_key, scope.branch, ct.uid]);
    await setDraft(tx, scope, ct.uid, true);
    return presentType(tx, scope, ctx, ct);
  });
}

export async function updateType(deps: ContentDeps, scope: Scope, ctx: SysContext, id: string, sent: number | null, raw: unknown) {
  return deps.db.tx(async (tx) => {
    const current = await requireType(tx, scope, id);
    if (sent !== current._version) throw versionMismatch('the content type', sent, current._version);
    const { body, pending } = await contentstackBody(tx, scope, id, raw, current);
    let ct: ContentTypeDoc;
    try {
      ct = await updateContentType(within(deps, tx), scope, current.uid, body, { pendingReferences: pending });
    } catch (err) {
      throw inContentfulTerms(err, body.schema as ContentTypeDoc['schema']);
    }
    return presentType(tx, scope, ctx, ct);
  });
}

async function record(deps: ContentDeps, tx: Tx, scope: Scope, action: 'publish' | 'unpublish', ct: ContentTypeDoc, published: Publication | null) {
  await deps.events.record(tx, {
    api_key: scope.api_key,
    branch: scope.branch,
    module: 'content_type',
    action,
    uid: ct.uid,
    content_type_uid: ct.uid,
    actor: scope.caller.actor,
    actor_name: scope.caller.name ?? null,
    data: published ? { content_type: ct, published } : { content_type: ct },
  });
}

/** Publishes (activates) a content type at its current version; `sent` must be that version. */
export async function publishType(deps: ContentDeps, scope: Scope, ctx: SysContext, id: string, sent: number | null) {
  return deps.db.tx(async (tx) => {
    const ct = await requireType(tx, scope, id);
    if (sent !== ct._version) throw versionMismatch('the content type', sent, ct._version);
    const now = Date.now();
    await tx.run(
      `INSERT INTO contentful_content_types (api_key, branch, uid, published_version, published_counter, published_by, first_published_at, published_at, published_doc)
       VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?)
       ON CONFLICT (api_key, branch, uid) DO UPDATE SET published_version = excluded.published_version,
         published_counter = contentful_content_types.published_counter + 1, published_by = excluded.published_by, published_at = excluded.published_at,
         published_doc = excluded.published_doc`,
      [scope.api_key, scope.branch, ct.uid, ct._version, scope.caller.actor, now, now, JSON.stringify(ct)],
    );
    await setDraft(tx, scope, ct.uid, false);
    await record(deps, tx, scope, 'publish', ct, await publicationOf(tx, scope, ct.uid));
    await onTypePublished(tx, scope, ct);
    return presentType(tx, scope, ctx, ct);
  });
}

/**
 * Contentful's refusals of a deactivation (recorded answers of its CMA, in contentful-management.rb's
 * test cassettes content_type/deactivate_with_entries and deactivate_already_deactivated): 400
 * BadRequest with these messages and empty details. A content type with entries (any locale,
 * archived too) stays activated: delete its entries first, as Contentful's help says before deleting one.
 */
export const HAS_ENTRIES = 'Content Type has entries';
export const NOT_PUBLISHED = 'Not published';

/** Deactivates (unpublishes) a content type: refused while it has entries, or when it is not activated. */
export async function unpublishType(deps: ContentDeps, scope: Scope, ctx: SysContext, id: string) {
  return deps.db.tx(async (tx) => {
    const ct = await requireType(tx, scope, id);
    const entry = await tx.get('SELECT 1 AS ok FROM entries WHERE api_key = ? AND branch = ? AND content_type_uid = ? LIMIT 1', [scope.api_key, scope.branch, ct.uid]);
    if (entry) throw new HeraldError('bad_request', HAS_ENTRIES);
    const { changes } = await tx.run('DELETE FROM contentful_content_types WHERE api_key = ? AND branch = ? AND uid = ?', [scope.api_key, scope.branch, ct.uid]);
    if (changes === 0) throw new HeraldError('bad_request', NOT_PUBLISHED);
    await setDraft(tx, scope, ct.uid, true);
    await record(deps, tx, scope, 'unpublish', ct, null);
    return presentType(tx, scope, ctx, ct);
  });
}

/** Deletes a content type (src/content refuses while it has entries or is referenced; its activation and draft mark go with it). */
export async function deleteType(deps: ContentDeps, scope: Scope, id: string) {
  await deps.db.tx(async (tx) => {
    const ct = await requireType(tx, scope, id);
    await deleteContentType(within(deps, tx), scope, ct.uid);
  });
}
