/**
 * Contentstack's read parameters for entries (and, for only/except, assets), shared by the
 * management API and the delivery API: what they mean is the same, only where the entries come
 * from differs (drafts, or published versions), and that is the `load` function the caller passes.
 *
 *   include[]=author                         replace the reference field's `{uid, _content_type_uid}`
 *   include[]=author.books                   items with the entries themselves, along dotted paths
 *                                            (through groups; 10 references deep at most)
 *   include_reference_content_type_uid=true  resolved entries carry `_content_type_uid`
 *   only[BASE][]=title                       keep only these fields (and `uid`) of the entries;
 *   except[BASE][]=tags                      drop these; `only[author][]=name` applies to the
 *                                            entries resolved into the `author` reference field
 *   count=true                               `{ entries: N }` instead of the list (parsePaging)
 *
 * Reference cycles are safe: resolution follows the include paths, which are finite, and every
 * resolved entry is a fresh copy, so the answer is a tree even when entries point at each other.
 * A reference whose target does not exist (or, for the delivery API, is not published) is left
 * out of the resolved list, as Contentstack does.
 */
import { invalid } from '../errors.ts';
import { isObject } from './guards.ts';
import { isGroupLike, type Field } from './schema.ts';

/** Deepest include path, in references followed. */
export const MAX_INCLUDE_DEPTH = 10;
/** Most include[] paths in one request (Contentstack allows 100 reference fields per query). */
export const MAX_INCLUDES = 100;

/** The parsed parameters. */
export interface ReferenceParams {
  /** include[] paths, split on dots. */
  include: string[][];
  includeContentTypeUid: boolean;
  /** only[X][] / except[X][]: by `BASE` or a reference field path (dotted), the field paths. */
  only: Map<string, string[]>;
  except: Map<string, string[]>;
}

/** Names of the query parameters handled here: plain names, and patterns for the bracketed ones. */
export const REFERENCE_PARAM_NAMES = ['include[]', 'include', 'include_reference_content_type_uid'];
/** `only[BASE][]`, `except[author][]`, `only[BASE]` (one value). */
export const PROJECTION_PARAM = /^(only|except)\[([^\]]+)\](\[\])?$/;

const PATH = /^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/;

