import { fileUrl, type AssetUrlKey } from '../content/asset-urls.ts';
import { iso, type Scope } from '../content/context.ts';
import { listContentTypes, type ContentTypeDoc } from '../content/content-types.ts';
import { getEnvironment } from '../content/environments.ts';
import { listLocales, masterLocale, type LocaleDoc } from '../content/locales.ts';
import { isObject } from '../content/guards.ts';
import { contentfulFieldDef, contentfulFields, contentfulLocale, contentTypeEntity, contentTypeId, fieldMeta, link, type SysContext } from '../contentful/entities.ts';
import { InvalidQuery } from '../contentful/errors.ts';
import { activatedDefinitions } from '../contentful/content-types.ts';
import { publicTags, type TagEntity } from '../contentful/tags.ts';
import { contentfulIds } from '../contentful/schema.ts';
import { applyQuery, contentTypeParam, MAX_LIMIT, needsEntities, parseQuery, selectPaths, type QueryField } from '../contentful/query.ts';
import { HeraldError, notFound } from '../errors.ts';
import { eventFromRow, type EventRow } from '../events/record.ts';
import { json, type Queryable } from '../store/db.ts';
import type { Reader } from './tokens.ts';
import { stackSeq } from './view.ts';

/**
 * Contentful's Content Delivery API and Content Preview API over Herald's store:
 * `/spaces/{space}/environments/{env}/entries|assets|content_types|locales` and `/sync`.
 *
 * A delivery key reads what is published in the environment: Contentful's environment E is the
 * branch E (`master`: main), and publishing there publishes to the Herald environment named E
 * (the dialect's rule, README "Contentful dialect"), so the delivery API reads the publications
 * to that environment, never drafts. A preview key reads the drafts (archived entries and assets
 * left out), as Contentful's Preview API does. Entries show one locale (`locale`, default the
 * master; a field missing in it falls back along the locale's fallback chain) or every locale
 * (`locale=*`). Links resolve to `include` levels (default 1, at most 10) into
 * `includes.Entry` / `includes.Asset`; links to what this API cannot see are listed in `errors`
 * as notResolvable. Collections take Contentful's search parameters (src/contentful/query.ts).
 */
export interface CfDeps {
  db: Queryable;
  assetUrlKey: AssetUrlKey;
}

export interface CfContext {
  reader: Reader;
  scope: Scope;
  sys: SysContext;
  preview: boolean;
  /**
   * `X-Contentful-Locale-Based-Publishing: true` on a delivery key's read: an entry or asset is
   * shown in a locale only where it is published in that locale (see localeBasedOf).
   */
  localeBased: boolean;
  /** The Herald environment publications are read from (delivery); undefined: nothing published. */
  envUid?: string;
  seq: number;
  origin: string;
  master: string;
  locales: LocaleDoc[];
  /**
   * The environment's public tags, as served at /tags (oldest first). Entries' and assets'
   * `metadata.tags` show these only. Tags are not events, so the seq does not move with them:
   * `tagsKey` (their ids and versions) is part of every cache key and ETag of a read.
   */
  tags: TagEntity[];
  publicTagIds: Set<string>;
  tagsKey: string;
}

/** The request header Contentful's locale-based publishing is asked for with. */
export const LOCALE_BASED_HEADER = 'X-Contentful-Locale-Based-Publishing';

/**
 * The `X-Contentful-Locale-Based-Publishing` header: `true` makes a delivery read follow each
 * locale's publishing (Contentful's CDA reference, Locales: an entry or asset is returned in a
 * locale only where that locale is published; a published fallback locale does not make it
 * visible, but still fills its missing fields); absent or `false`: entry-level, as before. Any
 * other value is a 400 naming the header. Herald publishes per locale (a publication per locale,
 * the dialect's `add.fields['*']`), so "published in L" is "has a publication in L".
 */
export function localeBasedOf(raw: string | string[] | undefined): boolean {
  if (raw === undefined) return false;
  const v = (Array.isArray(raw) ? raw.join(',') : raw).trim().toLowerCase();
  if (v === 'true') return true;
  if (v === 'false' || v === '') return false;
  const problem = `must be true or false (got ${JSON.stringify(Array.isArray(raw) ? raw.join(',') : raw)})`;
  throw new HeraldError('bad_request', `The header ${LOCALE_BASED_HEADER} ${problem}.`, { errors: { [LOCALE_BASED_HEADER]: [problem] } });
}

