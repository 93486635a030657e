import { HeraldError } from '../errors.ts';
import { json, type Queryable, type Tx } from '../store/db.ts';
import { iso, type Scope } from './context.ts';
import type { Field } from './schema.ts';

/**
 * Content types and global fields are stored alike (tables content_types and global_fields): one
 * row per uid per branch, the document as the API returns it in `doc` (JSON), and its `_version`
 * in `version` too, so that an update is written only over the version it was made from. What
 * differs (checks, events, what a read resolves) stays with each (content-types.ts,
 * global-fields.ts).
 */
/** A content type or global field as stored and returned. */
export interface SchemaDoc {
  uid: string;
  title: string;
  description: string;
  schema: Field[];
  created_at: string;
  updated_at: string;
  created_by: string;
  updated_by: string;
  _version: number;
  [key: string]: unknown;
}

/** The rows of one table, named in errors as `noun` ("Content type") with field paths under `key` ("content_type"). */
export function schemaDocs<D extends SchemaDoc>(table: 'content_types' | 'global_fields', noun: string, key: string) {
  const select = `SELECT doc FROM ${table} WHERE api_key = ? AND branch = ? AND uid = ?`;
  const get = async (q: Queryable, scope: Scope, uid: string): Promise<D | undefined> => {
    const row = await q.get<{ doc: string }>(select, [scope.api_key, scope.branch, uid]);
    return row ? json<D>(row.doc) : undefined;
  };
  const parsed = new ParsedTexts<D>();
  return {
    /** As stored. */
    get,

    /**
     * As stored, with the row's text: JSON.stringify(doc)'s very bytes, as every write of the row
     * (insert, write, a branch's copy) makes it with JSON.stringify. The doc is shared and frozen
     * (ParsedTexts): for readers that never change it, as an entry's save.
     */
    async getWithText(q: Queryable, scope: Scope, uid: string): Promise<{ doc: Readonly<D>; text: string } | undefined> {
      const row = await q.get<{ doc: string }>(select, [scope.api_key, scope.branch, uid]);
      return row ? { doc: parsed.parse(`${scope.api_key}/${scope.branch}/${uid}`, row.doc), text: row.doc } : undefined;
    },

    /** Every one of the branch, oldest first, as stored. */
    async list(q: Queryable, scope: Scope): Promise<D[]> {
      const rows = await q.all<{ doc: string }>(`SELECT doc FROM ${table} WHERE api_key = ? AND branch = ? ORDER BY created_at, uid`, [scope.api_key, scope.branch]);
      return rows.map((r) => json<D>(r.doc));
    },

    async uids(q: Queryable, scope: Scope): Promise<Set<string>> {
      const rows = await q.all<{ uid: string }>(`SELECT uid FROM ${table} WHERE api_key = ? AND branch = ?`, [scope.api_key, scope.branch]);
      return new Set(rows.map((r) => r.uid));
    },

    /**
     * Stores `value` as version 1, made now by the caller, with `system` keys after the times
     * (Contentstack's: inbuilt_class...). A uid the branch has already: 409 naming `<key>.uid`.
     */
    async insert(tx: Tx, scope: Scope, value: { uid: string }, system: Record<string, unknown>): Promise<D> {
      if (await get(tx, scope, value.uid)) {
        throw new HeraldError('conflict', `${noun} '${value.uid}' already exists.`, { errors: { [`${key}.uid`]: ['already exists'] } });
      }
      const now = Date.now();
      const doc = {
        ...value,
        created_at: iso(now),
        updated_at: iso(now),
        created_by: scope.caller.actor,
        updated_by: scope.caller.actor,
        _version: 1,
        ...system,
      } as unknown as D;
      await tx.run(`INSERT INTO ${table} (api_key, branch, uid, version, doc, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`, [
        scope.api_key,
        scope.branch,
        doc.uid,
        1,
        JSON.stringify(doc),
        now,
        now,
      ]);
      return doc;
    },

    /** `current` changed by `value` now, by the caller: its next version, not yet written (see `write`). */
    next(scope: Scope, current: D, value: object): D {
      return { ...current, ...value, updated_at: iso(Date.now()), updated_by: scope.caller.actor, _version: current._version + 1 };
    },

    /** Writes `doc` (from `next`) over the version it was made from; 409 when that changed meanwhile. */
    async write(tx: Tx, scope: Scope, doc: D): Promise<void> {
      const { changes } = await tx.run(`UPDATE ${table} SET version = ?, doc = ?, updated_at = ? WHERE api_key = ? AND branch = ? AND uid = ? AND version = ?`, [
        doc._version,
        JSON.stringify(doc),
        Date.parse(doc.updated_at),
        scope.api_key,
        scope.branch,
        doc.uid,
        doc._version - 1,
      ]);
      if (changes === 0) throw new HeraldError('conflict', `${noun} '${doc.uid}' changed meanwhile; fetch it and try again.`);
    },

    async remove(tx: Tx, scope: Scope, uid: string): Promise<void> {
      await tx.run(`DELETE FROM ${table} WHERE api_key = ? AND branch = ? AND uid = ?`, [scope.api_key, scope.branch, uid]);
    },
  };
}

/**
 * The doc last parsed from each row's text, reused while the row's text is the same: an entry's save
 * read its content type's row and parsed it every time (2.9% of an API create's CPU profile with a
 * one-field type, session 23; the parse grows with the schema). The row is still read on every save,
 * so a change made by any process (another version, a branch's copy) is a new text and parsed anew;
 * equal texts parse to equal docs. Each doc is frozen, arrays and objects all the way down, as it is
 * shared by every save that reads it: one that tried to change it would throw, not change the others'.
 * Bounded by the texts' total length (PARSED_CHARS): past it, emptied and started again.
 */
export class ParsedTexts<D> {
  private docs = new Map<string, { text: string; doc: D }>();
  private chars = 0;

  /** `text` parsed (JSON), frozen: the one parsed before under `key` when its text was the same. */
  parse(key: string, text: string): D {
    const hit = this.docs.get(key);
    if (hit !== undefined && hit.text === text) return hit.doc;
    const doc = deepFreeze(json<D>(text));
    // The text replaced no longer counts; then, past the bound, start again.
    if (hit !== undefined) this.chars -= hit.text.length;
    if (this.chars + text.length > PARSED_CHARS) {
      this.docs.clear();
      this.chars = 0;
    }
    this.docs.set(key, { text, doc });
    this.chars += text.length;
    return doc;
  }
}

/** ParsedTexts' bound: 4 M characters of row text (with their docs, ~20-30 MB at most). */
const PARSED_CHARS = 4_000_000;

/** `value` with every object and array in it frozen (JSON's: no cycles). */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
