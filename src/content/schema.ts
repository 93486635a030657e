/**
 * Content type and global field schemas: the field types, the limits, and the check of a content
 * type or global field body (title, uid, options, and its fields, groups nested). Pure: whether
 * referenced content types and global fields exist is given by the caller (`contentTypes`,
 * `globalFields`).
 *
 * A `global_field` field embeds a global field (`reference_to`: its uid). Stored content types keep
 * only the reference; `resolveGlobalFields` (src/content/global-fields.ts) gives such a field the
 * global field's schema whenever a content type is read, so everything downstream (entry values,
 * include[], payloads) treats it as a group (`isGroupLike`).
 */
import type { FieldErrors } from '../errors.ts';
import { addError } from './field-errors.ts';
import { isObject, isUid, uidFromTitle, UID_RULE } from './guards.ts';

export const DATA_TYPES = ['text', 'number', 'boolean', 'isodate', 'json', 'file', 'reference', 'group', 'global_field'] as const;
export type DataType = (typeof DATA_TYPES)[number];

export interface Field {
  uid: string;
  display_name: string;
  data_type: DataType;
  mandatory: boolean;
  unique: boolean;
  multiple: boolean;
  /** Reference fields: the content types an entry may point at; global_field fields: the global field's uid (one string, as Contentstack's). */
  reference_to?: string[] | string;
  /** Group fields: the nested fields; global_field fields: the global field's schema once resolved. */
  schema?: Field[];
  /** Other Contentstack keys (field_metadata, non_localizable, ...) are kept as sent. */
  [key: string]: unknown;
}

/** A field whose value is an object of nested fields (or a list of them when multiple): a group, or a global field once resolved. */
export function isGroupLike(f: Pick<Field, 'data_type'>): boolean {
  return f.data_type === 'group' || f.data_type === 'global_field';
}

/** The content types a reference field may point at (none for other fields). */
export function referenceTargets(f: Field): string[] {
  if (f.data_type !== 'reference') return [];
  return typeof f.reference_to === 'string' ? [f.reference_to] : (f.reference_to ?? []);
}

/** Groups nest at most this deep (Contentstack's limit). */
export const MAX_GROUP_DEPTH = 5;
/** Fields in one content type, nested ones included. */
export const MAX_FIELDS = 250;

/**
 * Keys an entry body may carry that are not fields: the system fields Herald sets itself. The
 * official client's fetch-then-update() sends them back; they are accepted and ignored. A schema
 * may not define top-level fields with these names.
 */
export const ENTRY_SYSTEM_KEYS = new Set([
  'uid',
  'locale',
  '_version',
  'created_at',
  'updated_at',
  'created_by',
  'updated_by',
  'publish_details',
  'content_type_uid',
  'content_type',
  'schema',
  'ACL',
  '_in_progress',
  '_archived',
  '_metadata',
  '_workflow',
  '_rules',
  '_branch',
  'stackHeaders',
  'urlPath',
  'apiVersion',
  'tags',
]);

export interface ContentTypeInput {
  uid: string;
  title: string;
  description: string;
  schema: Field[];
  options: Record<string, unknown>;
}

export interface SchemaContext {
  /** uids of the content types that exist in the branch (references may point at them). */
  contentTypes: ReadonlySet<string>;
  /** uid of the content type being validated: a reference to itself is allowed ('' for a global field). */
  selfUid: string;
  pendingReferences?: ReadonlySet<string>;
  /** uids of the global fields that exist in the branch (global_field fields may embed them). */
  globalFields?: ReadonlySet<string>;
  /** The global field being validated: it may not embed itself. */
  selfGlobalField?: string;
  /** The schema is a global field's: its fields end up nested in entries (no `unique`, no reserved names to avoid). */
  nested?: boolean;
}

/**
 * Checks a content type body (`content_type` of a create or update), or with `kind:
 * 'global_field'` a global field body (`global_field`: the same keys; its schema's fields end up
 * nested in entries). On update `current` gives the uid (which cannot change) and the values kept
 * when not sent.
 */
