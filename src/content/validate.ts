/**
 * Pure validation of content: content type schemas, entry fields against a schema, list
 * parameters and the simple `query` filter. No I/O here: what needs the store (does that content
 * type, entry or asset exist? is a value unique?) is collected by `references()`, `assetUids()`
 * and `uniqueFields()` and checked by the repositories.
 *
 * Functions that can find several problems return `FieldErrors` keyed by the field's path as the
 * client sent it (`content_type.schema.author.reference_to`, `entry.address.city`,
 * `entry.sections[1].heading`), so a 422 names every field that is wrong at once.
 */
import { HeraldError, type FieldErrors } from '../errors.ts';

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
/** Largest page of a list. */
export const MAX_LIMIT = 100;

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

const UID = /^[a-z][a-z0-9_]{0,63}$/;
const UID_RULE = 'must be lowercase letters, digits and underscores, starting with a letter (at most 64)';
/** Entry and asset uids as Herald makes them (blt + hex), and any similar id a client sends. */
const ENTITY_UID = /^[A-Za-z0-9_-]{1,64}$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

export function addError(errors: FieldErrors, path: string, problem: string): void {
  (errors[path] ??= []).push(problem);
}

export function hasErrors(errors: FieldErrors): boolean {
  return Object.keys(errors).length > 0;
}

/** `title is required; price must be a number` */
export function describeErrors(errors: FieldErrors): string {
  return Object.entries(errors)
    .map(([path, problems]) => `${path} ${problems.join(', ')}`)
    .join('; ');
}

/** A 422 naming every field in `errors`; its message names the first. */
export function validationError(errors: FieldErrors): HeraldError {
  return new HeraldError('validation_failed', describeErrors(errors), { errors });
}

export function throwIfErrors(errors: FieldErrors): void {
  if (hasErrors(errors)) throw validationError(errors);
}

/**
 * A value's own property: `values.constructor` on a plain object is Object, not a field named
 * `constructor` that was not given.
 */
export function own(obj: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A value that counts as "not given" for `mandatory`. */
export function isEmpty(v: unknown): boolean {
  return v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);
}

/** Contentstack's own rule for turning a title into a uid. */
export function uidFromTitle(title: string): string {
  return title
    .replace(/[^A-Z0-9]+/gi, '_')
    .toLowerCase()
    .replace(/^_+|_+$/g, '');
}

export function isUid(v: unknown): v is string {
  return typeof v === 'string' && UID.test(v);
}

export function isEntityUid(v: unknown): v is string {
  return typeof v === 'string' && ENTITY_UID.test(v);
}

// ---------------------------------------------------------------------------------------------
// Content types

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

// ---------------------------------------------------------------------------------------------
// Entries

/** A reference as stored: Contentstack's `{ uid, _content_type_uid }`. */
export interface Reference {
  uid: string;
  _content_type_uid: string;
}

export interface EntryInput {
  /** The entry's field values (title included), normalized. */
  fields: Record<string, unknown>;
  tags: string[];
}

/**
 * Checks an entry body (`entry` of a create or update) against its content type's schema.
 * System keys (see ENTRY_SYSTEM_KEYS) are ignored; unknown keys are refused. On update,
 * `current` holds the stored values: fields not sent keep them, fields sent as `null` are
 * cleared. Fields the schema no longer has are dropped.
 */
export function checkEntry(
  schema: Field[],
  raw: unknown,
  current?: EntryInput,
): { value: EntryInput; errors: FieldErrors } {
  const errors: FieldErrors = {};
  if (!isObject(raw)) {
    addError(errors, 'entry', raw === undefined ? 'is required' : 'must be an object');
    return { value: { fields: {}, tags: [] }, errors };
  }
  let tags = current?.tags ?? [];
  if (raw.tags !== undefined && raw.tags !== null) {
    if (!Array.isArray(raw.tags) || !raw.tags.every((t) => typeof t === 'string' && t.length <= 255) || raw.tags.length > 100) {
      addError(errors, 'entry.tags', 'must be a list of at most 100 strings');
    } else tags = [...new Set(raw.tags as string[])];
  }
  const known = new Set(schema.map((f) => f.uid));
  const given: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (ENTRY_SYSTEM_KEYS.has(k)) continue;
    if (!known.has(k) && k !== 'title') {
      addError(errors, `entry.${k}`, 'is not a field of this content type');
      continue;
    }
    given[k] = v;
  }
  const merged: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(current?.fields ?? {})) if (known.has(k) || k === 'title') merged[k] = v;
  Object.assign(merged, given);
  const { values, errors: fieldErrors } = checkFieldValues(schema, merged, 'entry');
  Object.assign(errors, fieldErrors);
  if (!known.has('title') && merged.title !== undefined && merged.title !== null) {
    if (typeof merged.title !== 'string') addError(errors, 'entry.title', 'must be a string');
    else values.title = merged.title;
  }
  return { value: { fields: values, tags }, errors };
}