export async function openContentfulRead(deps: CfDeps, reader: Reader, spaceId: string, environmentId: string, origin: string, localeBased = false): Promise<CfContext> {
  const branch = environmentId === 'master' ? 'main' : environmentId;
  if (reader.api_key !== spaceId) throw new HeraldError('not_found', 'The resource could not be found.');
  if (!reader.branches.includes(branch)) throw new HeraldError('not_found', `Environment ${environmentId} is not one this key reads.`);
  if (!(await deps.db.get('SELECT 1 AS ok FROM branches WHERE api_key = ? AND uid = ?', [spaceId, branch]))) throw new HeraldError('not_found', `Environment ${environmentId} was not found.`);
  const env = await getEnvironment(deps.db, spaceId, environmentId);
  const scope: Scope = { api_key: spaceId, branch, caller: { kind: 'token', api_key: spaceId, token_uid: reader.token_uid, actor: reader.token_uid } };
  const tags = await publicTags(deps.db, scope, { spaceId, environmentId });
  return {
    tags,
    publicTagIds: new Set(tags.map((t) => t.sys.id)),
    // A rename moves the version: the cached /tags answers go stale with it.
    tagsKey: tags.map((t) => `${t.sys.id}.${t.sys.version}`).join(','),
    reader,
    scope,
    sys: { spaceId, environmentId },
    preview: reader.kind === 'preview',
    // Contentful's Preview API ignores the header (it shows drafts whatever their publishing).
    localeBased: localeBased && reader.kind !== 'preview',
    envUid: env?.uid,
    seq: await stackSeq(deps.db, spaceId),
    origin,
    master: await masterLocale(deps.db, spaceId),
    locales: await listLocales(deps.db, spaceId),
  };
}

/** An entity as this API can see it: an entry's lines by locale, or an asset. */
interface Source {
  entries: Map<string, { ct: string; lines: Array<{ locale: string; doc: Record<string, unknown> }>; publishedAt: number; version: number; seq: number }>;
  /** `locales`: those the asset is published in (delivery; empty for preview, which ignores them). */
  assets: Map<string, { doc: Record<string, unknown>; version: number; publishedAt: number; seq: number; locales: Set<string> }>;
  /**
   * Entries as shown (shownEntry), by Contentful environment id and locale, then uid; null: not
   * shown (its content type is gone). Filled as they are asked for; dropped with the source when
   * the seq moves on. Shared by requests: never mutated.
   */
  shaped: Map<string, Map<string, Record<string, any> | null>>;
  /** Uids of the entries shown, by content type uid ('': all), in the source's order; filled as asked for. */
  known: Map<string, string[]>;
}

const sources = new Map<string, { seq: number; source: Source }>();
const MAX_SOURCES = 32;

/** What the key sees, as of ctx.seq: publications to the environment, or the drafts (preview). Cached per seq. */
async function sourceOf(deps: CfDeps, ctx: CfContext): Promise<Source> {
  const id = `${ctx.scope.api_key}\u0000${ctx.scope.branch}\u0000${ctx.preview ? 'preview' : ctx.envUid}`;
  const hit = sources.get(id);
  if (hit && hit.seq === ctx.seq) return hit.source;
  const source: Source = { entries: new Map(), assets: new Map(), shaped: new Map(), known: new Map() };
  if (ctx.preview) {
    const rows = await deps.db.all<{ uid: string; locale: string; content_type_uid: string; version: number; doc: string; updated_at: number }>(
      'SELECT uid, locale, content_type_uid, version, doc, updated_at FROM entries WHERE api_key = ? AND branch = ? AND archived = 0 ORDER BY created_at, uid, locale',
      [ctx.scope.api_key, ctx.scope.branch],
    );
    for (const r of rows) addLine(source, r.uid, r.content_type_uid, r.locale, json(r.doc), Number(r.updated_at), Number(r.version), 0);
    const assets = await deps.db.all<{ uid: string; version: number; doc: string; updated_at: number }>(
      'SELECT uid, version, doc, updated_at FROM assets WHERE api_key = ? AND branch = ? AND archived = 0 ORDER BY created_at, uid',
      [ctx.scope.api_key, ctx.scope.branch],
    );
    for (const a of assets) source.assets.set(a.uid, { doc: json(a.doc), version: Number(a.version), publishedAt: Number(a.updated_at), seq: 0, locales: new Set() });
  } else if (ctx.envUid) {
    const rows = await deps.db.all<{ module: string; uid: string; locale: string; content_type_uid: string | null; version: number; doc: string; published_at: number; seq: number }>(
      `SELECT module, uid, locale, content_type_uid, version, doc, published_at, seq FROM publications
       WHERE api_key = ? AND branch = ? AND environment = ? ORDER BY created_at, uid, locale`,
      [ctx.scope.api_key, ctx.scope.branch, ctx.envUid],
    );
    for (const r of rows) {
      if (r.module === 'entry') addLine(source, r.uid, r.content_type_uid ?? '', r.locale, json(r.doc), Number(r.published_at), Number(r.version), Number(r.seq));
      else {
        const locales = source.assets.get(r.uid)?.locales ?? new Set<string>();
        locales.add(r.locale);
        if (!source.assets.has(r.uid) || r.locale === ctx.master) source.assets.set(r.uid, { doc: json(r.doc), version: Number(r.version), publishedAt: Number(r.published_at), seq: Number(r.seq), locales });
      }
    }
  }
  sources.set(id, { seq: ctx.seq, source });
  if (sources.size > MAX_SOURCES) sources.delete(sources.keys().next().value!);
  return source;
}

