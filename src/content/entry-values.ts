/**
 * Entry values against their content type's schema: types, `mandatory`, `multiple`, groups and
 * reference targets. Pure: what needs the store (does that entry or asset exist? is a value
 * unique?) is collected by `references()`, `assetUids()` and `uniqueFields()` and checked by the
 * repositories.
 */
import type { FieldErrors } from '../errors.ts';
import { addError } from './field-errors.ts';
import { isEmpty, isEntityUid, isObject, own } from './guards.ts';
import { ENTRY_SYSTEM_KEYS, isGroupLike, referenceTargets, type DataType, type Field } from './schema.ts';

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

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
 * cleared. Fields the schema no longer has are dropped. `required: false` lets `mandatory` fields
 * be empty (a Contentful draft: Contentful checks required fields when an entry is published, and
 * Herald's publish checks them again, checkValues); default true (Contentstack checks on save).
 */
export function checkEntry(
  schema: Field[],
  raw: unknown,
  current?: EntryInput,
  opts: { required?: boolean } = {},
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
  const { values, errors: fieldErrors } = checkFieldValues(schema, merged, 'entry', opts.required ?? true);
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
  return checkFieldValues(schema, values, 'entry', true).errors;
}

/** `required`: whether an empty `mandatory` field is an error (see checkEntry). */
function checkFieldValues(schema: Field[], values: Record<string, unknown>, path: string, required: boolean): { values: Record<string, unknown>; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const out: Record<string, unknown> = {};
  for (const f of schema) {
    const fp = `${path}.${f.uid}`;
    const v = own(values, f.uid);
    if (isEmpty(v)) {
      if (f.mandatory && required) addError(errors, fp, 'is required');
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
      out[f.uid] = v.map((item, i) => checkOne(f, item, `${fp}[${i}]`, errors, required));
      continue;
    }
    if (Array.isArray(v) && f.data_type !== 'json') {
      addError(errors, fp, `must be a single ${describeType(f.data_type)}, not a list (the field is not multiple)`);
      continue;
    }
    out[f.uid] = checkOne(f, v, fp, errors, required);
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
    case 'global_field':
      return 'object';
    default:
      return t;
  }
}

function checkOne(f: Field, v: unknown, p: string, errors: FieldErrors, required: boolean): unknown {
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
    case 'group':
    case 'global_field': {
      const what = f.data_type === 'group' ? 'group' : 'global field';
      if (!isObject(v)) {
        addError(errors, p, `must be an object (a ${what})`);
        return v;
      }
      const known = new Set((f.schema ?? []).map((x) => x.uid));
      for (const k of Object.keys(v)) if (!known.has(k)) addError(errors, `${p}.${k}`, `is not a field of this ${what}`);
      const nested = checkFieldValues(f.schema ?? [], v, p, required);
      Object.assign(errors, nested.errors);
      return nested.values;
    }
    case 'reference':
      return checkReference(f, v, p, errors);
  }
}

function checkReference(f: Field, item: unknown, p: string, errors: FieldErrors): unknown {
  const targets = referenceTargets(f);
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

/**
 * `values` with each file field's asset uid replaced by `show(uid)` (groups and global fields
 * included); a uid `show` does not know stays as it is. Copies only what it changes.
 */
export function withFileFields(schema: Field[], values: Record<string, unknown>, show: (uid: string) => unknown): Record<string, unknown> {
  let out = values;
  const set = (k: string, v: unknown) => {
    if (out === values) out = { ...values };
    out[k] = v;
  };
  for (const f of schema) {
    const v = own(values, f.uid);
    if (isEmpty(v)) continue;
    if (f.data_type === 'file') {
      const one = (u: unknown) => (typeof u === 'string' ? (show(u) ?? u) : u);
      set(f.uid, Array.isArray(v) ? v.map(one) : one(v));
    } else if (isGroupLike(f)) {
      const one = (item: unknown) => (isObject(item) ? withFileFields(f.schema ?? [], item, show) : item);
      const next = Array.isArray(v) ? v.map(one) : one(v);
      if (Array.isArray(v) ? (next as unknown[]).some((x, i) => x !== v[i]) : next !== v) set(f.uid, next);
    }
  }
  return out;
}

function walkValues(schema: Field[], values: Record<string, unknown>, path: string, visit: (f: Field, v: unknown, p: string) => void) {
  for (const f of schema) {
    const v = own(values, f.uid);
    if (isEmpty(v)) continue;
    const p = `${path}.${f.uid}`;
    if (isGroupLike(f)) {
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