/**
 * Checks stored or merged values against a schema: types, `mandatory`, `multiple`, groups and
 * reference targets. Used on save and again at publish (the schema may have changed since).
 */
export function checkValues(schema: Field[], values: Record<string, unknown>): FieldErrors {
  return checkFieldValues(schema, values, 'entry').errors;
}

function checkFieldValues(schema: Field[], values: Record<string, unknown>, path: string): { values: Record<string, unknown>; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const out: Record<string, unknown> = {};
  for (const f of schema) {
    const fp = `${path}.${f.uid}`;
    const v = own(values, f.uid);
    if (isEmpty(v)) {
      if (f.mandatory) addError(errors, fp, 'is required');
      if (v !== undefined && v !== null) out[f.uid] = v;
      continue;
    }
    if (f.data_type === 'reference') {
      const list = Array.isArray(v) ? v : [v];
      out[f.uid] = list.map((item, i) => checkReference(f, item, Array.isArray(v) ? `${fp}[${i}]` : fp, errors));
      continue;
    }
    if (f.multiple) {
      if (!Array.isArray(v)) {
        addError(errors, fp, 'must be a list (the field is multiple)');
        continue;
      }
      out[f.uid] = v.map((item, i) => checkOne(f, item, `${fp}[${i}]`, errors));
      continue;
    }
    if (Array.isArray(v) && f.data_type !== 'json') {
      addError(errors, fp, `must be a single ${describeType(f.data_type)}, not a list (the field is not multiple)`);
      continue;
    }
    out[f.uid] = checkOne(f, v, fp, errors);
  }
  return { values: out, errors };
}

function describeType(t: DataType): string {
  switch (t) {
    case 'text':
      return 'string';
    case 'isodate':
      return 'ISO 8601 date';
    case 'file':
      return 'asset uid';
    case 'group':
      return 'object';
    default:
      return t;
  }
}

function checkOne(f: Field, v: unknown, p: string, errors: FieldErrors): unknown {
  switch (f.data_type) {
    case 'text':
      if (typeof v !== 'string') addError(errors, p, 'must be a string');
      return v;
    case 'number':
      if (typeof v !== 'number' || !Number.isFinite(v)) addError(errors, p, 'must be a number');
      return v;
    case 'boolean':
      if (typeof v !== 'boolean') addError(errors, p, 'must be true or false');
      return v;
    case 'isodate':
      if (typeof v !== 'string' || !ISO_DATE.test(v) || Number.isNaN(Date.parse(v))) addError(errors, p, 'must be an ISO 8601 date (e.g. 2024-05-01 or 2024-05-01T10:00:00Z)');
      return v;
    case 'json':
      return v;
    case 'file': {
      // The official client turns asset objects into their uids; accept either.
      const uid = isObject(v) ? v.uid : v;
      if (!isEntityUid(uid)) addError(errors, p, 'must be an asset uid');
      return uid;
    }
    case 'group': {
      if (!isObject(v)) {
        addError(errors, p, 'must be an object (a group)');
        return v;
      }
      const known = new Set((f.schema ?? []).map((x) => x.uid));
      for (const k of Object.keys(v)) if (!known.has(k)) addError(errors, `${p}.${k}`, 'is not a field of this group');
      const nested = checkFieldValues(f.schema ?? [], v, p);
      Object.assign(errors, nested.errors);
      return nested.values;
    }
    case 'reference':
      return checkReference(f, v, p, errors);
  }
}

