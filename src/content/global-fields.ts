import { HeraldError, notFound } from '../errors.ts';
import { json, type Queryable } from '../store/db.ts';
import type { ContentDeps, Scope } from './context.ts';
import { throwIfErrors } from './field-errors.ts';
import { schemaDocs, type SchemaDoc } from './schema-docs.ts';
import { checkContentType, embeddedGlobalFields, isGroupLike, referencedContentTypes, type ContentTypeInput, type Field } from './schema.ts';

/**
 * Global fields (Contentstack's `/v3/global_fields`): a schema defined once and embedded in any
 * content type as a `global_field` field (`reference_to`: the global field's uid). Entries hold a
 * global field's values as they hold a group's.
 *
 * Stored content types keep only the reference; `resolveGlobalFields` fills in the global field's
 * schema whenever a content type is read (src/content/content-types.ts), so a change to a global
 * field applies to every content type that embeds it at once, and existing entries are checked
 * against it when next saved or published (as after a content type change).
 *
 * No event is recorded for a global field change: Contentstack has no webhook channel for global
 * fields (its channels cover content types, entries, assets, releases, workflows, branches), so a
 * webhook could not subscribe to one. The content types embedding it are not changed and record
 * nothing either.
 *
 * A global field may embed other global fields (Contentstack's nested global fields), never
 * itself, directly or through others.
 */
export interface GlobalFieldDoc extends SchemaDoc {
  /** As saved: global_field fields in it carry `reference_to` only. */
  schema: Field[];
}

const stored = schemaDocs<GlobalFieldDoc>('global_fields', 'Global field', 'global_field');

export async function getGlobalField(q: Queryable, scope: Scope, uid: string): Promise<GlobalFieldDoc | undefined> {
  return stored.get(q, scope, uid);
}

/** The global field, or a 404 naming it. */
export async function requireGlobalField(q: Queryable, scope: Scope, uid: string): Promise<GlobalFieldDoc> {
  const gf = await getGlobalField(q, scope, uid);
  if (!gf) throw notFound(`Global field '${uid}'`);
  return gf;
}

/** Every global field of the branch, oldest first, as saved. */
export async function listGlobalFields(q: Queryable, scope: Scope): Promise<GlobalFieldDoc[]> {
  return stored.list(q, scope);
}

/**
 * A schema with every global_field field given its global field's schema (resolved in turn), from
 * `byUid`. A global field that is missing, or that would embed itself, resolves to no fields.
 * Returns the schema itself when it embeds none (no copy).
 */
export function resolveSchema(schema: Field[], byUid: ReadonlyMap<string, { schema: Field[] }>, within: ReadonlySet<string> = new Set()): Field[] {
  if (!schema.some(isGroupLike)) return schema;
  return schema.map((f) => {
    if (f.data_type === 'group') return { ...f, schema: resolveSchema(f.schema ?? [], byUid, within) };
    if (f.data_type !== 'global_field' || typeof f.reference_to !== 'string') return f;
    const gf = byUid.get(f.reference_to);
    if (!gf || within.has(f.reference_to)) return { ...f, schema: [] };
    return { ...f, schema: resolveSchema(gf.schema, byUid, new Set([...within, f.reference_to])) };
  });
}

/**
 * Resolves the global_field fields of each schema (one read of the branch's global fields, only
 * when one of them embeds any).
 */
export async function resolveGlobalFields<T extends { schema: Field[] }>(q: Queryable, scope: Scope, docs: T[]): Promise<T[]> {
  if (!docs.some((d) => embeddedGlobalFields(d.schema).size > 0)) return docs;
  const byUid = new Map((await listGlobalFields(q, scope)).map((g) => [g.uid, g]));
  return docs.map((d) => ({ ...d, schema: resolveSchema(d.schema, byUid) }));
}

/**
 * A schema as Contentstack's management API shows it without `include_global_field_schema`:
 * global_field fields carry their reference, not the global field's schema.
 */
export function withoutGlobalFieldSchemas(schema: Field[]): Field[] {
  if (!schema.some(isGroupLike)) return schema;
  return schema.map((f) => {
    if (f.data_type === 'global_field') {
      const { schema: _dropped, ...rest } = f;
      return rest as Field;
    }
    return f.data_type === 'group' ? { ...f, schema: withoutGlobalFieldSchemas(f.schema ?? []) } : f;
  });
}

export async function globalFieldUids(q: Queryable, scope: Scope): Promise<Set<string>> {
  return stored.uids(q, scope);
}

