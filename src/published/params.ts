import { addError, throwIfErrors } from '../content/field-errors.ts';
import { MAX_LIMIT, parseFlag, parseQuery, parseSort, type Query } from '../content/read-query.ts';
import { parseReferenceParams, type ReferenceParams } from '../content/query-params.ts';
import { fieldErrors } from '../errors.ts';

/**
 * The query parameters of Contentstack's Content Delivery API, read into one plain object
 * (pure: no store). Every parameter the CDA defines is either read here or refused with a 422
 * naming it; parameters it does not define are ignored, as the CDA does.
 */
export interface ReadParams {
  environment?: string;
  locale?: string;
  includeFallback: boolean;
  includeCount: boolean;
  includeContentType: boolean;
  includeBranch: boolean;
  /** `count=true`: only the total (`{ entries: N }`). */
  count: boolean;
  /** include[], include_reference_content_type_uid, only/except (src/content/query-params.ts). */
  refs: ReferenceParams;
  query?: Query;
  sort?: { field: string; dir: 1 | -1 };
  skip: number;
  limit: number;
}

/** CDA parameters Herald does not implement: refused by name rather than ignored. */
const REFUSED: Record<string, string> = {
  include_owner: 'is not supported: Herald entries carry created_by/updated_by uids only',
  'include_embedded_items[]': 'is not supported: Herald has no JSON RTE embedded items',
  include_metadata: 'is not supported: Herald keeps no entry metadata',
  include_dimension: 'is not supported',
  include_applied_variants: 'is not supported: Herald has no variants',
  include_schema: 'is not supported: use include_content_type',
  typeahead: 'is not supported',
  tags: 'is not supported: filter on tags with query={"tags":{"$in":[...]}}',
  version: 'is not supported: the delivery API serves the published version',
};

const first = (v: unknown): unknown => (Array.isArray(v) ? v[0] : v);

export function parseReadParams(q: Record<string, unknown>): ReadParams {
  const errors = fieldErrors();
  for (const [k, why] of Object.entries(REFUSED)) if (q[k] !== undefined) addError(errors, k, why);
  const text = (k: string) => {
    const v = first(q[k]);
    if (v === undefined || v === '') return undefined;
    if (typeof v !== 'string') addError(errors, k, 'must be text');
    return v as string;
  };
  const flag = (k: string) => parseFlag(first(q[k]), k, errors);
  const whole = (k: string, dflt: number, min: number, max: number) => {
    const v = first(q[k]);
    if (v === undefined || v === '') return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) addError(errors, k, `must be a whole number from ${min} to ${max}`);
    return n;
  };
  // include[], only/except and include_reference_content_type_uid mean what they mean on the
  // management API: one parser (src/content/query-params.ts). The delivery SDK's spellings are
  // normalized first: Entry.includeReference() sends `include[][]`, only()/except() with a list
  // number their items (`only[BASE][0]`).
  let refs: ReferenceParams = { include: [], includeContentTypeUid: false, only: new Map(), except: new Map() };
  try {
    refs = parseReferenceParams(normalizeReferenceKeys(q));
  } catch (err) {
    const e = err as { errors?: Record<string, string[]> };
    if (e.errors) for (const [f, ps] of Object.entries(e.errors)) for (const p of ps) addError(errors, f, p);
    else throw err;
  }
  let query: Query | undefined;
  try {
    query = parseQuery(first(q.query));
  } catch (err) {
    const e = err as { errors?: Record<string, string[]> };
    if (e.errors) for (const [f, ps] of Object.entries(e.errors)) for (const p of ps) addError(errors, f, p);
    else throw err;
  }
  let sort: ReadParams['sort'];
  if (q.asc !== undefined || q.desc !== undefined) {
    try {
      sort = parseSort({ asc: first(q.asc), desc: first(q.desc) });
    } catch (err) {
      const e = err as { errors?: Record<string, string[]> };
      if (e.errors) for (const [f, ps] of Object.entries(e.errors)) for (const p of ps) addError(errors, f, p);
      else throw err;
    }
  }
  const out: ReadParams = {
    environment: text('environment'),
    locale: text('locale')?.toLowerCase(),
    includeFallback: flag('include_fallback'),
    includeCount: flag('include_count'),
    includeContentType: flag('include_content_type'),
    includeBranch: flag('include_branch'),
    count: flag('count'),
    refs,
    query,
    sort,
    skip: whole('skip', 0, 0, Number.MAX_SAFE_INTEGER),
    limit: whole('limit', MAX_LIMIT, 1, MAX_LIMIT),
  };
  // Read for completeness: these change nothing Herald would not do anyway.
  flag('include_publish_details');
  flag('include_global_field_schema');
  throwIfErrors(errors);
  return out;
}

/** `include[][]` as `include[]`, `only[X][0]`, `only[X][1]` as `only[X][]`. */
function normalizeReferenceKeys(q: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const add = (k: string, v: unknown) => {
    const prev = out[k];
    out[k] = prev === undefined ? v : [...(Array.isArray(prev) ? prev : [prev]), ...(Array.isArray(v) ? v : [v])];
  };
  for (const [k, v] of Object.entries(q)) {
    if (k === 'include[][]') add('include[]', v);
    else {
      const m = /^((only|except)\[[^\]]+\])\[\d+\]$/.exec(k);
      add(m ? `${m[1]}[]` : k, v);
    }
  }
  return out;
}
