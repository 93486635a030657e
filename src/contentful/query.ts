import { InvalidQuery } from './errors.ts';

export { InvalidQuery };

/**
 * Contentful's collection query (search parameters) over entities as the dialect shows them
 * (`{ sys, fields, metadata }`), pure: parse the query string once, then filter, order, page and
 * select a list of entities. The management API's entries, assets and content types lists use it;
 * the delivery API reuses it with its own extra parameters (`locale`, `include`...) and entities
 * whose fields are already resolved to one locale (`fieldsByLocale: false`).
 *
 * What it understands (anything else is a 400 `InvalidQuery` naming the parameter, never ignored):
 * - `skip` (default 0), `limit` (default 100, at most 1000);
 * - `content_type` (entries): the content type whose `fields.*` the query may name;
 * - filters `<path>=v`, `<path>[op]=v` with op `ne`, `in`, `nin`, `all` (comma-separated lists),
 *   `exists` (`true`/`false`), `match` (full text on one field), `lt`, `lte`, `gt`, `gte` (numbers
 *   and dates only). Paths: `sys.*` (`sys.id`, `sys.createdAt`, `sys.contentType.sys.id`,
 *   `sys.archivedAt`...), `fields.<id>[.<locale>][.<sub path>]` (entries: needs `content_type`;
 *   without a locale the default locale's value), `metadata.tags.sys.id`; content types: `name`,
 *   `description`, `displayField`, `sys.*`. Below a field: a Link's `sys.id` (`sys.linkType`,
 *   `sys.type`; what a link to an entry points at, `fields.author.sys.contentType.sys.id` and
 *   `fields.author.fields.name`, only where the caller gives `references`), a Location's `lat` and `lon`, any
 *   path in a JSON object or rich text; nothing below other types. A list value (Array field)
 *   matches when one of its items does (`ne`/`nin`: when none does; `all`: when every given value
 *   is among them). `match` applies to text, range operators and `order` to values with an order.
 * - `query`: full text over every text value of the entity's fields (every locale);
 * - `links_to_entry` / `links_to_asset` (entries): entries with a Link to that id;
 * - `mimetype_group` (assets): attachment, plaintext, image, audio, video, richtext,
 *   presentation, spreadsheet, pdfdocument, archive, code, markup;
 * - `order`: comma-separated paths, `-` for descending (entities without a value sort last);
 * - `select`: comma-separated paths of at most two levels (`sys`, `sys.id`, `fields.title`...).
 *
 * Text matching (`[match]`, `query`) is case-insensitive: every whitespace-separated term must
 * occur in the text (Contentful's own matching tokenizes words; this finds a term inside a word too).
 */

/** `Other`: a list of things with `sys` only to search by (locales, tags, roles, webhooks...). */
export type EntityKind = 'Entry' | 'Asset' | 'ContentType' | 'Other';

/** A field of a content type as Contentful defines it (only what the query needs). */
export interface QueryField {
  id: string;
  type: string;
  linkType?: string;
  items?: { type?: string; linkType?: string };
}

export interface QueryOptions {
  kind: EntityKind;
  /** The content type `content_type` names (entries), as Contentful shows it. */
  contentType?: { sys: { id: string }; fields: QueryField[] };
  /** Locale codes as entities show them (`en-US`), and the default one. */
  locales: { codes: readonly string[]; default: string };
  /** Entities' fields are `{ id: { locale: value } }` (management API, default) or `{ id: value }` (delivery API, one locale). */
  fieldsByLocale?: boolean;
  /** Parameters the caller reads itself (the delivery API's `locale`, `include`...): not refused here. */
  extra?: readonly string[];
  /**
   * Search on references (entries; the delivery and preview APIs give it): a content type as the API
   * shows it, by Contentful id, and an entry as the API shows it, by id (undefined: not shown, so it
   * matches nothing). Absent: a path through a reference is a 400 naming the parameter.
   */
  references?: {
    type: (id: string) => { sys: { id: string }; fields: QueryField[] } | undefined;
    entry: (id: string) => Entity | undefined;
  };
}