function checkReference(f: Field, item: unknown, p: string, errors: FieldErrors): unknown {
  const targets = f.reference_to ?? [];
  if (typeof item === 'string') item = { uid: item };
  if (!isObject(item) || !isEntityUid(item.uid)) {
    addError(errors, p, 'must be a reference: { uid, _content_type_uid }');
    return item;
  }
  let ct = item._content_type_uid;
  if (ct === undefined && targets.length === 1) ct = targets[0];
  if (typeof ct !== 'string') {
    addError(errors, `${p}._content_type_uid`, `is required (one of ${targets.join(', ')})`);
    return item;
  }
  if (!targets.includes(ct)) {
    addError(errors, `${p}._content_type_uid`, `must be one of ${targets.join(', ')} (got '${ct}')`);
    return item;
  }
  return { uid: item.uid, _content_type_uid: ct } satisfies Reference;
}

/** Every reference in checked values, with the path of the field that holds it. */
export function references(schema: Field[], values: Record<string, unknown>, path = 'entry'): Array<Reference & { path: string }> {
  const out: Array<Reference & { path: string }> = [];
  walkValues(schema, values, path, (f, v, p) => {
    if (f.data_type !== 'reference') return;
    const list = Array.isArray(v) ? v : [v];
    list.forEach((r, i) => {
      if (isObject(r) && typeof r.uid === 'string' && typeof r._content_type_uid === 'string') {
        out.push({ uid: r.uid, _content_type_uid: r._content_type_uid, path: Array.isArray(v) ? `${p}[${i}]` : p });
      }
    });
  });
  return out;
}

/** Every asset uid in checked values (file fields), with its field's path. */
export function assetUids(schema: Field[], values: Record<string, unknown>, path = 'entry'): Array<{ uid: string; path: string }> {
  const out: Array<{ uid: string; path: string }> = [];
  walkValues(schema, values, path, (f, v, p) => {
    if (f.data_type !== 'file') return;
    const list = Array.isArray(v) ? v : [v];
    list.forEach((u, i) => {
      if (typeof u === 'string') out.push({ uid: u, path: Array.isArray(v) ? `${p}[${i}]` : p });
    });
  });
  return out;
}

function walkValues(schema: Field[], values: Record<string, unknown>, path: string, visit: (f: Field, v: unknown, p: string) => void) {
  for (const f of schema) {
    const v = own(values, f.uid);
    if (isEmpty(v)) continue;
    const p = `${path}.${f.uid}`;
    if (f.data_type === 'group') {
      const items = f.multiple && Array.isArray(v) ? v : [v];
      items.forEach((item, i) => {
        if (isObject(item)) walkValues(f.schema ?? [], item, f.multiple ? `${p}[${i}]` : p, visit);
      });
    } else visit(f, v, p);
  }
}

/** The top-level fields whose value must be unique among a content type's entries in a locale. */
export function uniqueFields(schema: Field[]): Field[] {
  return schema.filter((f) => f.unique);
}

// ---------------------------------------------------------------------------------------------
// Lists: paging, sorting and the simple query filter

export interface Paging {
  skip: number;
  limit: number;
  includeCount: boolean;
  /** `count=true`: answer only the total, `{ "<items>": N }` (Contentstack's query().count()). */
  count?: boolean;
}

/** `skip` (default 0), `limit` (default and most 100), `include_count` (true/false). */
export function parsePaging(q: { skip?: unknown; limit?: unknown; include_count?: unknown; count?: unknown }): Paging {
  const errors: FieldErrors = {};
  const skip = q.skip === undefined || q.skip === '' ? 0 : Number(q.skip);
  if (!Number.isInteger(skip) || skip < 0) addError(errors, 'skip', 'must be a whole number >= 0');
  const limit = q.limit === undefined || q.limit === '' ? MAX_LIMIT : Number(q.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) addError(errors, 'limit', `must be a whole number from 1 to ${MAX_LIMIT}`);
  const includeCount = parseFlag(q.include_count, 'include_count', errors);
  const count = parseFlag(q.count, 'count', errors);
  throwIfErrors(errors);
  return { skip, limit, includeCount, count };
}

/** A true/false query parameter; absent is false. */
export function parseFlag(v: unknown, name: string, errors?: FieldErrors): boolean {
  if (v === undefined || v === '' || v === 'false' || v === false) return false;
  if (v === 'true' || v === true) return true;
  if (errors) addError(errors, name, 'must be true or false');
  else throwIfErrors({ [name]: ['must be true or false'] });
  return false;
}

/** Operators of the `query` filter; others are refused by name. */
const OPERATORS = new Set(['$eq', '$ne', '$in', '$nin', '$exists', '$gt', '$gte', '$lt', '$lte']);
export type Query = Record<string, unknown>;