function addLine(s: Source, uid: string, ct: string, locale: string, doc: Record<string, unknown>, at: number, version: number, seq: number) {
  let e = s.entries.get(uid);
  if (!e) s.entries.set(uid, (e = { ct, lines: [], publishedAt: at, version: 0, seq }));
  e.lines.push({ locale, doc });
  e.publishedAt = Math.max(e.publishedAt, at);
  e.version += version;
  e.seq = Math.max(e.seq, seq);
}

/** `locale`: undefined (the master), `*` (every locale), or a code of the space (either spelling). */
function readLocale(ctx: CfContext, raw: unknown): string {
  if (raw === undefined || raw === '') return ctx.master;
  const v = String(Array.isArray(raw) ? raw[0] : raw);
  if (v === '*') return '*';
  const l = ctx.locales.find((x) => x.code === v.toLowerCase());
  if (!l) throw new InvalidQuery('locale', `names ${JSON.stringify(v)}, which is not a locale of this space`);
  return l.code;
}

function chainOf(ctx: CfContext, code: string): string[] {
  const out: string[] = [];
  for (let c: string | null | undefined = code; c && !out.includes(c) && out.length < 10; ) {
    out.push(c);
    c = c === ctx.master ? null : (ctx.locales.find((l) => l.code === c)?.fallback_locale ?? ctx.master);
  }
  return out;
}

/** Picks one locale's values (with fallback per field) out of `{ field: { Locale: value } }`. */
function oneLocale(fields: Record<string, Record<string, unknown>>, chain: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const codes = chain.map(contentfulLocale);
  for (const [id, byLocale] of Object.entries(fields)) {
    const c = codes.find((l) => byLocale[l] !== undefined);
    if (c !== undefined) out[id] = byLocale[c];
  }
  return out;
}

interface Shape {
  locale: string;
  /** Entries' content types by uid, as last activated (activatedDefinitions: drafts left out, so their entries are not shown). */
  types: Map<string, ContentTypeDoc>;
  ids: (uid: string) => string;
}

function baseSys(ctx: CfContext, type: string, id: string, createdAt: string, updatedAt: string, revision: number, locale: string) {
  return {
    space: link('Space', ctx.sys.spaceId),
    id,
    type,
    createdAt,
    updatedAt,
    environment: link('Environment', ctx.sys.environmentId),
    revision,
    ...(locale === '*' ? {} : { locale: contentfulLocale(locale) }),
  };
}

/** Locale-based publishing hides an entity in a locale it is not published in (`*`: every locale shows its published ones). */
function hiddenIn(ctx: CfContext, locale: string, published: Iterable<string>): boolean {
  if (!ctx.localeBased || locale === '*') return false;
  for (const l of published) if (l === locale) return false;
  return true;
}

function entryOf(ctx: CfContext, shape: Shape, uid: string, e: Source['entries'] extends Map<string, infer V> ? V : never) {
  const ct = shape.types.get(e.ct);
  if (!ct || hiddenIn(ctx, shape.locale, e.lines.map((l) => l.locale))) return undefined;
  const all = contentfulFields(ct.schema, e.lines, ctx.master, true);
  const master = e.lines.find((l) => l.locale === ctx.master) ?? e.lines[0];
  const created = e.lines.map((l) => String(l.doc.created_at ?? '')).sort()[0] ?? iso(e.publishedAt);
  const tags = Array.isArray(master.doc.tags) ? (master.doc.tags as string[]) : [];
  return {
    metadata: { tags: tags.filter((t) => ctx.publicTagIds.has(t)).map((t) => link('Tag', t)), concepts: [] },
    sys: { ...baseSys(ctx, 'Entry', uid, created, iso(e.publishedAt), e.version, shape.locale), contentType: link('ContentType', shape.ids(ct.uid)) },
    fields: shape.locale === '*' ? all : oneLocale(all, chainOf(ctx, shape.locale)),
  };
}

/**
 * An entry as this API shows it in `shape.locale`, shaped once per seq: a collection filters and
 * orders every entry of the source, so shaping them per request cost ~100 ms at 10,000 entries.
 */
function shownEntry(ctx: CfContext, shape: Shape, source: Source, uid: string, shown = shownOf(ctx, shape, source)): Record<string, any> | undefined {
  let entity = shown.get(uid);
  if (entity === undefined) {
    const e = source.entries.get(uid);
    entity = (e && entryOf(ctx, shape, uid, e)) ?? null;
    shown.set(uid, entity);
  }
  return entity ?? undefined;
}

/** The entries shown so far for this request's environment id and locale (see Source.shaped). */
function shownOf(ctx: CfContext, shape: Shape, source: Source): Map<string, Record<string, any> | null> {
  const key = `${ctx.sys.environmentId}\u0000${shape.locale}\u0000${ctx.localeBased}\u0000${ctx.tagsKey}`;
  let shown = source.shaped.get(key);
  if (!shown) source.shaped.set(key, (shown = new Map()));
  return shown;
}