/** Content type uids (a global field's reference fields may name them); content-types.ts imports this file, so not from there. */
const contentTypeUids = schemaDocs('content_types', 'Content type', 'content_type').uids;

/** The chain of global fields through which `start` embeds `target`, or undefined. */
function embedPath(start: string, target: string, byUid: ReadonlyMap<string, { schema: Field[] }>, seen = new Set<string>()): string[] | undefined {
  if (seen.has(start)) return undefined;
  seen.add(start);
  for (const next of embeddedGlobalFields(byUid.get(start)?.schema ?? [])) {
    if (next === target) return [start, next];
    const rest = embedPath(next, target, byUid, seen);
    if (rest) return [start, ...rest];
  }
  return undefined;
}

/** A 422 when the global field `doc` would embed itself through the others. */
async function refuseCycles(q: Queryable, scope: Scope, doc: GlobalFieldDoc) {
  const byUid = new Map((await listGlobalFields(q, scope)).map((g) => [g.uid, g]));
  byUid.set(doc.uid, doc);
  for (const f of doc.schema) {
    if (f.data_type !== 'global_field' || typeof f.reference_to !== 'string') continue;
    const path = embedPath(f.reference_to, doc.uid, byUid);
    if (path) {
      throw new HeraldError('validation_failed', `global_field.schema.${f.uid}.reference_to embeds '${doc.uid}' again (${[doc.uid, ...path].join(' -> ')})`, {
        errors: { [`global_field.schema.${f.uid}.reference_to`]: [`embeds '${doc.uid}' again (${[doc.uid, ...path].join(' -> ')}): a global field cannot embed itself`] },
      });
    }
  }
}

function check(raw: unknown, ctx: { contentTypes: Set<string>; globalFields: Set<string>; current?: ContentTypeInput }) {
  const { value, errors } = checkContentType(raw, { ...ctx, kind: 'global_field' });
  throwIfErrors(errors);
  const { options: _options, ...rest } = value;
  return rest;
}

export async function createGlobalField(deps: ContentDeps, scope: Scope, raw: unknown): Promise<GlobalFieldDoc> {
  return deps.db.tx(async (tx) => {
    const value = check(raw, { contentTypes: await contentTypeUids(tx, scope), globalFields: await globalFieldUids(tx, scope) });
    return stored.insert(tx, scope, value, { inbuilt_class: false, maintain_revisions: true });
  });
}

/** Updates title, description and schema (keys not sent keep their value; system keys echoed back are ignored). */
export async function updateGlobalField(deps: ContentDeps, scope: Scope, uid: string, raw: unknown): Promise<GlobalFieldDoc> {
  return deps.db.tx(async (tx) => {
    const current = await requireGlobalField(tx, scope, uid);
    const value = check(raw, {
      contentTypes: await contentTypeUids(tx, scope),
      globalFields: await globalFieldUids(tx, scope),
      current: { uid: current.uid, title: current.title, description: current.description, schema: current.schema, options: {} },
    });
    const doc = stored.next(scope, current, value);
    await refuseCycles(tx, scope, doc);
    await stored.write(tx, scope, doc);
    return doc;
  });
}

/** Deletes a global field; refused while a content type or another global field embeds it. */
export async function deleteGlobalField(deps: ContentDeps, scope: Scope, uid: string): Promise<GlobalFieldDoc> {
  return deps.db.tx(async (tx) => {
    const current = await requireGlobalField(tx, scope, uid);
    const cts = await tx.all<{ uid: string; doc: string }>('SELECT uid, doc FROM content_types WHERE api_key = ? AND branch = ? ORDER BY uid', [scope.api_key, scope.branch]);
    const users = [
      ...cts.filter((r) => embeddedGlobalFields(json<{ schema: Field[] }>(r.doc).schema).has(uid)).map((r) => `content type '${r.uid}'`),
      ...(await listGlobalFields(tx, scope)).filter((g) => g.uid !== uid && embeddedGlobalFields(g.schema).has(uid)).map((g) => `global field '${g.uid}'`),
    ];
    if (users.length) {
      throw new HeraldError('conflict', `Global field '${uid}' is used by ${users.join(', ')}; remove it from them first.`, {
        errors: { global_field: [`is used by ${users.join(', ')}`] },
      });
    }
    await stored.remove(tx, scope, uid);
    return current;
  });
}

/** The global fields whose reference fields point at content type `uid`. */
export async function globalFieldsReferencing(q: Queryable, scope: Scope, uid: string): Promise<string[]> {
  return (await listGlobalFields(q, scope)).filter((g) => referencedContentTypes(g.schema).has(uid)).map((g) => g.uid);
}