/** The largest page, and the default one (Contentful's). */
export const MAX_LIMIT = 1000;
export const DEFAULT_LIMIT = 100;

type Operator = 'eq' | 'ne' | 'in' | 'nin' | 'all' | 'exists' | 'match' | 'lt' | 'lte' | 'gt' | 'gte';
const OPERATORS = new Set<Operator>(['ne', 'in', 'nin', 'all', 'exists', 'match', 'lt', 'lte', 'gt', 'gte']);
const LIST_OPERATORS = new Set<Operator>(['in', 'nin', 'all']);
const RANGE_OPERATORS = new Set<Operator>(['lt', 'lte', 'gt', 'gte']);

/** How values at a path compare: numbers, dates (ISO 8601), booleans, text, or as they come (unknown). */
type ValueType = 'number' | 'date' | 'boolean' | 'text' | 'any';

/** A path into an entity: `get` lists the values there (several through lists), `type` how they compare. */
interface Path {
  name: string;
  get: (e: Entity) => unknown[];
  type: ValueType;
}

interface Filter {
  param: string;
  path: Path;
  op: Operator;
  /** The comparable values given (one, or several for in/nin/all). */
  values: (string | number | boolean)[];
  /** Lowercase terms, for match. */
  terms?: string[];
}

export interface ParsedQuery {
  skip: number;
  limit: number;
  filters: Filter[];
  /** Lowercase terms of `query`. */
  text?: string[];
  linksTo?: { linkType: 'Entry' | 'Asset'; id: string };
  mimetypeGroup?: string;
  order: { path: Path; desc: boolean }[];
  select?: string[][];
  kind: EntityKind;
  fieldsByLocale: boolean;
}

// Entities are JSON objects as the dialect presents them.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Entity = Record<string, any>;

const SYS_TYPES: Record<string, ValueType> = {
  id: 'text',
  type: 'text',
  version: 'number',
  revision: 'number',
  publishedVersion: 'number',
  publishedCounter: 'number',
  archivedVersion: 'number',
  createdAt: 'date',
  updatedAt: 'date',
  publishedAt: 'date',
  firstPublishedAt: 'date',
  archivedAt: 'date',
  deletedAt: 'date',
};
/** Links in `sys` a query may follow to their id (`sys.contentType.sys.id`). */
const SYS_LINKS = new Set(['contentType', 'createdBy', 'updatedBy', 'publishedBy', 'archivedBy', 'space', 'environment']);

/** Every value at `parts` below `v`, flattening lists on the way. */
function dig(v: unknown, parts: readonly string[]): unknown[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v.flatMap((x) => dig(x, parts));
  if (parts.length === 0) return [v];
  if (typeof v !== 'object') return [];
  return dig((v as Record<string, unknown>)[parts[0]], parts.slice(1));
}

function single(params: Record<string, unknown>, key: string): string {
  const v = params[key];
  if (Array.isArray(v)) {
    if (v.length === 1 && typeof v[0] === 'string') return v[0];
    throw new InvalidQuery(key, 'is given more than once: give it once (lists are comma-separated)');
  }
  if (typeof v !== 'string') throw new InvalidQuery(key, 'must be a string');
  return v;
}

function whole(params: Record<string, unknown>, key: string, dflt: number, max: number): number {
  if (params[key] === undefined) return dflt;
  const s = single(params, key);
  if (s === '') return dflt;
  const n = Number(s);
  if (!/^\d+$/.test(s) || !Number.isSafeInteger(n) || n > max) throw new InvalidQuery(key, `must be a whole number from 0 to ${max}`);
  return n;
}

const terms = (s: string) => s.toLowerCase().split(/\s+/).filter(Boolean);