function list(v: unknown): string[] {
  if (v === undefined || v === null || v === '') return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

function flag(v: unknown, name: string): boolean {
  if (v === undefined || v === '' || v === 'false' || v === false) return false;
  if (v === 'true' || v === true) return true;
  throw invalid(name, 'must be true or false');
}

/** Reads include[], include_reference_content_type_uid, only[...][] and except[...][] from a query string. */
export function parseReferenceParams(query: Record<string, unknown>): ReferenceParams {
  const include: string[][] = [];
  for (const name of ['include[]', 'include']) {
    for (const path of list(query[name])) {
      if (!PATH.test(path)) throw invalid(name, `"${path}" is not a field path (field uids joined by dots, e.g. author.books)`);
      const parts = path.split('.');
      if (parts.length > MAX_INCLUDE_DEPTH * (1 + 5)) throw invalid(name, `"${path}" is deeper than ${MAX_INCLUDE_DEPTH} references`);
      include.push(parts);
    }
  }
  if (include.length > MAX_INCLUDES) throw invalid('include[]', `at most ${MAX_INCLUDES} paths`);
  const only = new Map<string, string[]>();
  const except = new Map<string, string[]>();
  for (const [name, value] of Object.entries(query)) {
    const m = PROJECTION_PARAM.exec(name);
    if (!m) continue;
    const target = m[1] === 'only' ? only : except;
    const base = m[2];
    if (base !== 'BASE' && !PATH.test(base)) throw invalid(name, `"${base}" is not BASE or a reference field uid`);
    for (const f of list(value)) {
      if (!PATH.test(f)) throw invalid(name, `"${f}" is not a field path`);
      target.set(base, [...(target.get(base) ?? []), f]);
    }
  }
  return { include, includeContentTypeUid: flag(query.include_reference_content_type_uid, 'include_reference_content_type_uid'), only, except };
}

/** An entry as the resolver sees it: its fields, and its content type's uid. */
export interface LoadedEntry {
  entry: Record<string, unknown>;
  contentType: string;
}

export interface ResolveDeps {
  /** The schema of a content type (undefined: unknown, its references are not followed). */
  schemaOf(contentType: string): Promise<Field[] | undefined>;
  /** The entries with these uids that the reader may see (missing ones are left out). */
  load(uids: string[]): Promise<Map<string, LoadedEntry>>;
}

/** include paths as a tree: `a.b`, `a.c` -> { a: { b: {}, c: {} } }. */
interface Trie {
  [segment: string]: Trie;
}

function trieOf(paths: string[][]): Trie {
  const root: Trie = Object.create(null);
  for (const p of paths) {
    let node = root;
    for (const seg of p) node = node[seg] ??= Object.create(null);
  }
  return root;
}

/** A place where fields live: an entry or a group's value, with the schema that describes it. */
interface Holder {
  obj: Record<string, unknown>;
  schema: Field[];
  /** The reference field path from the top entry, for only/except on resolved entries. */
  refPath: string;
}

/**
 * Resolves `params.include` in `entries` (all of content type `contentType`), in place, and
 * applies only/except. Returns the same array.
 */
export async function applyReferenceParams(
  entries: Array<Record<string, unknown>>,
  contentType: string,
  params: ReferenceParams,
  deps: ResolveDeps,
): Promise<Array<Record<string, unknown>>> {
  if (params.include.length > 0) {
    const schema = await deps.schemaOf(contentType);
    if (schema) await expand(entries.map((obj) => ({ obj, schema, refPath: '' })), trieOf(params.include), params, deps, 0);
  }
  const only = params.only.get('BASE');
  const except = params.except.get('BASE');
  for (const e of entries) project(e, only, except);
  return entries;
}

async function expand(holders: Holder[], trie: Trie, params: ReferenceParams, deps: ResolveDeps, depth: number): Promise<void> {
  for (const [segment, sub] of Object.entries(trie)) {
    // Group fields: descend into their values with the group's schema, same depth.
    const groupHolders: Holder[] = [];
    const refSlots: Array<{ holder: Holder; field: Field }> = [];
    for (const h of holders) {
      const field = h.schema.find((f) => f.uid === segment);
      if (!field) continue;
      const value = h.obj[segment];
      if (isGroupLike(field)) {
        for (const item of Array.isArray(value) ? value : [value]) {
          if (isObject(item)) groupHolders.push({ obj: item, schema: (field.schema as Field[] | undefined) ?? [], refPath: h.refPath });
        }
      } else if (field.data_type === 'reference') {
        refSlots.push({ holder: h, field });
      }
    }
    if (groupHolders.length) await expand(groupHolders, sub, params, deps, depth);
    if (refSlots.length === 0) continue;
    if (depth >= MAX_INCLUDE_DEPTH) throw invalid('include[]', `is deeper than ${MAX_INCLUDE_DEPTH} references`);
    const uids = new Set<string>();
    for (const { holder } of refSlots) for (const r of refsIn(holder.obj[segment])) uids.add(r.uid);
    const loaded = uids.size ? await deps.load([...uids]) : new Map<string, LoadedEntry>();
    const next: Holder[] = [];
    for (const { holder } of refSlots) {
      const path = holder.refPath ? `${holder.refPath}.${segment}` : segment;
      const resolved: Array<Record<string, unknown>> = [];
      for (const r of refsIn(holder.obj[segment])) {
        const found = loaded.get(r.uid);
        if (!found) continue;
        // A fresh copy per place: the answer stays a tree when references form a cycle, and
        // resolving or projecting one place never changes another.
        const schema = await deps.schemaOf(found.contentType);
        const copy = changesNested(schema ?? [], Object.keys(sub).length > 0, params.except.get(path)) ? copyTree(found.entry) : { ...found.entry };
        if (params.includeContentTypeUid) copy._content_type_uid = found.contentType;
        if (schema) next.push({ obj: copy, schema, refPath: path });
        resolved.push(copy);
      }
      holder.obj[segment] = resolved;
    }
    if (Object.keys(sub).length) await expand(next, sub, params, deps, depth + 1);
    // only/except for entries resolved into this field, after their own references are resolved.
    for (const h of next) project(h.obj, params.only.get(h.refPath), params.except.get(h.refPath));
  }
}

/**
 * Whether resolving changes values nested inside an entry (of `schema`), not only its own keys:
 * include[] paths below it that may pass through a group (the group's value gets the resolved
 * entries), or an except[] path into a field (`a.b` deletes inside `a`). Then the entry must be
 * copied deep before resolution; otherwise a shallow copy keeps every change to itself
 * (include[] replaces a reference field's value, only/except of top-level fields add and delete
 * keys), and shared nested values are never written to.
 */
export function changesNested(schema: Field[], includesBelow: boolean, except: string[] | undefined): boolean {
  return (includesBelow && schema.some(isGroupLike)) || (except ?? []).some((p) => p.includes('.'));
}

/**
 * A deep copy of JSON-shaped data (plain objects, arrays, primitives), as structuredClone makes
 * one but ~10x faster on entries (no serializer in between): include[] copies every resolved entry,
 * and the delivery API every published one, per request. Anything else (a Date, a Buffer) is
 * handed to structuredClone. Entries are trees; a cycle here would be a bug upstream.
 */
export function copyTree<T>(v: T): T {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) {
    const out = new Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = copyTree(v[i]);
    return out as T;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return structuredClone(v);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) out[k] = copyTree((v as Record<string, unknown>)[k]);
  return out as T;
}

function refsIn(v: unknown): Array<{ uid: string }> {
  return (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]).filter((r): r is { uid: string } => isObject(r) && typeof r.uid === 'string');
}

/**
 * only / except on one entry or asset, in place: `only` keeps the listed field paths (and `uid`),
 * `except` removes them. Paths are dotted into groups.
 */
export function project(doc: Record<string, unknown>, only: string[] | undefined, except: string[] | undefined): Record<string, unknown> {
  if (only?.length) {
    const kept = pick(doc, only.map((p) => p.split('.')));
    for (const k of Object.keys(doc)) if (k !== 'uid' && !(k in kept)) delete doc[k];
    for (const [k, v] of Object.entries(kept)) doc[k] = v;
  }
  for (const p of except ?? []) remove(doc, p.split('.'));
  return doc;
}

function pick(obj: Record<string, unknown>, paths: string[][]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const byHead = new Map<string, string[][]>();
  for (const [head, ...rest] of paths) byHead.set(head, [...(byHead.get(head) ?? []), rest]);
  for (const [head, rests] of byHead) {
    if (!Object.hasOwn(obj, head)) continue;
    const v = obj[head];
    if (rests.some((r) => r.length === 0)) out[head] = v;
    else if (Array.isArray(v)) out[head] = v.map((item) => (isObject(item) ? pick(item, rests) : item));
    else if (isObject(v)) out[head] = pick(v, rests);
  }
  return out;
}

function remove(obj: unknown, path: string[]): void {
  if (Array.isArray(obj)) {
    for (const item of obj) remove(item, path);
    return;
  }
  if (!isObject(obj)) return;
  const [head, ...rest] = path;
  if (rest.length === 0) delete obj[head];
  else if (Object.hasOwn(obj, head)) remove(obj[head], rest);
}
