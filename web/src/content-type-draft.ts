import type { ContentTypeDoc, DataType, SchemaField } from './entry-values.ts';

/**
 * The content type builder's working copy: fields as the user edits them (with a stable key for
 * the list), and the schema the API gets (Contentstack's `content_type.schema`). Pure.
 */
export interface FieldDraft {
  key: number;
  display_name: string;
  uid: string;
  /** The uid follows the name until the user types one (or the field was saved before). */
  uidTouched: boolean;
  data_type: DataType;
  mandatory: boolean;
  unique: boolean;
  multiple: boolean;
  multiline: boolean;
  instruction: string;
  reference_to: string[];
  /** A group's fields. */
  schema: FieldDraft[];
  /** Keys of the stored field this draft does not edit (kept as they were). */
  rest: Record<string, unknown>;
}

export const DATA_TYPE_LABELS: Record<DataType, string> = {
  text: 'Text',
  number: 'Number',
  boolean: 'Boolean (yes / no)',
  isodate: 'Date',
  json: 'JSON',
  file: 'File (an asset)',
  reference: 'Reference (to entries)',
  group: 'Group (of fields)',
  global_field: 'Global field',
};

/** Types that may be unique (top level, not multiple), as the API says. */
export const UNIQUE_TYPES: DataType[] = ['text', 'number', 'isodate'];

let nextKey = 1;

/** A uid from a name: lower case, words joined by underscores ("Hero image" -> hero_image). */
export function uidFrom(name: string): string {
  const s = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  return /^[a-z]/.test(s) ? s.slice(0, 64) : s ? `f_${s}`.slice(0, 64) : '';
}

export function newField(init: Partial<FieldDraft> = {}): FieldDraft {
  return {
    key: nextKey++,
    display_name: '',
    uid: '',
    uidTouched: false,
    data_type: 'text',
    mandatory: false,
    unique: false,
    multiple: false,
    multiline: false,
    instruction: '',
    reference_to: [],
    schema: [],
    rest: {},
    ...init,
  };
}

export function fieldDraft(f: SchemaField): FieldDraft {
  const { uid, display_name, data_type, mandatory, unique, multiple, reference_to, schema, field_metadata, ...rest } = f;
  const { multiline, instruction, ...meta } = field_metadata ?? {};
  return newField({
    uid,
    display_name,
    uidTouched: true,
    data_type,
    mandatory: !!mandatory,
    unique: !!unique,
    multiple: !!multiple,
    multiline: !!multiline,
    instruction: typeof instruction === 'string' ? instruction : '',
    reference_to: Array.isArray(reference_to) ? reference_to : [],
    // A global field's schema is the global field's own (shown resolved); the field keeps its reference.
    schema: data_type === 'group' ? (schema ?? []).map(fieldDraft) : [],
    rest: { ...rest, ...(data_type === 'global_field' ? { reference_to } : {}), ...(Object.keys(meta).length ? { field_metadata: meta } : {}) },
  });
}

/** The schema the API gets; options that do not apply to a field's type are left out. */
export function toSchema(fields: FieldDraft[]): SchemaField[] {
  return fields.map((d) => {
    const meta: Record<string, unknown> = { ...((d.rest.field_metadata as object) ?? {}) };
    if (d.data_type === 'text' && d.multiline) meta.multiline = true;
    if (d.instruction.trim()) meta.instruction = d.instruction.trim();
    const f: SchemaField = {
      ...(d.rest as object),
      uid: d.uid,
      display_name: d.display_name.trim(),
      data_type: d.data_type,
      mandatory: d.mandatory,
      unique: UNIQUE_TYPES.includes(d.data_type) && !d.multiple ? d.unique : false,
      multiple: d.data_type === 'boolean' ? false : d.multiple,
    };
    if (Object.keys(meta).length) f.field_metadata = meta as SchemaField['field_metadata'];
    else delete f.field_metadata;
    if (d.data_type === 'reference') f.reference_to = d.reference_to;
    if (d.data_type === 'group') f.schema = toSchema(d.schema);
    return f;
  });
}

/** Moves the item at `i` by `by` places (-1 up, +1 down); the same list when it cannot move. */
export function move<T>(list: T[], i: number, by: number): T[] {
  const j = i + by;
  if (j < 0 || j >= list.length) return list;
  const out = list.slice();
  [out[i], out[j]] = [out[j]!, out[i]!];
  return out;
}

export function draftOf(ct: ContentTypeDoc | undefined): { title: string; uid: string; description: string; fields: FieldDraft[] } {
  if (!ct) return { title: '', uid: '', description: '', fields: [newField({ display_name: 'Title', uid: 'title', uidTouched: true, mandatory: true, unique: true })] };
  return { title: ct.title, uid: ct.uid, description: ct.description ?? '', fields: ct.schema.map(fieldDraft) };
}