/**
 * How values of field `f` at `sub` (a path below the field's value) compare; a 400 naming `param`
 * for a path the field's values do not have, which would otherwise match nothing, silently: a
 * property of a Symbol or Number (often a locale code that is not one of the space's), or what a
 * Link points at (`fields.author.fields.name`, `fields.author.sys.contentType.sys.id`: Contentful's
 * search on references, which needs the linked entries; a Link holds only its sys.id, linkType, type).
 */
function typeOfField(f: QueryField, sub: readonly string[], param: string, name: string): ValueType {
  const one = f.type === 'Array' ? (f.items ?? {}) : f;
  if (sub.length > 0) {
    const path = sub.join('.');
    if (one.type === 'Link') {
      if (path === 'sys.id' || path === 'sys.linkType' || path === 'sys.type') return 'text';
      throw new InvalidQuery(
        param,
        `searches through a reference (${name}): Herald does so one level deep, on the delivery and preview APIs' entries, for links to entries; here search a reference field by its sys.id (e.g. fields.${f.id}.sys.id[in]=id1,id2)`,
      );
    }
    if (one.type === 'Location') {
      if (sub.length === 1 && (sub[0] === 'lat' || sub[0] === 'lon')) return 'number';
      throw new InvalidQuery(param, `names "${name}": a Location field is searched by fields.${f.id}.lat and fields.${f.id}.lon`);
    }
    // JSON objects and rich text hold nested values of any shape.
    if (one.type === 'Object' || one.type === 'RichText') return 'any';
    throw new InvalidQuery(param, `names "${name}": field ${f.id} is ${one.type === undefined ? 'not an object' : `of type ${one.type}`}, which has no "${path}" to search${f.type === 'Array' ? '' : ' (a locale there must be one of the space\'s)'}`);
  }
  switch (one.type) {
    case 'Integer':
    case 'Number':
      return 'number';
    case 'Date':
      return 'date';
    case 'Boolean':
      return 'boolean';
    case 'Symbol':
    case 'Text':
      return 'text';
    default:
      return 'any';
  }
}

/** Asset fields (fixed): their types, and sub paths below `file`. */
const ASSET_FIELDS: Record<string, QueryField> = {
  title: { id: 'title', type: 'Symbol' },
  description: { id: 'description', type: 'Text' },
  file: { id: 'file', type: 'Object' },
};
const ASSET_FILE_TYPES: Record<string, ValueType> = {
  url: 'text',
  fileName: 'text',
  contentType: 'text',
  'details.size': 'number',
  'details.image.width': 'number',
  'details.image.height': 'number',
};

/**
 * Resolves a dotted path of the query to a Path, or throws naming `param`. `purpose` says what
 * the path is for, for messages.
 */