export function checkContentType(
  raw: unknown,
  ctx: {
    contentTypes: ReadonlySet<string>;
    current?: ContentTypeInput;
    /** Uids a reference may name before they exist (the Contentful dialect: its importer makes linked content types concurrently). */
    pendingReferences?: ReadonlySet<string>;
    /** uids of the branch's global fields (global_field fields may embed them); none when not given. */
    globalFields?: ReadonlySet<string>;
    kind?: 'content_type' | 'global_field';
  },
): { value: ContentTypeInput; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const kind = ctx.kind ?? 'content_type';
  const base = kind;
  if (!isObject(raw)) {
    addError(errors, base, raw === undefined ? 'is required' : 'must be an object');
    return { value: emptyContentType(), errors };
  }
  const current = ctx.current;

  let title = current?.title ?? '';
  if (raw.title !== undefined || !current) {
    if (typeof raw.title !== 'string' || raw.title.trim() === '') addError(errors, `${base}.title`, 'is required');
    else if (raw.title.length > 255) addError(errors, `${base}.title`, 'must be at most 255 characters');
    else title = raw.title.trim();
  }

  let uid = current?.uid ?? '';
  if (current) {
    if (raw.uid !== undefined && raw.uid !== current.uid) addError(errors, `${base}.uid`, 'cannot be changed');
  } else if (raw.uid !== undefined) {
    if (!isUid(raw.uid)) addError(errors, `${base}.uid`, UID_RULE);
    else uid = raw.uid;
  } else if (title) {
    uid = uidFromTitle(title);
    if (!isUid(uid)) addError(errors, `${base}.uid`, `is required (it cannot be made from the title): ${UID_RULE}`);
  }

  let description = current?.description ?? '';
  if (raw.description !== undefined && raw.description !== null) {
    if (typeof raw.description !== 'string') addError(errors, `${base}.description`, 'must be a string');
    else description = raw.description;
  }

  let options = current?.options ?? {};
  if (raw.options !== undefined && raw.options !== null) {
    if (!isObject(raw.options)) addError(errors, `${base}.options`, 'must be an object');
    else if (raw.options.singleton !== undefined && typeof raw.options.singleton !== 'boolean') {
      addError(errors, `${base}.options.singleton`, 'must be true or false');
    } else options = raw.options;
  }

  let schema = current?.schema ?? [];
  if (raw.schema !== undefined || !current) {
    const checked = checkSchema(raw.schema, `${base}.schema`, {
      contentTypes: ctx.contentTypes,
      selfUid: kind === 'content_type' ? uid : '',
      pendingReferences: ctx.pendingReferences,
      globalFields: ctx.globalFields,
      ...(kind === 'global_field' ? { selfGlobalField: uid, nested: true } : {}),
    });
    Object.assign(errors, checked.errors);
    schema = checked.schema;
  }
  return { value: { uid, title, description, schema, options }, errors };
}

function emptyContentType(): ContentTypeInput {
  return { uid: '', title: '', description: '', schema: [], options: {} };
}

/** Checks a schema (a list of fields, groups nested); returns it normalized. */
export function checkSchema(raw: unknown, path: string, ctx: SchemaContext): { schema: Field[]; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const counter = { fields: 0 };
  const schema = checkFields(raw, path, ctx, ctx.nested ? 1 : 0, errors, counter);
  if (counter.fields > MAX_FIELDS) addError(errors, path, `has ${counter.fields} fields; at most ${MAX_FIELDS} are allowed`);
  return { schema, errors };
}