/** Whether the asset is shown in `locale` (locale-based publishing: where it is published). */
function shownAsset(ctx: CfContext, locale: string, source: Source, uid: string): boolean {
  const a = source.assets.get(uid);
  return a !== undefined && !hiddenIn(ctx, locale, a.locales);
}

function assetOf(deps: CfDeps, ctx: CfContext, shape: Pick<Shape, 'locale'>, uid: string, a: Source['assets'] extends Map<string, infer V> ? V : never) {
  const doc = a.doc as { filename: string; content_type: string; file_size: string; title?: string; description?: string; created_at?: string; tags?: string[] };
  const url = fileUrl({ origin: ctx.origin, key: deps.assetUrlKey }, ctx.preview ? 'm' : 'p', ctx.scope.api_key, ctx.scope.branch, { uid, filename: doc.filename, version: a.version, created_at: doc.created_at });
  const values: Record<string, unknown> = {
    title: doc.title ?? doc.filename,
    ...(doc.description ? { description: doc.description } : {}),
    file: { url, fileName: doc.filename, contentType: doc.content_type, details: { size: Number(doc.file_size) } },
  };
  const m = contentfulLocale(ctx.master);
  return {
    metadata: { tags: (doc.tags ?? []).filter((t) => ctx.publicTagIds.has(t)).map((t) => link('Tag', t)), concepts: [] },
    sys: baseSys(ctx, 'Asset', uid, doc.created_at ?? iso(a.publishedAt), iso(a.publishedAt), a.version, shape.locale),
    fields: shape.locale === '*' ? Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { [m]: v }])) : values,
  };
}

async function shapeOf(deps: CfDeps, ctx: CfContext, locale: string): Promise<Shape> {
  const types = await listContentTypes(deps.db, ctx.scope);
  const defs = await activatedDefinitions(deps.db, ctx.scope, types);
  return { locale, types: new Map(defs.map((t) => [t.uid, t])), ids: contentfulIds(types) };
}

/** Links in values, at any depth. */
function linksIn(v: unknown, out: Array<{ linkType: string; id: string }>) {
  if (Array.isArray(v)) for (const x of v) linksIn(x, out);
  else if (isObject(v)) {
    const sys = v.sys;
    if (isObject(sys) && sys.type === 'Link' && typeof sys.id === 'string' && (sys.linkType === 'Entry' || sys.linkType === 'Asset')) out.push({ linkType: sys.linkType, id: sys.id });
    else for (const x of Object.values(v)) linksIn(x, out);
  }
}