function resolvePath(name: string, param: string, opts: QueryOptions, refTypes: ReadonlyMap<string, string> = new Map()): Path {
  const parts = name.split('.');
  const root = parts[0];
  if (parts.some((p) => p === '')) throw new InvalidQuery(param, `names the path "${name}", which is not a valid path`);
  if (root === 'sys') {
    const key = parts[1];
    if (parts.length === 1) throw new InvalidQuery(param, 'must name a property of sys, e.g. sys.id');
    if (SYS_LINKS.has(key)) {
      if (parts.length === 4 && parts[2] === 'sys' && parts[3] === 'id') return { name, get: (e) => dig(e.sys, parts.slice(1)), type: 'text' };
      throw new InvalidQuery(param, `names ${parts.slice(0, 2).join('.')}, a Link: filter on ${parts.slice(0, 2).join('.')}.sys.id`);
    }
    if (parts.length === 2 && key in SYS_TYPES) return { name, get: (e) => dig(e.sys, [key]), type: SYS_TYPES[key] };
    throw new InvalidQuery(param, `names "${name}", which is not a property of sys Herald can search (${[...Object.keys(SYS_TYPES), ...[...SYS_LINKS].map((l) => `${l}.sys.id`)].join(', ')})`);
  }
  if (opts.kind === 'Other') throw new InvalidQuery(param, `names "${name}": this list is searched by sys.* only`);
  if (root === 'metadata') {
    if (opts.kind !== 'ContentType' && parts.length === 4 && parts[1] === 'tags' && parts[2] === 'sys' && parts[3] === 'id') {
      return { name, get: (e) => dig(e.metadata, ['tags', 'sys', 'id']), type: 'text' };
    }
    throw new InvalidQuery(param, `names "${name}": of metadata, Herald searches metadata.tags.sys.id only`);
  }
  if (opts.kind === 'ContentType') {
    if (parts.length === 1 && (root === 'name' || root === 'description' || root === 'displayField')) return { name, get: (e) => dig(e, [root]), type: 'text' };
    throw new InvalidQuery(param, `names "${name}": content types are searched by sys.*, name, description and displayField`);
  }
  if (root !== 'fields') throw new InvalidQuery(param, `names "${name}": paths start with sys., fields. or metadata.`);
  if (parts.length < 2) throw new InvalidQuery(param, 'must name a field, e.g. fields.title');
  const id = parts[1];
  let field: QueryField | undefined;
  if (opts.kind === 'Asset') field = ASSET_FIELDS[id];
  else {
    if (!opts.contentType) throw new InvalidQuery(param, 'names a field: give content_type too (fields are searched within one content type)');
    field = opts.contentType.fields.find((f) => f.id === id);
  }
  if (!field) {
    const of = opts.kind === 'Asset' ? 'assets (title, description, file)' : `content type ${opts.contentType!.sys.id}`;
    throw new InvalidQuery(param, `names field "${id}", which is not a field of ${of}`);
  }
  let rest = parts.slice(2);
  let locale: string | undefined;
  const byLocale = opts.fieldsByLocale !== false;
  if (byLocale) {
    const given = rest[0] !== undefined ? opts.locales.codes.find((c) => c.toLowerCase() === rest[0].toLowerCase()) : undefined;
    if (given) {
      locale = given;
      rest = rest.slice(1);
    } else locale = opts.locales.default;
  }
  const one = field.type === 'Array' ? (field.items ?? {}) : field;
  if (opts.kind === 'Entry' && opts.references && one.type === 'Link' && one.linkType === 'Entry' && (rest[0] === 'fields' || rest.join('.') === 'sys.contentType.sys.id')) {
    return referencePath(name, param, opts, opts.references, refTypes, id, rest, byLocale ? locale : undefined);
  }
  let type: ValueType;
  if (opts.kind === 'Asset' && id === 'file') {
    const sub = rest.join('.');
    if (!(sub in ASSET_FILE_TYPES)) throw new InvalidQuery(param, `names "${name}": an asset's file is searched by ${Object.keys(ASSET_FILE_TYPES).map((k) => `fields.file.${k}`).join(', ')}`);
    type = ASSET_FILE_TYPES[sub];
  } else type = typeOfField(field, rest, param, name);
  const fieldId = id;
  return {
    name,
    get: (e) => {
      const f = e.fields?.[fieldId];
      return dig(byLocale ? f?.[locale!] : f, rest);
    },
    type,
  };
}

/**
 * A path through reference field `fieldId` (Contentful's search on references): `sys.contentType.sys.id`
 * of the entries it links to, or `fields.<id>...` of them, which needs the linked content type named by
 * `fields.<fieldId>.sys.contentType.sys.id` (as Contentful asks) to type the path. One level deep: the
 * linked entries' own references are searched by sys.id only. An entry links to several (an Array
 * field): a filter matches when one of them does. Linked entries the API does not show match nothing.
 */
