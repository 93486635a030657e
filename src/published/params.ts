import { addError, MAX_LIMIT, parseFlag, parseQuery, parseSort, throwIfErrors, type Query } from '../content/validate.ts';
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
  includeRefTypeUid: boolean;
  /** `include[]`: reference field paths to resolve, each split at its dots. */
  include: string[][];
  /** `only[BASE][]` / `only[<reference field>][]`: fields kept, by where they apply. */
  only: Map<string, string[]>;
  except: Map<string, string[]>;
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

/** How deep an include[] path may go, and how many there may be. */
const MAX_INCLUDE_DEPTH = 5;
const MAX_INCLUDES = 100;

const first = (v: unknown): unknown => (Array.isArray(v) ? v[0] : v);
const list = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

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
  const include: string[][] = [];
  // `include[][]`: the delivery SDK's Entry.includeReference() serializes its list that way.
  for (const key of ['include[]', 'include', 'include[][]']) {
    for (const p of list(q[key])) {
      if (typeof p !== 'string' || !/^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/.test(p)) addError(errors, key, `names ${JSON.stringify(p)}, which is not a field path`);
      else if (p.split('.').length > MAX_INCLUDE_DEPTH) addError(errors, key, `${p} is deeper than ${MAX_INCLUDE_DEPTH} levels`);
      else include.push(p.split('.'));
    }
  }
  if (include.length > MAX_INCLUDES) addError(errors, 'include[]', `at most ${MAX_INCLUDES} paths`);
  const only = new Map<string, string[]>();
  const except = new Map<string, string[]>();
  for (const [k, v] of Object.entries(q)) {
    // only[BASE][]=a&only[BASE][]=b, or numbered: only[BASE][0]=a&only[BASE][1]=b (the delivery SDK).
    const m = /^(only|except)\[([A-Za-z0-9_.]+)\](\[\d*\])?$/.exec(k);
    if (!m) {
      if (/^(only|except)\b/.test(k)) addError(errors, k, 'must be only[BASE][] or only[<reference field>][] (except likewise)');
      continue;
    }
    const fields = list(v);
    if (!fields.every((f) => typeof f === 'string' && /^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/.test(f))) {
      addError(errors, k, 'must list field uids');
      continue;
    }
    const into = m[1] === 'only' ? only : except;
    into.set(m[2], [...(into.get(m[2]) ?? []), ...(fields as string[])]);
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
    includeRefTypeUid: flag('include_reference_content_type_uid'),
    include,
    only,
    except,
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