/**
 * Parses the `query` parameter: JSON such as `{"title":"Hello"}`, `{"price":{"$gt":10}}`,
 * `{"$or":[{...},{...}]}`. Field names may be dotted paths into groups. Deliberately small: the
 * operators above plus `$and` / `$or`; no regular expressions (they would let a caller stall the
 * server).
 */
export function parseQuery(text: unknown): Query | undefined {
  if (text === undefined || text === '') return undefined;
  if (typeof text !== 'string') throw validationError({ query: ['must be a JSON object'] });
  let q: unknown;
  try {
    q = JSON.parse(text);
  } catch {
    throw validationError({ query: ['is not valid JSON'] });
  }
  if (!isObject(q)) throw validationError({ query: ['must be a JSON object'] });
  const errors: FieldErrors = {};
  checkQuery(q, 'query', errors, 0);
  throwIfErrors(errors);
  return q;
}

function checkQuery(q: Record<string, unknown>, path: string, errors: FieldErrors, depth: number) {
  if (depth > 8) {
    addError(errors, path, 'nests too deep');
    return;
  }
  for (const [k, v] of Object.entries(q)) {
    if (k === '$and' || k === '$or') {
      if (!Array.isArray(v) || !v.every(isObject)) addError(errors, `${path}.${k}`, 'must be a list of queries');
      else v.forEach((sub, i) => checkQuery(sub as Record<string, unknown>, `${path}.${k}[${i}]`, errors, depth + 1));
      continue;
    }
    if (k.startsWith('$')) {
      addError(errors, `${path}.${k}`, 'is not a supported operator');
      continue;
    }
    if (isObject(v) && Object.keys(v).some((op) => op.startsWith('$'))) {
      for (const [op, arg] of Object.entries(v)) {
        if (!OPERATORS.has(op)) addError(errors, `${path}.${k}.${op}`, `is not a supported operator (use ${[...OPERATORS].join(', ')})`);
        else if ((op === '$in' || op === '$nin') && !Array.isArray(arg)) addError(errors, `${path}.${k}.${op}`, 'must be a list');
        else if (op === '$exists' && typeof arg !== 'boolean') addError(errors, `${path}.${k}.${op}`, 'must be true or false');
      }
    }
  }
}

function valueAt(doc: Record<string, unknown>, path: string): unknown {
  let cur: unknown = doc;
  for (const part of path.split('.')) {
    if (!isObject(cur)) return undefined;
    cur = own(cur, part);
  }
  return cur;
}

function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === 'object' && typeof b === 'object' && a !== null && b !== null) return JSON.stringify(a) === JSON.stringify(b);
  return false;
}

/** Equality that also matches an element of a list value (a multiple field "contains"). */
function matchesValue(actual: unknown, expected: unknown): boolean {
  if (same(actual, expected)) return true;
  return Array.isArray(actual) && actual.some((a) => same(a, expected));
}

function compare(a: unknown, b: unknown): number | undefined {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  return undefined;
}

/** Whether a document (an entry or asset as the API returns it) matches a parsed query. */
export function matchesQuery(doc: Record<string, unknown>, q: Query): boolean {
  for (const [k, cond] of Object.entries(q)) {
    if (k === '$and') {
      if (!(cond as Query[]).every((sub) => matchesQuery(doc, sub))) return false;
      continue;
    }
    if (k === '$or') {
      if (!(cond as Query[]).some((sub) => matchesQuery(doc, sub))) return false;
      continue;
    }
    const actual = valueAt(doc, k);
    if (isObject(cond) && Object.keys(cond).some((op) => op.startsWith('$'))) {
      for (const [op, arg] of Object.entries(cond)) {
        let ok: boolean;
        switch (op) {
          case '$eq':
            ok = matchesValue(actual, arg);
            break;
          case '$ne':
            ok = !matchesValue(actual, arg);
            break;
          case '$in':
            ok = (arg as unknown[]).some((x) => matchesValue(actual, x));
            break;
          case '$nin':
            ok = !(arg as unknown[]).some((x) => matchesValue(actual, x));
            break;
          case '$exists':
            ok = (actual !== undefined && actual !== null) === arg;
            break;
          default: {
            const c = compare(actual, arg);
            ok = c !== undefined && (op === '$gt' ? c > 0 : op === '$gte' ? c >= 0 : op === '$lt' ? c < 0 : c <= 0);
          }
        }
        if (!ok) return false;
      }
      continue;
    }
    if (!matchesValue(actual, cond)) return false;
  }
  return true;
}