function referencePath(
  name: string,
  param: string,
  opts: QueryOptions,
  refs: NonNullable<QueryOptions['references']>,
  refTypes: ReadonlyMap<string, string>,
  fieldId: string,
  rest: string[],
  locale: string | undefined,
): Path {
  const targets = (e: Entity): Entity[] => {
    const v = e.fields?.[fieldId];
    const ids = dig(locale === undefined ? v : v?.[locale], ['sys', 'id']).filter((x): x is string => typeof x === 'string');
    return ids.map(refs.entry).filter((t): t is Entity => t !== undefined);
  };
  if (rest[0] !== 'fields') return { name, get: (e) => targets(e).flatMap((t) => dig(t.sys, ['contentType', 'sys', 'id'])), type: 'text' };
  const typeParam = `fields.${fieldId}.sys.contentType.sys.id`;
  const typeId = refTypes.get(fieldId);
  if (typeId === undefined) throw new InvalidQuery(param, `searches through reference field ${fieldId}: give ${typeParam}=<content type id> too, as Contentful asks`);
  const type = refs.type(typeId);
  if (!type) throw new InvalidQuery(typeParam, `names content type ${JSON.stringify(typeId)}, which is not one this API shows`);
  const inner = resolvePath(rest.join('.'), param, { ...opts, contentType: type, references: undefined });
  return { name, get: (e) => targets(e).flatMap(inner.get), type: inner.type };
}

function parseValue(raw: string, type: ValueType, param: string): string | number | boolean {
  switch (type) {
    case 'number': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) throw new InvalidQuery(param, `must be a number (got ${JSON.stringify(raw)})`);
      return n;
    }
    case 'date': {
      const t = Date.parse(raw);
      if (Number.isNaN(t)) throw new InvalidQuery(param, `must be a date, ISO 8601 (got ${JSON.stringify(raw)})`);
      return t;
    }
    case 'boolean':
      if (raw !== 'true' && raw !== 'false') throw new InvalidQuery(param, `must be true or false (got ${JSON.stringify(raw)})`);
      return raw === 'true';
    default:
      return raw;
  }
}

/** The parameters every list takes besides filters (`extra` adds the caller's own). */
function knownParameter(key: string, kind: EntityKind): boolean {
  if (['skip', 'limit', 'order', 'select'].includes(key)) return true;
  if (key === 'query') return kind !== 'Other';
  if (kind === 'Entry') return ['content_type', 'links_to_entry', 'links_to_asset'].includes(key);
  if (kind === 'Asset') return key === 'mimetype_group';
  return false;
}

/** Parameters of Contentful's other APIs, with why they are refused here. */
const NOT_HERE: Record<string, string> = {
  include: 'is a parameter of the Content Delivery API; the management API does not resolve links',
  locale: 'is a parameter of the Content Delivery API; the management API returns every locale',
};

/** Reads `content_type` from a query (entries): the id to look up before parse(), or undefined. */
export function contentTypeParam(params: Record<string, unknown>): string | undefined {
  if (params.content_type === undefined) return undefined;
  const v = single(params, 'content_type');
  if (v === '') throw new InvalidQuery('content_type', 'must be a content type id');
  return v;
}

