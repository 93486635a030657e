/**
 * Pure helpers for restoring entries and content types elsewhere: finding what an entry or a
 * schema refers to, and rewriting those references when the entities they point at were recreated
 * under new uids (Herald gives every new entry and asset a new uid; content types keep theirs).
 *
 * Values are walked by the schema (Contentstack's: `reference` fields hold lists of
 * `{uid, _content_type_uid}`, `file` fields asset uids, `group` fields nested values).
 */
export interface Field {
  uid: string;
  data_type: string;
  multiple?: boolean;
  reference_to?: string[];
  schema?: Field[];
  [key: string]: unknown;
}

export interface EntryRef {
  uid: string;
  _content_type_uid: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isEmpty = (v: unknown) => v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);

/** The content types a schema refers to (reference fields, nested groups included). */
export function schemaRefs(schema: Field[]): Set<string> {
  const out = new Set<string>();
  for (const f of schema) {
    if (f.data_type === 'reference') for (const r of f.reference_to ?? []) out.add(r);
    if (f.data_type === 'group') for (const r of schemaRefs(f.schema ?? [])) out.add(r);
  }
  return out;
}

/**
 * The schema without references to `drop`: those content types leave `reference_to`, and a
 * reference field left with none is removed (a restore adds them back once they exist).
 */
export function stripSchemaRefs(schema: Field[], drop: ReadonlySet<string>): Field[] {
  const out: Field[] = [];
  for (const f of schema) {
    if (f.data_type === 'reference') {
      const to = (f.reference_to ?? []).filter((r) => !drop.has(r));
      if (to.length) out.push({ ...f, reference_to: to });
    } else if (f.data_type === 'group') out.push({ ...f, schema: stripSchemaRefs(f.schema ?? [], drop) });
    else out.push(f);
  }
  return out;
}

/** What an entry's values refer to: entries and assets. */
export function entryRefs(schema: Field[], values: Record<string, unknown>): { entries: EntryRef[]; assets: string[] } {
  const entries: EntryRef[] = [];
  const assets: string[] = [];
  walk(schema, values, {
    reference: (r) => {
      entries.push(r);
      return r.uid;
    },
    asset: (uid) => {
      assets.push(uid);
      return uid;
    },
  });
  return { entries, assets };
}

export interface RefMap {
  /** The target uid of a referenced entry, or null to drop the reference. */
  reference(ref: EntryRef): string | null;
  /** The target uid of an asset in a file field, or null to drop it. */
  asset(uid: string): string | null;
}

/** Rewrites every reference and asset uid in `values` with `map`, dropping what maps to null. */
function walk(schema: Field[], values: Record<string, unknown>, map: RefMap): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of schema) {
    if (!Object.hasOwn(values, f.uid)) continue;
    const v = values[f.uid];
    out[f.uid] = isEmpty(v) ? v : rewrite(f, v, map);
  }
  return out;
}

function rewrite(f: Field, v: unknown, map: RefMap): unknown {
  switch (f.data_type) {
    case 'reference': {
      const list = Array.isArray(v) ? v : [v];
      const refs: EntryRef[] = [];
      for (const item of list) {
        if (!isObject(item) || typeof item.uid !== 'string') continue;
        const ct = typeof item._content_type_uid === 'string' ? item._content_type_uid : (f.reference_to ?? [])[0];
        if (!ct) continue;
        const uid = map.reference({ uid: item.uid, _content_type_uid: ct });
        if (uid) refs.push({ uid, _content_type_uid: ct });
      }
      return refs;
    }
    case 'file': {
      const one = (x: unknown) => {
        const uid = isObject(x) ? x.uid : x;
        return typeof uid === 'string' ? map.asset(uid) : null;
      };
      if (Array.isArray(v)) return v.map(one).filter((x): x is string => x !== null);
      return one(v);
    }
    case 'group': {
      if (Array.isArray(v)) return v.map((item) => (isObject(item) ? walk(f.schema ?? [], item, map) : item));
      return isObject(v) ? walk(f.schema ?? [], v, map) : v;
    }
    default:
      return v;
  }
}

/**
 * The body of an entry save that brings back `doc` under `schema` (the target content type's):
 * every schema field with its value rewritten by `map`, `title` when the schema has no title
 * field, and `tags`. With `clear`, fields `doc` lacks are sent as null so a save over newer
 * content removes what the older version did not have (Herald keeps fields a save leaves out).
 */
export function entryBody(schema: Field[], doc: Record<string, unknown>, map: RefMap, opts: { clear: boolean }): Record<string, unknown> {
  const body = walk(schema, doc, map);
  for (const f of schema) {
    if (!Object.hasOwn(body, f.uid) || body[f.uid] === undefined) {
      if (opts.clear) body[f.uid] = null;
      else delete body[f.uid];
    }
  }
  if (!schema.some((f) => f.uid === 'title') && typeof doc.title === 'string') body.title = doc.title;
  body.tags = Array.isArray(doc.tags) ? doc.tags : [];
  return body;
}
