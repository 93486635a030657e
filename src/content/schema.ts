/**
 * Content type schemas: the field types, the limits, and the check of a content type body
 * (title, uid, options, and its fields, groups nested). Pure: whether referenced content types
 * exist is given by the caller (`contentTypes`).
 */
import type { FieldErrors } from '../errors.ts';
import { addError } from './field-errors.ts';
import { isObject, isUid, uidFromTitle, UID_RULE } from './guards.ts';

export const DATA_TYPES = ['text', 'number', 'boolean', 'isodate', 'json', 'file', 'reference', 'group'] as const;
export type DataType = (typeof DATA_TYPES)[number];

export interface Field {
  uid: string;
  display_name: string;
  data_type: DataType;
  mandatory: boolean;
  unique: boolean;
  multiple: boolean;
  /** Reference fields: the content types an entry may point at. */
  reference_to?: string[];
  /** Group fields: the nested fields. */
  schema?: Field[];
  /** Other Contentstack keys (field_metadata, non_localizable, ...) are kept as sent. */
  [key: string]: unknown;
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
  /** uid of the content type being validated: a reference to itself is allowed. */
  selfUid: string;
  pendingReferences?: ReadonlySet<string>;
}

/**
 * Checks a content type body (`content_type` of a create or update). On update `current` gives
 * the uid (which cannot change) and the values kept when not sent.
 */
export function checkContentType(
  raw: unknown,
  ctx: {
    contentTypes: ReadonlySet<string>;
    current?: ContentTypeInput;
    /** Uids a reference may name before they exist (the Contentful dialect: its importer makes linked content types concurrently). */
    pendingReferences?: ReadonlySet<string>;
  },
): { value: ContentTypeInput; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const base = 'content_type';
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
    const checked = checkSchema(raw.schema, `${base}.schema`, { contentTypes: ctx.contentTypes, selfUid: uid, pendingReferences: ctx.pendingReferences });
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
  const schema = checkFields(raw, path, ctx, 0, errors, counter);
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
    } else if (f.reference_to !== undefined) {
      addError(errors, `${fp}.reference_to`, 'is only for reference fields');
    }

    if (dataType === 'group') {
      if (depth + 1 >= MAX_GROUP_DEPTH) addError(errors, `${fp}.schema`, `groups nest at most ${MAX_GROUP_DEPTH} deep`);
      else if (Array.isArray(f.schema) && f.schema.length === 0) addError(errors, `${fp}.schema`, 'must have at least one field');
      else field.schema = checkFields(f.schema, `${fp}.schema`, ctx, depth + 1, errors, counter);
    } else if (f.schema !== undefined) {
      addError(errors, `${fp}.schema`, 'is only for group fields');
    }
    out.push(field);
  });
  return out;
}

/** The content types a schema refers to (reference fields, groups included). */
export function referencedContentTypes(schema: Field[]): Set<string> {
  const out = new Set<string>();
  const walk = (fields: Field[]) => {
    for (const f of fields) {
      if (f.data_type === 'reference') for (const r of f.reference_to ?? []) out.add(r);
      if (f.data_type === 'group') walk(f.schema ?? []);
    }
  };
  walk(schema);
  return out;
}