/** Parses a collection query; throws InvalidQuery naming the first parameter it cannot answer. */
export function parseQuery(params: Record<string, unknown>, opts: QueryOptions): ParsedQuery {
  const out: ParsedQuery = {
    skip: whole(params, 'skip', 0, Number.MAX_SAFE_INTEGER),
    limit: whole(params, 'limit', DEFAULT_LIMIT, MAX_LIMIT),
    filters: [],
    order: [],
    kind: opts.kind,
    fieldsByLocale: opts.fieldsByLocale !== false,
  };
  const extra = new Set(opts.extra ?? []);
  // The content type each reference field's search names (fields.<ref>.sys.contentType.sys.id=<id>).
  const refTypes = new Map<string, string>();
  for (const key of Object.keys(params)) {
    const m = /^fields\.([^.[\]]+)\.sys\.contentType\.sys\.id$/.exec(key);
    if (m && typeof params[key] === 'string') refTypes.set(m[1], params[key] as string);
  }
  for (const key of Object.keys(params)) {
    if (extra.has(key) || knownParameter(key, opts.kind)) continue;
    if (key in NOT_HERE) throw new InvalidQuery(key, NOT_HERE[key]);
    const m = /^([^[\]]+)(?:\[([^[\]]*)\])?$/.exec(key);
    if (!m) throw new InvalidQuery(key, 'is not a parameter Herald understands');
    const [, pathName, opName] = m;
    if (opName !== undefined && !OPERATORS.has(opName as Operator)) {
      if (opName === 'near' || opName === 'within') throw new InvalidQuery(key, 'is a location search, which Herald does not support');
      throw new InvalidQuery(key, `uses the operator [${opName}], which is not one of ${[...OPERATORS].map((o) => `[${o}]`).join(' ')}`);
    }
    if (!/^(sys|fields|metadata)\./.test(pathName) && !(opts.kind === 'ContentType' && ['name', 'description', 'displayField'].includes(pathName))) {
      throw new InvalidQuery(key, 'is not a parameter Herald understands');
    }
    const op = (opName ?? 'eq') as Operator;
    const path = resolvePath(pathName, key, opts, refTypes);
    const raw = single(params, key);
    const filter: Filter = { param: key, path, op, values: [] };
    if (op === 'exists') filter.values = [parseValue(raw, 'boolean', key)];
    else if (op === 'match') {
      // Full text: a number, date or boolean holds no words (it would match nothing).
      if (path.type === 'number' || path.type === 'date' || path.type === 'boolean') throw new InvalidQuery(key, `is a full-text search, which applies to text; ${pathName} is not text`);
      filter.terms = terms(raw);
      if (filter.terms.length === 0) throw new InvalidQuery(key, 'must give the text to find');
    } else {
      if (RANGE_OPERATORS.has(op) && path.type !== 'number' && path.type !== 'date') {
        throw new InvalidQuery(key, `compares by order, which applies to numbers and dates; ${pathName} is not one`);
      }
      const list = LIST_OPERATORS.has(op) ? raw.split(',') : [raw];
      filter.values = list.map((v) => parseValue(v, path.type, key));
    }
    out.filters.push(filter);
  }

  if (params.query !== undefined) {
    out.text = terms(single(params, 'query'));
    if (out.text.length === 0) delete out.text;
  }
  for (const k of ['links_to_entry', 'links_to_asset'] as const) {
    if (params[k] === undefined) continue;
    const id = single(params, k);
    if (id === '') throw new InvalidQuery(k, 'must be an id');
    if (out.linksTo) throw new InvalidQuery(k, 'cannot be combined with the other links_to_ parameter');
    out.linksTo = { linkType: k === 'links_to_entry' ? 'Entry' : 'Asset', id };
  }
  if (params.mimetype_group !== undefined) {
    const g = single(params, 'mimetype_group');
    if (!MIMETYPE_GROUPS.includes(g)) throw new InvalidQuery('mimetype_group', `must be one of ${MIMETYPE_GROUPS.join(', ')}`);
    out.mimetypeGroup = g;
  }
  if (params.order !== undefined) {
    for (const item of single(params, 'order').split(',')) {
      const desc = item.startsWith('-');
      const name = desc ? item.slice(1) : item;
      if (name === 'relevance') throw new InvalidQuery('order', 'names relevance, which Herald does not rank by');
      const path = resolvePath(name, 'order', opts, refTypes);
      // A Link, Location, JSON object or rich text has no order: entities would stay as they came.
      if (path.type === 'any') throw new InvalidQuery('order', `names ${name}, which has no order: order by sys.* or a field of type Symbol, Text, Integer, Number, Date or Boolean`);
      out.order.push({ path, desc });
    }
  }
  if (params.select !== undefined) {
    const list = single(params, 'select').split(',').map((s) => s.trim());
    if (list.length > 100) throw new InvalidQuery('select', 'names more than 100 paths');
    out.select = list.map((s) => {
      const parts = s.split('.');
      if (s === '' || parts.length > 2) throw new InvalidQuery('select', `names "${s}": select paths have one or two levels (sys, sys.id, fields.title)`);
      const roots = opts.kind === 'ContentType' ? ['sys', 'name', 'description', 'displayField', 'fields'] : opts.kind === 'Other' ? [parts[0]] : ['sys', 'fields', 'metadata'];
      if (!roots.includes(parts[0])) throw new InvalidQuery('select', `names "${s}": paths start with ${roots.join(', ')}`);
      if (opts.kind === 'Entry' && parts[0] === 'fields' && parts.length === 2) resolvePath(s, 'select', opts);
      return parts;
    });
  }
  return out;
}

