/**
 * Entries in the editor: the fields a content type's schema defines, the values the editor holds
 * for them, and the body an update sends. Pure.
 */

export type DataType = 'text' | 'number' | 'boolean' | 'isodate' | 'json' | 'file' | 'reference' | 'group' | 'global_field';

/** Groups and global fields (read with include_global_field_schema) hold an object of nested fields. */
export const isGroupLike = (f: Pick<SchemaField, 'data_type'>) => f.data_type === 'group' || f.data_type === 'global_field';

export interface SchemaField {
  uid: string;
  display_name: string;
  data_type: DataType;
  mandatory?: boolean;
  unique?: boolean;
  multiple?: boolean;
  /** Reference fields: content type uids; global_field fields: the global field's uid. */
  reference_to?: string[] | string;
  schema?: SchemaField[];
  field_metadata?: { multiline?: boolean; description?: string; instruction?: string; [k: string]: unknown };
}

export interface ContentTypeDoc {
  uid: string;
  title: string;
  description?: string;
  schema: SchemaField[];
}

export interface Reference {
  uid: string;
  _content_type_uid: string;
}

export interface PublishDetail {
  environment: string;
  locale: string;
  time: string;
  version: number;
}

export interface EntryDoc {
  uid: string;
  title?: string;
  locale: string;
  _version: number;
  _archived?: boolean;
  updated_at: string;
  created_at: string;
  publish_details?: PublishDetail[];
  [field: string]: unknown;
}

/** A field's value when it has none yet. */
export function emptyValue(f: SchemaField): unknown {
  if (f.data_type === 'reference') return [];
  if (f.multiple) return [];
  if (isGroupLike(f)) return {};
  if (f.data_type === 'boolean') return false;
  return null;
}

/** The editor's values for an entry: every schema field (empty ones made explicit), and the title. */
export function valuesOf(schema: readonly SchemaField[], entry?: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!schema.some((f) => f.uid === 'title')) out.title = entry?.title ?? '';
  for (const f of schema) {
    const v = entry && Object.hasOwn(entry, f.uid) ? entry[f.uid] : undefined;
    out[f.uid] = v === undefined ? emptyValue(f) : editable(f, v);
  }
  return out;
}

/** A stored value as the editor holds it: file fields come from the API as assets, the editor picks uids. */
function editable(f: SchemaField, v: unknown): unknown {
  const uidOf = (x: unknown) => (x && typeof x === 'object' && typeof (x as { uid?: unknown }).uid === 'string' ? (x as { uid: string }).uid : x);
  if (f.data_type === 'file') return Array.isArray(v) ? v.map(uidOf) : uidOf(v);
  if (isGroupLike(f)) {
    const one = (item: unknown) => {
      if (!item || typeof item !== 'object' || Array.isArray(item)) return item;
      const g = { ...(item as Record<string, unknown>) };
      for (const sub of f.schema ?? []) if (Object.hasOwn(g, sub.uid)) g[sub.uid] = editable(sub, g[sub.uid]);
      return g;
    };
    return Array.isArray(v) ? v.map(one) : one(v);
  }
  return v;
}

/**
 * The `entry` of a create or update: the schema's fields and the title. An empty text or number is
 * sent as null, which clears the stored value (leaving a field out would keep it).
 */
export function entryBody(schema: readonly SchemaField[], values: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!schema.some((f) => f.uid === 'title') && values.title !== undefined) out.title = values.title;
  for (const f of schema) out[f.uid] = clean(f, values[f.uid]);
  return out;
}

function clean(f: SchemaField, v: unknown): unknown {
  if (v === undefined || v === '') return null;
  if (isGroupLike(f) && v && typeof v === 'object' && !Array.isArray(v)) {
    const g = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const sub of f.schema ?? []) if (Object.hasOwn(g, sub.uid)) out[sub.uid] = clean(sub, g[sub.uid]);
    return out;
  }
  if (Array.isArray(v) && f.data_type !== 'json' && f.data_type !== 'reference') {
    return v.map((item) => (isGroupLike(f) ? clean({ ...f, multiple: false }, item) : item === '' ? null : item)).filter((x) => x !== null);
  }
  return v;
}

/** "production (en-us) v3, staging (en-us) v2" */
export function publishedSummary(details: readonly PublishDetail[] | undefined): string {
  if (!details?.length) return '';
  return details.map((d) => `${d.environment} (${d.locale}) v${d.version}`).join(', ');
}

/** The entry's name in lists: its title, else its uid. */
export function entryName(e: { uid: string; title?: unknown }): string {
  return typeof e.title === 'string' && e.title.trim() ? e.title : e.uid;
}