/**
 * Sort order from `asc=<field>` / `desc=<field>` (one of them); default oldest first. Missing
 * values sort last; ties keep the store's order.
 */
export function parseSort(q: { asc?: unknown; desc?: unknown }): { field: string; dir: 1 | -1 } {
  const errors: FieldErrors = {};
  if (q.asc !== undefined && q.desc !== undefined) addError(errors, 'asc', 'cannot be combined with desc');
  for (const k of ['asc', 'desc'] as const) {
    const v = q[k];
    if (v !== undefined && (typeof v !== 'string' || !/^[A-Za-z_][A-Za-z0-9_.]{0,200}$/.test(v))) addError(errors, k, 'must be a field name');
  }
  throwIfErrors(errors);
  if (typeof q.desc === 'string') return { field: q.desc, dir: -1 };
  if (typeof q.asc === 'string') return { field: q.asc, dir: 1 };
  return { field: 'created_at', dir: 1 };
}

export function sortDocs<T extends Record<string, unknown>>(docs: T[], sort: { field: string; dir: 1 | -1 }): T[] {
  return docs
    .map((d, i) => ({ d, i, v: valueAt(d, sort.field) }))
    .sort((a, b) => {
      const av = a.v === undefined || a.v === null;
      const bv = b.v === undefined || b.v === null;
      if (av !== bv) return av ? 1 : -1;
      const c = av ? 0 : (compare(a.v, b.v) ?? 0);
      return c !== 0 ? c * sort.dir : a.i - b.i;
    })
    .map((x) => x.d);
}

// ---------------------------------------------------------------------------------------------
// Assets

/** Keys of an asset body that Herald sets itself; the client's update() echoes them back. */
export const ASSET_SYSTEM_KEYS = new Set([
  'uid',
  'url',
  'filename',
  'file_size',
  'content_type',
  'is_dir',
  '_version',
  'created_at',
  'updated_at',
  'created_by',
  'updated_by',
  'publish_details',
  'ACL',
  '_archived',
  '_metadata',
  'dimension',
  'stackHeaders',
  'urlPath',
]);

export interface AssetMeta {
  title: string;
  description: string;
  tags: string[];
  parent_uid: string | null;
}

/**
 * Checks an asset's metadata: `title`, `description`, `tags` (a list, or a comma-separated string
 * as multipart uploads send it) and `parent_uid`. On update, `current` gives the values kept when
 * not sent. Unknown keys are refused.
 */
export function checkAssetMeta(raw: Record<string, unknown>, current: AssetMeta): { value: AssetMeta; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const value = { ...current };
  for (const [k, v] of Object.entries(raw)) {
    if (ASSET_SYSTEM_KEYS.has(k) || v === undefined) continue;
    const p = `asset.${k}`;
    switch (k) {
      case 'title':
        if (typeof v !== 'string' || v.length > 255) addError(errors, p, 'must be a string of at most 255 characters');
        else if (v.trim() !== '') value.title = v.trim();
        break;
      case 'description':
        if (v !== null && typeof v !== 'string') addError(errors, p, 'must be a string');
        else value.description = v ?? '';
        break;
      case 'tags': {
        const list = typeof v === 'string' ? v.split(',') : v;
        if (v === null) value.tags = [];
        else if (!Array.isArray(list) || !list.every((t) => typeof t === 'string' && t.length <= 255) || list.length > 100) {
          addError(errors, p, 'must be a list (or comma-separated string) of at most 100 tags');
        } else value.tags = [...new Set((list as string[]).map((t) => t.trim()).filter(Boolean))];
        break;
      }
      case 'parent_uid':
        if (v === null || v === '') value.parent_uid = null;
        else if (!isEntityUid(v)) addError(errors, p, 'must be a folder uid');
        else value.parent_uid = v;
        break;
      default:
        addError(errors, p, 'is not a field of assets (title, description, tags, parent_uid)');
    }
  }
  return { value, errors };
}

/**
 * The object under `key` in a JSON body (`{ "entry": { ... } }`). A body that is not an object is
 * refused naming the key the client should send.
 */
export function bodyField(body: unknown, key: string): unknown {
  if (!isObject(body)) throw validationError({ [key]: [`is required: send { "${key}": { ... } } as JSON`] });
  return body[key];
}