/** Contentful's mimetype groups, and which content types fall in each (the rest: attachment). */
export const MIMETYPE_GROUPS = ['attachment', 'plaintext', 'image', 'audio', 'video', 'richtext', 'presentation', 'spreadsheet', 'pdfdocument', 'archive', 'code', 'markup'];

export function mimetypeGroup(contentType: string): string {
  const t = contentType.toLowerCase().split(';')[0].trim();
  if (t.startsWith('image/')) return 'image';
  if (t.startsWith('audio/')) return 'audio';
  if (t.startsWith('video/')) return 'video';
  if (t === 'text/plain') return 'plaintext';
  if (t === 'application/pdf') return 'pdfdocument';
  if (/(zip|x-tar|gzip|x-7z|x-rar|x-bzip)/.test(t)) return 'archive';
  if (/(powerpoint|presentation|keynote)/.test(t)) return 'presentation';
  if (/(excel|spreadsheet|text\/csv|numbers)/.test(t)) return 'spreadsheet';
  if (/(msword|wordprocessing|rtf|opendocument\.text|x-iwork-pages)/.test(t)) return 'richtext';
  if (/(html|xml)/.test(t)) return 'markup';
  if (/(json|javascript|typescript|x-python|x-sh|x-c|css|x-java)/.test(t)) return 'code';
  return 'attachment';
}

/** Comparable form of an entity's value at a path of type `type`; undefined when it cannot compare. */
function comparable(v: unknown, type: ValueType): string | number | boolean | undefined {
  if (type === 'date') {
    const t = typeof v === 'string' ? Date.parse(v) : NaN;
    return Number.isNaN(t) ? undefined : t;
  }
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') return v;
  return undefined;
}

/** The given value in the form `v`'s compares with (paths of unknown type compare by what they hold). */
function sameKind(given: string | number | boolean, v: string | number | boolean): string | number | boolean | undefined {
  if (typeof given === typeof v) return given;
  if (typeof given !== 'string') return undefined;
  if (typeof v === 'number') {
    const n = Number(given);
    return given.trim() === '' || Number.isNaN(n) ? undefined : n;
  }
  if (typeof v === 'boolean') return given === 'true' ? true : given === 'false' ? false : undefined;
  return undefined;
}

function equal(v: string | number | boolean, given: string | number | boolean): boolean {
  return sameKind(given, v) === v;
}

/** Every term occurs in the text (case-insensitive). */
const containsAll = (text: string, t: readonly string[]) => {
  const lower = text.toLowerCase();
  return t.every((x) => lower.includes(x));
};

function matches(e: Entity, f: Filter): boolean {
  const raw = f.path.get(e);
  if (f.op === 'exists') return (raw.length > 0) === f.values[0];
  if (f.op === 'match') return raw.some((v) => typeof v === 'string' && containsAll(v, f.terms!));
  const vals = raw.map((v) => comparable(v, f.path.type)).filter((v): v is string | number | boolean => v !== undefined);
  const any = (given: string | number | boolean) => vals.some((v) => equal(v, given));
  switch (f.op) {
    case 'eq':
      return any(f.values[0]);
    case 'ne':
      return !any(f.values[0]);
    case 'in':
      return f.values.some(any);
    case 'nin':
      return !f.values.some(any);
    case 'all':
      return f.values.every(any);
    default: {
      const g = f.values[0];
      return vals.some((v) => {
        const x = sameKind(g, v);
        if (x === undefined || typeof v === 'boolean') return false;
        if (f.op === 'lt') return v < x;
        if (f.op === 'lte') return v <= x;
        if (f.op === 'gt') return v > x;
        return v >= x;
      });
    }
  }
}

