/**
 * The read query language of management lists: paging (`skip`, `limit`, `include_count`,
 * `count`), sorting (`asc`/`desc`) and the `query` filter, parsed and applied to documents as
 * the API returns them.
 */
import type { FieldErrors } from '../errors.ts';
import { addError, throwIfErrors, validationError } from './field-errors.ts';
import { isObject, own } from './guards.ts';

/** Largest page of a list. */
export const MAX_LIMIT = 100;

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
