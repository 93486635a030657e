import { HeraldError, notFound } from '../errors.ts';
import type { Queryable, Tx } from '../store/db.ts';
import type { ContentDeps, Scope } from './context.ts';
import { throwIfErrors } from './field-errors.ts';
import { schemaDocs, type SchemaDoc } from './schema-docs.ts';
import { globalFieldsReferencing, globalFieldUids, resolveGlobalFields } from './global-fields.ts';
import { checkContentType, type ContentTypeInput, type Field, referencedContentTypes } from './schema.ts';

/**
 * Content types: the schema entries are checked against. One per uid per branch; every change
 * bumps `_version` and records its event in the same transaction. Reads give global_field fields
 * their global field's schema (src/content/global-fields.ts); the store keeps the reference only.
 */
export interface ContentTypeDoc extends SchemaDoc {
  options: Record<string, unknown>;
}

/** The rows (global_field fields stored without their schema). */
const stored = schemaDocs<ContentTypeDoc>('content_types', 'Content type', 'content_type');

/** The content type with its global fields' schemas resolved. */
export async function getContentType(q: Queryable, scope: Scope, uid: string): Promise<ContentTypeDoc | undefined> {
  const doc = await stored.get(q, scope, uid);
  return doc ? (await resolveGlobalFields(q, scope, [doc]))[0] : undefined;
}

/** The content type, or a 404 naming it. */
export async function requireContentType(q: Queryable, scope: Scope, uid: string): Promise<ContentTypeDoc> {
  const ct = await getContentType(q, scope, uid);
  if (!ct) throw notFound(`Content type '${uid}'`);
  return ct;
}

/**
 * requireContentType, with the content type's JSON text: the stored row's (no stringify) when no
 * global field was resolved into it, which is the common case. An entry's save puts it in its
 * event's data (entries.ts record). Without global fields the doc is the row's shared, frozen one
 * (schema-docs.ts ParsedTexts): read it, never change it.
 */
export async function requireContentTypeWithText(q: Queryable, scope: Scope, uid: string): Promise<{ ct: Readonly<ContentTypeDoc>; text: string }> {
  const row = await stored.getWithText(q, scope, uid);
  if (!row) throw notFound(`Content type '${uid}'`);
  const [ct] = await resolveGlobalFields(q, scope, [row.doc]);
  return { ct, text: ct === row.doc ? row.text : JSON.stringify(ct) };
}

export async function listContentTypes(q: Queryable, scope: Scope): Promise<ContentTypeDoc[]> {
  return resolveGlobalFields(q, scope, await stored.list(q, scope));
}

function toInput(doc: ContentTypeDoc): ContentTypeInput {
  return { uid: doc.uid, title: doc.title, description: doc.description, schema: doc.schema, options: doc.options };
}

async function record(deps: ContentDeps, tx: Tx, scope: Scope, action: 'create' | 'update' | 'delete', doc: ContentTypeDoc, before?: ContentTypeDoc) {
  await deps.events.record(tx, {
    api_key: scope.api_key,
    branch: scope.branch,
    module: 'content_type',
    action,
    uid: doc.uid,
    content_type_uid: doc.uid,
    actor: scope.caller.actor,
    actor_name: scope.caller.name ?? null,
    data: { content_type: (await resolveGlobalFields(tx, scope, [doc]))[0] },
    ...(before ? { versions: { before, after: doc } } : {}),
  });
}

/** `opts.pendingReferences`: content type uids references may name before they exist (see checkContentType). */
export async function createContentType(deps: ContentDeps, scope: Scope, raw: unknown, opts: { pendingReferences?: ReadonlySet<string> } = {}): Promise<ContentTypeDoc> {
  return deps.db.tx(async (tx) => {
    const { value, errors } = checkContentType(raw, { contentTypes: await stored.uids(tx, scope), pendingReferences: opts.pendingReferences, globalFields: await globalFieldUids(tx, scope) });
    throwIfErrors(errors);
    const doc = await stored.insert(tx, scope, value, { inbuilt_class: false, maintain_revisions: true, last_activity: {} });
    await record(deps, tx, scope, 'create', doc);
    return (await resolveGlobalFields(tx, scope, [doc]))[0];
  });
}