function checkFields(raw: unknown, path: string, ctx: SchemaContext, depth: number, errors: FieldErrors, counter: { fields: number }): Field[] {
  if (raw === undefined) {
    addError(errors, path, 'is required');
    return [];
  }
  if (!Array.isArray(raw)) {
    addError(errors, path, 'must be a list of fields');
    return [];
  }
  const out: Field[] = [];
  const seen = new Set<string>();
  raw.forEach((f, i) => {
    counter.fields++;
    if (counter.fields > MAX_FIELDS) return;
    const at = `${path}[${i}]`;
    if (!isObject(f)) {
      addError(errors, at, 'must be an object');
      return;
    }
    if (f.uid === undefined) {
      addError(errors, `${at}.uid`, 'is required');
      return;
    }
    if (!isUid(f.uid)) {
      addError(errors, `${at}.uid`, UID_RULE);
      return;
    }
    const uid = f.uid;
    const fp = `${path}.${uid}`;
    if (seen.has(uid)) addError(errors, fp, 'is defined twice');
    seen.add(uid);
    if (depth === 0 && ENTRY_SYSTEM_KEYS.has(uid)) addError(errors, fp, 'is a reserved name (a system field of entries)');

    let displayName = uid;
    if (f.display_name !== undefined) {
      if (typeof f.display_name !== 'string' || f.display_name.trim() === '') addError(errors, `${fp}.display_name`, 'must be a non-empty string');
      else displayName = f.display_name;
    }
    if (f.data_type === undefined) {
      addError(errors, `${fp}.data_type`, 'is required');
      return;
    }
    if (typeof f.data_type !== 'string' || !(DATA_TYPES as readonly string[]).includes(f.data_type)) {
      addError(errors, `${fp}.data_type`, `must be one of ${DATA_TYPES.join(', ')} (got ${JSON.stringify(f.data_type)})`);
      return;
    }
    const dataType = f.data_type as DataType;
    const flags = { mandatory: false, unique: false, multiple: false };
    for (const k of ['mandatory', 'unique', 'multiple'] as const) {
      if (f[k] === undefined || f[k] === null) continue;
      if (typeof f[k] !== 'boolean') addError(errors, `${fp}.${k}`, 'must be true or false');
      else flags[k] = f[k] as boolean;
    }
    if (flags.unique) {
      if (!['text', 'number', 'isodate'].includes(dataType)) addError(errors, `${fp}.unique`, 'is only allowed on text, number and isodate fields');
      else if (flags.multiple) addError(errors, `${fp}.unique`, 'is not allowed on a multiple field');
      else if (depth > 0) addError(errors, `${fp}.unique`, 'is not allowed inside a group');
    }
    if (f.field_metadata !== undefined && !isObject(f.field_metadata)) addError(errors, `${fp}.field_metadata`, 'must be an object');

    const field: Field = { ...f, uid, display_name: displayName, data_type: dataType, ...flags };
    delete field.reference_to;
    delete field.schema;

    if (dataType === 'reference') {
      const refs = typeof f.reference_to === 'string' ? [f.reference_to] : f.reference_to;
      if (refs === undefined) addError(errors, `${fp}.reference_to`, 'is required for a reference field');
      else if (!Array.isArray(refs) || refs.length === 0 || !refs.every((r) => typeof r === 'string')) {
        addError(errors, `${fp}.reference_to`, 'must be a content type uid or a non-empty list of them');
      } else {
        for (const r of refs as string[]) {
          if (r !== ctx.selfUid && !ctx.contentTypes.has(r) && !ctx.pendingReferences?.has(r)) addError(errors, `${fp}.reference_to`, `names content type '${r}', which does not exist`);
        }
        field.reference_to = [...new Set(refs as string[])];
        // Contentstack's shape of a reference field: a list of targets, flagged as such in
        // field_metadata (the import tool reads it to know how to remap the references).
        const meta = isObject(f.field_metadata) ? f.field_metadata : {};
        field.field_metadata = { ref_multiple: field.multiple, ...meta, ref_multiple_content_types: true };
      }
    } else if (dataType === 'global_field') {
      checkGlobalFieldField(f, field, fp, ctx, errors);
    } else if (f.reference_to !== undefined) {
      addError(errors, `${fp}.reference_to`, 'is only for reference and global_field fields');
    }

    if (dataType === 'group') {
      if (depth + 1 >= MAX_GROUP_DEPTH) addError(errors, `${fp}.schema`, `groups nest at most ${MAX_GROUP_DEPTH} deep`);
      else if (Array.isArray(f.schema) && f.schema.length === 0) addError(errors, `${fp}.schema`, 'must have at least one field');
      else field.schema = checkFields(f.schema, `${fp}.schema`, ctx, depth + 1, errors, counter);
    } else if (f.schema !== undefined && dataType !== 'global_field') {
      addError(errors, `${fp}.schema`, 'is only for group and global_field fields');
    }
    out.push(field);
  });
  return out;
}

/**
 * A global_field field: `reference_to` names a global field of the branch (a string; a list of
 * one is taken too). A `schema` sent with it (exports carry the global field's schema inline) is
 * not kept: the global field's own schema is what entries are checked against.
 */
function checkGlobalFieldField(f: Record<string, unknown>, field: Field, fp: string, ctx: SchemaContext, errors: FieldErrors) {
  const ref = Array.isArray(f.reference_to) && f.reference_to.length === 1 ? f.reference_to[0] : f.reference_to;
  if (ref === undefined) addError(errors, `${fp}.reference_to`, 'is required for a global_field field (the uid of a global field)');
  else if (typeof ref !== 'string' || !isUid(ref)) addError(errors, `${fp}.reference_to`, 'must be the uid of a global field');
  else if (ref === ctx.selfGlobalField) addError(errors, `${fp}.reference_to`, 'names the global field itself (a global field cannot embed itself)');
  else if (!ctx.globalFields?.has(ref)) addError(errors, `${fp}.reference_to`, `names global field '${ref}', which does not exist`);
  else field.reference_to = ref;
}

/** The content types a schema refers to (reference fields, groups and resolved global fields included). */
export function referencedContentTypes(schema: Field[]): Set<string> {
  const out = new Set<string>();
  const walk = (fields: Field[]) => {
    for (const f of fields) {
      for (const r of referenceTargets(f)) out.add(r);
      if (isGroupLike(f)) walk(f.schema ?? []);
    }
  };
  walk(schema);
  return out;
}

/** The global fields a schema embeds (global_field fields, in groups too; not through the global fields themselves). */
export function embeddedGlobalFields(schema: Field[]): Set<string> {
  const out = new Set<string>();
  addEmbedded(schema, out);
  return out;
}

/**
 * embeddedGlobalFields' walk: a function of the module, not a closure made per call, which tsx
 * names through Object.defineProperty each time (see store/sqlite.ts SqliteTx); every entry save
 * calls this (resolveGlobalFields).
 */
function addEmbedded(fields: Field[], out: Set<string>) {
  for (const f of fields) {
    if (f.data_type === 'global_field' && typeof f.reference_to === 'string') out.add(f.reference_to);
    else if (f.data_type === 'group') addEmbedded(f.schema ?? [], out);
  }
}