/** Every text value in `v`, Links left out (their ids are not text of the entity). */
function texts(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) v.forEach((x) => texts(x, out));
  else if (v && typeof v === 'object') {
    const sys = (v as Entity).sys;
    if (sys && typeof sys === 'object' && sys.type === 'Link') return out;
    for (const x of Object.values(v)) texts(x, out);
  }
  return out;
}

function linksTo(v: unknown, linkType: string, id: string): boolean {
  if (Array.isArray(v)) return v.some((x) => linksTo(x, linkType, id));
  if (!v || typeof v !== 'object') return false;
  const sys = (v as Entity).sys;
  if (sys && typeof sys === 'object' && sys.type === 'Link') return sys.linkType === linkType && sys.id === id;
  return Object.values(v).some((x) => linksTo(x, linkType, id));
}

/** Whether the entity passes every filter of the query (not paging, order or select). */
export function matchesQuery(e: Entity, q: ParsedQuery): boolean {
  if (!q.filters.every((f) => matches(e, f))) return false;
  if (q.text) {
    // A content type's text is its name and description; an entry's or asset's, its fields'.
    const text = (q.kind === 'ContentType' ? [e.name, e.description].filter((x) => typeof x === 'string') : texts(e.fields ?? {})).join('\n');
    if (!containsAll(text, q.text)) return false;
  }
  if (q.linksTo && !linksTo(e.fields, q.linksTo.linkType, q.linksTo.id)) return false;
  if (q.mimetypeGroup) {
    const files: Entity[] = q.fieldsByLocale ? Object.values(e.fields?.file ?? {}) : [e.fields?.file];
    const types = files.map((f) => String(f?.contentType ?? ''));
    if (!types.some((t) => mimetypeGroup(t) === q.mimetypeGroup)) return false;
  }
  return true;
}

/** Whether the query needs whole entities (filters, text search, order) or only paging. */
export function needsEntities(q: ParsedQuery): boolean {
  return q.filters.length > 0 || q.text !== undefined || q.linksTo !== undefined || q.mimetypeGroup !== undefined || q.order.length > 0;
}

function compareBy(a: Entity, b: Entity, key: { path: Path; desc: boolean }): number {
  const first = (e: Entity) => {
    const v = key.path.get(e).map((x) => comparable(x, key.path.type)).find((x) => x !== undefined);
    return typeof v === 'boolean' ? Number(v) : v;
  };
  const x = first(a);
  const y = first(b);
  if (x === undefined || y === undefined) return x === y ? 0 : x === undefined ? 1 : -1;
  const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
  return key.desc ? -c : c;
}

/** Only the selected paths of an entity. */
export function selectPaths(e: Entity, select: string[][]): Entity {
  const out: Entity = {};
  for (const [root, sub] of select) {
    if (!(root in e)) continue;
    if (sub === undefined) out[root] = e[root];
    else if (e[root] && typeof e[root] === 'object' && sub in e[root]) (out[root] ??= {})[sub] = e[root][sub];
  }
  return out;
}

/**
 * The page of `items` (in the order given: the store's, oldest first) the query asks for: filtered,
 * ordered (stable: equal keys keep the given order), paged and selected, with the total before paging.
 */
export function applyQuery<T extends Entity>(items: readonly T[], q: ParsedQuery): { items: Entity[]; total: number } {
  let list = items.filter((e) => matchesQuery(e, q));
  if (q.order.length) {
    list = list
      .map((e, i) => ({ e, i }))
      .sort((a, b) => {
        for (const key of q.order) {
          const c = compareBy(a.e, b.e, key);
          if (c !== 0) return c;
        }
        return a.i - b.i;
      })
      .map((x) => x.e);
  }
  const page = list.slice(q.skip, q.skip + q.limit);
  return { items: q.select ? page.map((e) => selectPaths(e, q.select!)) : page, total: list.length };
}