/**
 * Updates title, description, schema and options (keys not sent keep their value; system keys
 * the client echoes back are ignored). Existing entries are not rewritten: one that no longer
 * fits the schema fails validation when next saved or published.
 */
export async function updateContentType(deps: ContentDeps, scope: Scope, uid: string, raw: unknown, opts: { pendingReferences?: ReadonlySet<string> } = {}): Promise<ContentTypeDoc> {
  return deps.db.tx(async (tx) => {
    const current = await stored.get(tx, scope, uid);
    if (!current) throw notFound(`Content type '${uid}'`);
    const { value, errors } = checkContentType(raw, {
      contentTypes: await stored.uids(tx, scope),
      current: toInput(current),
      pendingReferences: opts.pendingReferences,
      globalFields: await globalFieldUids(tx, scope),
    });
    throwIfErrors(errors);
    const doc = stored.next(scope, current, value);
    await stored.write(tx, scope, doc);
    await record(deps, tx, scope, 'update', doc, current);
    return (await resolveGlobalFields(tx, scope, [doc]))[0];
  });
}

/**
 * Removes a content type's entries inside deleteContentType's transaction, before the type goes:
 * each with its own delete event (src/content/entries.ts `deleteContentTypeWithEntries`).
 * `uids` are the type's entries, in uid order.
 */
export type EntriesRemover = (tx: Tx, ct: ContentTypeDoc, uids: string[]) => Promise<void>;

/**
 * Deletes a content type, refused (409) while another content type or a global field references
 * it (its reference fields would name nothing). Its entries go first through `removeEntries`,
 * in the same transaction, so a receiver gets each entry's delete before the type's, or nothing;
 * without a remover a type that has entries is refused (409), as the Contentful dialect needs.
 */
export async function deleteContentType(deps: ContentDeps, scope: Scope, uid: string, removeEntries?: EntriesRemover): Promise<ContentTypeDoc> {
  return deps.db.tx(async (tx) => {
    const current = await requireContentType(tx, scope, uid);
    const referrers = [
      ...(await listContentTypes(tx, scope)).filter((ct) => ct.uid !== uid && referencedContentTypes(ct.schema).has(uid)).map((ct) => ct.uid),
      ...(await globalFieldsReferencing(tx, scope, uid)).map((g) => `global field ${g}`),
    ];
    if (referrers.length) {
      throw new HeraldError('conflict', `Content type '${uid}' is referenced by ${referrers.join(', ')}; change their reference fields first.`, {
        errors: { content_type: [`is referenced by ${referrers.join(', ')}`] },
      });
    }
    const entries = (await tx.all<{ uid: string }>('SELECT DISTINCT uid FROM entries WHERE api_key = ? AND branch = ? AND content_type_uid = ? ORDER BY uid', [scope.api_key, scope.branch, uid])).map((r) => r.uid);
    if (entries.length && !removeEntries) {
      throw new HeraldError('conflict', `Content type '${uid}' still has ${entries.length} entries; delete them first.`, { errors: { content_type: ['has entries'] } });
    }
    if (entries.length) await removeEntries!(tx, current, entries);
    await stored.remove(tx, scope, uid);
    // The Contentful dialect's activation and editor interface go with it (its draft mark goes by
    // foreign key): a content type made again with this uid starts unactivated, not with the deleted
    // one's published definition or editor interface.
    await tx.run('DELETE FROM contentful_content_types WHERE api_key = ? AND branch = ? AND uid = ?', [scope.api_key, scope.branch, uid]);
    await tx.run('DELETE FROM contentful_editor_interfaces WHERE api_key = ? AND branch = ? AND content_type_uid = ?', [scope.api_key, scope.branch, uid]);
    await record(deps, tx, scope, 'delete', current);
    return current;
  });
}