/** `includes` (and `errors` for links that do not resolve) for `items`, `depth` levels deep. */
function includesFor(deps: CfDeps, ctx: CfContext, shape: Shape, source: Source, items: Array<Record<string, any>>, depth: number) {
  const seen = new Set(items.map((i) => `${i.sys?.type}:${i.sys?.id}`));
  const Entry: unknown[] = [];
  const Asset: unknown[] = [];
  const errors: unknown[] = [];
  const missing = new Set<string>();
  let level = items;
  for (let d = 0; d < depth && level.length; d++) {
    const links: Array<{ linkType: string; id: string }> = [];
    for (const i of level) linksIn(i.fields, links);
    const next: Array<Record<string, any>> = [];
    for (const l of links) {
      const key = `${l.linkType}:${l.id}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const entity =
        l.linkType === 'Entry'
          ? shownEntry(ctx, shape, source, l.id)
          : shownAsset(ctx, shape.locale, source, l.id)
            ? assetOf(deps, ctx, shape, l.id, source.assets.get(l.id)!)
            : undefined;
      if (!entity) {
        if (!missing.has(key)) errors.push({ sys: { id: 'notResolvable', type: 'error' }, details: { type: 'Link', linkType: l.linkType, id: l.id } });
        missing.add(key);
        continue;
      }
      (l.linkType === 'Entry' ? Entry : Asset).push(entity);
      next.push(entity);
    }
    level = next;
  }
  const includes: Record<string, unknown[]> = {};
  if (Entry.length) includes.Entry = Entry;
  if (Asset.length) includes.Asset = Asset;
  return { includes, errors };
}

function includeDepth(raw: unknown): number {
  if (raw === undefined || raw === '') return 1;
  const n = Number(Array.isArray(raw) ? raw[0] : raw);
  if (!Number.isInteger(n) || n < 0 || n > 10) throw new InvalidQuery('include', 'must be a whole number from 0 to 10');
  return n;
}

/** Parameters the entries collection reads besides the search ones. */
const EXTRA = ['locale', 'include'];

/**
 * `include` resolves links in the entries collection only (Contentful's CDA reference, Links: "only
 * available for the entry collection endpoint"); on another list it would change nothing, so it is
 * a 400 naming it rather than accepted without effect.
 */
function noInclude(params: Record<string, unknown>, list: string) {
  if (params.include !== undefined) throw new InvalidQuery('include', `is a parameter of the entries collection only: the ${list} list resolves no links`);
}

export async function cdaEntries(deps: CfDeps, ctx: CfContext, params: Record<string, unknown>) {
  const locale = readLocale(ctx, params.locale);
  const depth = includeDepth(params.include);
  const shape = await shapeOf(deps, ctx, locale);
  const source = await sourceOf(deps, ctx);
  const typeId = contentTypeParam(params);
  const ct = typeId === undefined ? undefined : [...shape.types.values()].find((t) => contentTypeId(t) === typeId);
  if (typeId !== undefined && !ct) throw new InvalidQuery('content_type', `names content type ${JSON.stringify(typeId)}, which does not exist in this environment`);
  const codes = ctx.locales.map((l) => contentfulLocale(l.code));
  // An omitted field is not searched: which entries match would show what the API leaves out.
  const searchable = (t: ContentTypeDoc) => ({ sys: { id: contentTypeId(t) }, fields: t.schema.filter((f) => fieldMeta(f)?.omitted !== true).map((f) => contentfulFieldDef(f, shape.ids) as unknown as QueryField) });
  const shown = shownOf(ctx, shape, source);
  const parsed = parseQuery(params, {
    kind: 'Entry',
    contentType: ct ? searchable(ct) : undefined,
    locales: { codes, default: contentfulLocale(locale === '*' ? ctx.master : locale) },
    fieldsByLocale: locale === '*',
    extra: EXTRA,
    // Search on references: linked entries as this API shows them (a draft or unpublished one matches nothing).
    references: {
      type: (id) => {
        const t = [...shape.types.values()].find((x) => contentTypeId(x) === id);
        return t && searchable(t);
      },
      entry: (id) => shownEntry(ctx, shape, source, id, shown),
    },
  });
  // The entries shown (their content type known), in the source's order.
  // Locale-based publishing leaves out the entries not published in the locale.
  const knownKey = `${ct?.uid ?? ''}\u0000${ctx.localeBased ? locale : ''}`;
  let known = source.known.get(knownKey);
  if (!known) {
    source.known.set(knownKey, (known = []));
    for (const [uid, e] of source.entries) if ((!ct || e.ct === ct.uid) && shape.types.has(e.ct) && !hiddenIn(ctx, locale, e.lines.map((l) => l.locale))) known.push(uid);
  }
  const entity = (uid: string) => shownEntry(ctx, shape, source, uid, shown)!;
  let page: { items: Array<Record<string, any>>; total: number };
  if (!needsEntities(parsed)) {
    // Nothing to filter or order by: only the page is shaped.
    const slice = known.slice(parsed.skip, parsed.skip + parsed.limit).map(entity);
    page = { items: parsed.select ? slice.map((e) => selectPaths(e, parsed.select!)) : slice, total: known.length };
  } else page = applyQuery(known.map(entity), parsed);
  const { items, total } = page;
  const { includes, errors } = includesFor(deps, ctx, shape, source, items, depth);
  return {
    sys: { type: 'Array' },
    total,
    skip: parsed.skip,
    limit: parsed.limit,
    items,
    ...(Object.keys(includes).length ? { includes } : {}),
    ...(errors.length ? { errors } : {}),
  };
}

/** The collection a single entity's parameters belong to (the 400 names it). */
const COLLECTION = { entry: 'entries', asset: 'assets', 'content type': 'content types' } as const;

/**
 * A single entry or asset takes `locale` only, a single content type nothing (a key sent as
 * `access_token` is a header by now: src/http/query-token.ts): anything else, `select` or `include`
 * included (contentful.js sends getAsset's query as given), is a 400 naming it, never ignored.
 */
function onlyLocale(params: Record<string, unknown>, what: keyof typeof COLLECTION) {
  for (const k of Object.keys(params)) {
    if (k === 'locale' && what !== 'content type') continue;
    throw new InvalidQuery(k, `is not a parameter of a single ${what} (use the ${COLLECTION[what]} collection with sys.id)`);
  }
}

export async function cdaEntry(deps: CfDeps, ctx: CfContext, id: string, params: Record<string, unknown>) {
  onlyLocale(params, 'entry');
  const shape = await shapeOf(deps, ctx, readLocale(ctx, params.locale));
  const entity = shownEntry(ctx, shape, await sourceOf(deps, ctx), id);
  if (!entity) throw notFound(`Entry ${id}`);
  return entity;
}

export async function cdaAssets(deps: CfDeps, ctx: CfContext, params: Record<string, unknown>) {
  noInclude(params, 'assets');
  const locale = readLocale(ctx, params.locale);
  const source = await sourceOf(deps, ctx);
  const parsed = parseQuery(params, { kind: 'Asset', locales: { codes: ctx.locales.map((l) => contentfulLocale(l.code)), default: contentfulLocale(ctx.master) }, fieldsByLocale: locale === '*', extra: ['locale'] });
  const all = [...source.assets].filter(([uid]) => shownAsset(ctx, locale, source, uid)).map(([uid, a]) => assetOf(deps, ctx, { locale }, uid, a));
  const { items, total } = applyQuery(all, parsed);
  return { sys: { type: 'Array' }, total, skip: parsed.skip, limit: parsed.limit, items };
}

export async function cdaAsset(deps: CfDeps, ctx: CfContext, id: string, params: Record<string, unknown>) {
  onlyLocale(params, 'asset');
  const locale = readLocale(ctx, params.locale);
  const source = await sourceOf(deps, ctx);
  const a = source.assets.get(id);
  if (!a || !shownAsset(ctx, locale, source, id)) throw notFound(`Asset ${id}`);
  return assetOf(deps, ctx, { locale }, id, a);
}

/**
 * Activated content types only, each as it was activated, as Contentful's (activatedDefinitions:
 * drafts of the dialect are left out, a change made since an activation shows once activated).
 */
export async function cdaContentTypes(deps: CfDeps, ctx: CfContext, params: Record<string, unknown>) {
  noInclude(params, 'content types');
  const types = await listContentTypes(deps.db, ctx.scope);
  const ids = contentfulIds(types);
  const all = (await activatedDefinitions(deps.db, ctx.scope, types)).map((t) => contentTypeEntity(t, ctx.sys, stateOf(t), ids));
  const parsed = parseQuery(params, { kind: 'ContentType', locales: { codes: [], default: '' } });
  const { items, total } = applyQuery(all, parsed);
  return { sys: { type: 'Array' }, total, skip: parsed.skip, limit: parsed.limit, items };
}

export async function cdaContentType(deps: CfDeps, ctx: CfContext, id: string, params: Record<string, unknown> = {}) {
  onlyLocale(params, 'content type');
  const types = await listContentTypes(deps.db, ctx.scope);
  const ids = contentfulIds(types);
  const t = (await activatedDefinitions(deps.db, ctx.scope, types)).find((x) => ids(x.uid) === id);
  if (!t) throw notFound(`Content type ${id}`);
  return contentTypeEntity(t, ctx.sys, stateOf(t), ids);
}

function stateOf(t: ContentTypeDoc) {
  return { id: contentTypeId(t), version: t._version, createdAt: t.created_at, updatedAt: t.updated_at, createdBy: t.created_by, updatedBy: t.updated_by };
}

/**
 * `/tags`: the environment's public tags (CfContext.tags), searched and paged as the other lists
 * (`sys.*`, `order`, `select`, `skip`, `limit`; anything else a 400 naming it).
 */
export function cdaTags(ctx: CfContext, params: Record<string, unknown>) {
  noInclude(params, 'tags');
  const parsed = parseQuery(params, { kind: 'Other', locales: { codes: [], default: '' } });
  const { items, total } = applyQuery(ctx.tags, parsed);
  return { sys: { type: 'Array' }, total, skip: parsed.skip, limit: parsed.limit, items };
}

/** `/tags/{id}`: a public tag; a private or unknown one is a 404, as Contentful's. Takes no parameter. */
export function cdaTag(ctx: CfContext, id: string, params: Record<string, unknown>) {
  for (const k of Object.keys(params)) throw new InvalidQuery(k, 'is not a parameter of a single tag (use the tags collection with sys.id)');
  const tag = ctx.tags.find((t) => t.sys.id === id);
  if (!tag) throw notFound(`Tag ${id}`);
  return tag;
}

/** The space's locales as Contentful shows them (the space's `locales` too). */
export function localesOf(ctx: CfContext) {
  return ctx.locales.map((l) => ({
    code: contentfulLocale(l.code),
    name: l.name,
    default: l.code === ctx.master,
    fallbackCode: l.code === ctx.master ? null : contentfulLocale(l.fallback_locale ?? ctx.master),
    sys: { id: l.uid, type: 'Locale', version: 1 },
  }));
}

/**
 * The locales collection: `skip`, `limit`, `order`, `select` and `sys.*` filters (contentful.js's
 * getLocales sends its query as given); anything else is a 400 naming it. Every locale unless
 * `limit` says otherwise (the page's limit then reads 1000, as before paging was read).
 */
export function cdaLocales(ctx: CfContext, params: Record<string, unknown> = {}) {
  noInclude(params, 'locales');
  const parsed = parseQuery(params, { kind: 'Other', locales: { codes: [], default: '' } });
  if (params.limit === undefined || params.limit === '') parsed.limit = MAX_LIMIT;
  const { items, total } = applyQuery(localesOf(ctx), parsed);
  return { sys: { type: 'Array' }, total, skip: parsed.skip, limit: parsed.limit, items };
}

/* ---------------------------------------------------------------- sync */

/**
 * `/sync` over the same store, for delivery keys. `initial=true` pages through what is published
 * as of a snapshot seq S (publications stamped later are left for the next sync); its last page's
 * `nextSyncUrl` carries S. A sync from a token pages through the entities whose publish,
 * unpublish or delete events came after it, each once per page with its state as of the
 * request: published (`Entry`/`Asset`, every locale) or gone (`DeletedEntry`/`DeletedAsset`).
 */
const SYNC_TYPES = ['all', 'Entry', 'Asset', 'Deletion', 'DeletedEntry', 'DeletedAsset'];
/** Items per sync page: the default and the largest `limit` (Contentful's: "Max is 100, default is 100"). */
const SYNC_PAGE = 100;

interface CfSync {
  v: 1;
  mode: 'init' | 'delta';
  env: string;
  at: number;
  after: string | null;
  type: string;
  ct?: string;
  /** Items per page (`limit` of the initial sync), carried by every token after it; absent: SYNC_PAGE. */
  limit?: number;
  /**
   * Delta: a content type's activation (event `seq`) whose entries filled a page; the next page
   * goes on after entry `uid` (its entries are announced in uid order).
   */
  within?: { seq: number; uid: string };
}

export async function cdaSync(deps: CfDeps, ctx: CfContext, params: Record<string, unknown>) {
  if (ctx.preview) throw new InvalidQuery('sync', 'is served to delivery keys only: sync with the Content Delivery API key');
  // Sync pages through publications of every locale; Contentful documents the header for entries and assets reads only.
  if (ctx.localeBased) throw new HeraldError('bad_request', `The header ${LOCALE_BASED_HEADER} is not applied to /sync: sync returns every published locale; send it without the header.`, { errors: { [LOCALE_BASED_HEADER]: ['is not applied to /sync'] } });
  const one = (k: string) => {
    const v = params[k];
    return v === undefined ? undefined : String(Array.isArray(v) ? v[0] : v);
  };
  for (const k of Object.keys(params)) {
    // Sync always returns every locale, as Contentful's (locale is not one of its sync parameters).
    if (k === 'locale') throw new InvalidQuery(k, 'is not a parameter of /sync: sync returns every locale');
    if (!['initial', 'sync_token', 'type', 'content_type', 'limit'].includes(k)) throw new InvalidQuery(k, 'is not a parameter of /sync');
  }
  let s: CfSync;
  const token = one('sync_token');
  if (one('initial') === 'true') {
    if (token) throw new InvalidQuery('initial', 'cannot be combined with sync_token');
    const type = one('type') ?? 'all';
    if (!SYNC_TYPES.includes(type)) throw new InvalidQuery('type', `must be one of ${SYNC_TYPES.join(', ')}`);
    const ct = one('content_type');
    if (ct && type !== 'Entry') throw new InvalidQuery('content_type', 'needs type=Entry');
    const raw = one('limit');
    const limit = raw === undefined || raw === '' ? undefined : Number(raw);
    if (limit !== undefined && (!/^\d+$/.test(raw!) || limit < 1 || limit > SYNC_PAGE)) throw new InvalidQuery('limit', `must be a whole number from 1 to ${SYNC_PAGE}`);
    s = { v: 1, mode: 'init', env: ctx.sys.environmentId, at: ctx.seq, after: null, type, ...(ct ? { ct } : {}), ...(limit === undefined ? {} : { limit }) };
  } else if (token) {
    try {
      s = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as CfSync;
    } catch {
      throw new InvalidQuery('sync_token', 'is not a token this server issued');
    }
    if (s?.v !== 1 || (s.mode !== 'init' && s.mode !== 'delta') || typeof s.at !== 'number' || !SYNC_TYPES.includes(s.type)) throw new InvalidQuery('sync_token', 'is not a token this server issued');
    if (s.env !== ctx.sys.environmentId) throw new InvalidQuery('sync_token', 'belongs to another environment');
    if (s.limit !== undefined && (!Number.isInteger(s.limit) || s.limit < 1 || s.limit > SYNC_PAGE)) throw new InvalidQuery('sync_token', 'is not a token this server issued');
    for (const k of ['type', 'content_type', 'limit']) if (params[k] !== undefined) throw new InvalidQuery(k, 'applies to initial=true only: the token carries the filters and page size of its initial sync');
  } else throw new InvalidQuery('initial', 'give initial=true or a sync_token');

  const shape = await shapeOf(deps, ctx, '*');
  const source = await sourceOf(deps, ctx);
  const wantEntry = s.type === 'all' || s.type === 'Entry';
  const wantAsset = s.type === 'all' || s.type === 'Asset';
  const wantDeletedEntry = ['all', 'Deletion', 'DeletedEntry'].includes(s.type);
  const wantDeletedAsset = ['all', 'Deletion', 'DeletedAsset'].includes(s.type);
  const url = (next: CfSync) => `${ctx.origin}/spaces/${ctx.sys.spaceId}/environments/${ctx.sys.environmentId}/sync?sync_token=${Buffer.from(JSON.stringify(next)).toString('base64url')}`;
  const items: unknown[] = [];
  const pageSize = s.limit ?? SYNC_PAGE;

  if (s.mode === 'init') {
    // Everything published with a seq up to the snapshot, by key (module:uid), a page at a time.
    const keys: string[] = [];
    if (wantAsset) for (const [uid, a] of source.assets) if (a.seq <= s.at) keys.push(`asset:${uid}`);
    // An entry whose content type is not shown (a draft) is not synced, as it is not delivered.
    if (wantEntry) for (const [uid, e] of source.entries) if (e.seq <= s.at && shape.types.has(e.ct) && (!s.ct || shape.ids(e.ct) === s.ct)) keys.push(`entry:${uid}`);
    keys.sort();
    const from = s.after === null ? 0 : keys.findIndex((k) => k > s.after!);
    const page = from < 0 ? [] : keys.slice(from, from + pageSize);
    for (const k of page) {
      const [m, uid] = k.split(':');
      items.push(m === 'asset' ? assetOf(deps, ctx, { locale: '*' }, uid, source.assets.get(uid)!) : entryOf(ctx, shape, uid, source.entries.get(uid)!));
    }
    const more = from >= 0 && from + pageSize < keys.length;
    return more
      ? { sys: { type: 'Array' }, items, nextPageUrl: url({ ...s, after: page[page.length - 1] }) }
      : { sys: { type: 'Array' }, items, nextSyncUrl: url({ ...s, mode: 'delta', after: String(s.at) }) };
  }

  // Delta: entities touched by publish, unpublish or delete events after the token, up to ctx.seq;
  // and the entries of a content type activated after it. An entry published while its content
  // type was a draft was not delivered, so its publish event announced nothing (below): the
  // activation that delivers it announces it (and re-announces, shaped anew, the entries of a
  // content type activated again with a changed definition).
  let cursor = Number(s.after);
  const touched = new Map<string, number>();
  const rows = await deps.db.all<EventRow>(
    `SELECT * FROM events WHERE api_key = ? AND branch = ? AND seq > ? AND seq <= ?
       AND ((module IN ('entry', 'asset') AND action IN ('publish', 'unpublish', 'delete')) OR (module = 'content_type' AND action = 'publish'))
     ORDER BY seq LIMIT 1000`,
    [ctx.scope.api_key, ctx.scope.branch, cursor, ctx.seq],
  );
  let full = false;
  let within: CfSync['within'];
  rows: for (const r of rows) {
    if (r.module === 'content_type') {
      const seq = Number(r.seq);
      if (ctx.envUid && wantEntry && shape.types.has(r.uid) && (!s.ct || shape.ids(r.uid) === s.ct)) {
        const resumeAfter = s.within?.seq === seq ? s.within.uid : undefined;
        const uids = [...source.entries].filter(([uid, e]) => e.ct === r.uid && (resumeAfter === undefined || uid > resumeAfter)).map(([uid]) => uid).sort();
        let last = resumeAfter;
        for (const uid of uids) {
          const key = `entry:${uid}`;
          if (!touched.has(key) && touched.size === pageSize) {
            full = true;
            // Part of this activation's entries went out: the next page goes on after the last one.
            if (last !== undefined) within = { seq, uid: last };
            break rows;
          }
          touched.set(key, seq);
          last = uid;
        }
      }
      cursor = seq;
      continue;
    }
    const e = eventFromRow(r);
    const envUid = isObject(e.data.environment) ? e.data.environment.uid : undefined;
    const entity = (e.module === 'entry' ? e.data.entry : e.data.asset) as Record<string, unknown> | undefined;
    const pubs = Array.isArray(entity?.publish_details) ? (entity!.publish_details as Array<{ environment?: string }>) : [];
    const here = e.action === 'delete' ? pubs.some((p) => p.environment === ctx.envUid) : envUid === ctx.envUid;
    if (here && ctx.envUid) {
      const key = `${e.module}:${e.uid}`;
      if (!touched.has(key) && touched.size === pageSize) {
        full = true;
        break;
      }
      touched.set(key, e.seq);
    }
    cursor = Number(r.seq);
  }
  for (const key of touched.keys()) {
    const [m, uid] = key.split(':');
    if (m === 'entry') {
      const e = source.entries.get(uid);
      const entity = e && entryOf(ctx, shape, uid, e);
      if (entity && (!s.ct || shape.ids(e!.ct) === s.ct)) {
        if (wantEntry) items.push(entity);
      } else if (!e && wantDeletedEntry) items.push(deleted('DeletedEntry', ctx, uid));
      // Published on a draft (never delivered, so no client holds it): nothing to sync.
    } else {
      const a = source.assets.get(uid);
      if (a && wantAsset) items.push(assetOf(deps, ctx, { locale: '*' }, uid, a));
      else if (!a && wantDeletedAsset) items.push(deleted('DeletedAsset', ctx, uid));
    }
  }
  const more = full || rows.length === 1000;
  const { within: _done, ...rest } = s;
  const next: CfSync = { ...rest, after: String(more ? cursor : Math.max(cursor, ctx.seq)), ...(within ? { within } : {}) };
  return more ? { sys: { type: 'Array' }, items, nextPageUrl: url(next) } : { sys: { type: 'Array' }, items, nextSyncUrl: url(next) };
}

function deleted(type: string, ctx: CfContext, id: string) {
  const now = new Date().toISOString();
  return { sys: { type, id, space: link('Space', ctx.sys.spaceId), environment: link('Environment', ctx.sys.environmentId), revision: 1, createdAt: now, updatedAt: now, deletedAt: now } };
}

