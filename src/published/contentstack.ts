import { fileUrl, type AssetUrlKey } from '../content/asset-urls.ts';
import { listContentTypes, requireContentType, type ContentTypeDoc } from '../content/content-types.ts';
import type { Scope } from '../content/context.ts';
import { iso } from '../content/context.ts';
import { getEnvironment, type EnvironmentDoc } from '../content/environments.ts';
import { getLocale } from '../content/locales.ts';
import { isObject } from '../content/guards.ts';
import { matchesQuery, sortDocs } from '../content/read-query.ts';
import { isGroupLike, type Field } from '../content/schema.ts';
import { HeraldError, invalid, notFound } from '../errors.ts';
import type { Queryable } from '../store/db.ts';
import { applyReferenceParams, changesNested, copyTree, project, type LoadedEntry } from '../content/query-params.ts';
import type { ReadParams } from './params.ts';
import type { Reader } from './tokens.ts';
import { publishedEntryTypes, publishedView, readLocales, stackSeq, type PublishedDoc } from './view.ts';

/**
 * Contentstack's Content Delivery API over what is published (src/published/view.ts): content
 * types, entries and assets as published to the token's environment, per locale (with
 * `include_fallback`), filtered with the management API's query operators, `include[]`
 * resolving published references only, `only`/`except`, counts and paging. Drafts are never
 * read: an entry's draft changes show once published, an unpublish or delete at once.
 */
export interface ReadDeps {
  db: Queryable;
  assetUrlKey: AssetUrlKey;
}

/** One delivery request, its credential checked: where it reads, and as of which event seq. */
export interface ReadContext {
  reader: Reader;
  scope: Scope;
  environment: EnvironmentDoc;
  locale: string;
  locales: string[];
  seq: number;
  origin: string;
  params: ReadParams;
}

/**
 * Checks what a delivery token may read: its stack, one of its branches, one of its environments
 * (by name, `environment=`), a language of the stack. A stack or branch the token does not cover
 * is the same 404 as one that does not exist.
 */
export async function openRead(deps: ReadDeps, reader: Reader, apiKey: string | undefined, branch: string, params: ReadParams, origin: string): Promise<ReadContext> {
  if (!apiKey) throw invalid('api_key', 'is required (header)');
  if (reader.api_key !== apiKey) throw new HeraldError('not_found', 'Stack was not found.');
  if (!reader.branches.includes(branch)) throw new HeraldError('not_found', `Branch ${branch} was not found.`);
  if (!(await deps.db.get('SELECT 1 AS ok FROM branches WHERE api_key = ? AND uid = ?', [apiKey, branch]))) throw new HeraldError('not_found', `Branch ${branch} was not found.`);
  if (!params.environment) throw invalid('environment', 'is required: the environment to read what is published to');
  const env = await getEnvironment(deps.db, apiKey, params.environment);
  if (!env || !reader.environments.includes(env.uid)) throw invalid('environment', `${params.environment} is not an environment this delivery token may read`);
  if (params.locale && !(await getLocale(deps.db, apiKey, params.locale))) throw invalid('locale', `${params.locale} is not a language of this stack`);
  const { locale, locales } = await readLocales(deps.db, apiKey, params.locale, params.includeFallback);
  const seq = await stackSeq(deps.db, apiKey);
  const scope: Scope = { api_key: apiKey, branch, caller: { kind: 'token', api_key: apiKey, token_uid: reader.token_uid, actor: reader.token_uid } };
  return { reader, scope, environment: env, locale, locales, seq, origin, params };
}

export async function readContentTypes(deps: ReadDeps, ctx: ReadContext) {
  let types = (await listContentTypes(deps.db, ctx.scope)) as Record<string, unknown>[];
  if (ctx.params.query) types = types.filter((t) => matchesQuery(t, ctx.params.query!));
  if (ctx.params.sort) types = sortDocs(types, ctx.params.sort);
  if (ctx.params.count) return { content_types: types.length };
  const page = types.slice(ctx.params.skip, ctx.params.skip + ctx.params.limit).map((t) => presentType(ctx, t));
  return { content_types: page, ...(ctx.params.includeCount ? { count: types.length } : {}) };
}

export async function readContentType(deps: ReadDeps, ctx: ReadContext, uid: string) {
  return { content_type: presentType(ctx, (await requireContentType(deps.db, ctx.scope, uid)) as Record<string, unknown>) };
}

/** A content type as the CDA shows it: only/except[BASE][], and `_branch` when include_branch asks. */
function presentType(ctx: ReadContext, t: Record<string, unknown>): Record<string, unknown> {
  const shown = project(t, ctx.params.refs.only.get('BASE'), ctx.params.refs.except.get('BASE'));
  return ctx.params.includeBranch ? { ...shown, _branch: ctx.scope.branch } : shown;
}

const view = (deps: ReadDeps, ctx: ReadContext, module: 'entry' | 'asset', ct?: string) =>
  publishedView(deps.db, { api_key: ctx.scope.api_key, branch: ctx.scope.branch, environment: ctx.environment.uid, module, content_type_uid: ct, locales: ctx.locales }, ctx.seq);

export async function readEntries(deps: ReadDeps, ctx: ReadContext, ctUid: string) {
  const ct = await requireContentType(deps.db, ctx.scope, ctUid);
  const { docs } = await view(deps, ctx, 'entry', ctUid);
  const p = ctx.params;
  let shown: PublishedDoc[] = docs;
  if (p.query) {
    // Filters see the entry as the API shows it, references unresolved (as the CDA's do).
    shown = shown.filter((d) => matchesQuery(d.doc, p.query!));
  }
  if (p.sort) {
    const byDoc = new Map(shown.map((d) => [d.doc, d]));
    shown = sortDocs(shown.map((d) => d.doc), p.sort).map((d) => byDoc.get(d)!);
  }
  if (p.count) return { entries: shown.length };
  const page = shown.slice(p.skip, p.skip + p.limit);
  const entries = await new Resolver(deps, ctx).entries(ct, page);
  return {
    entries,
    ...(p.includeContentType ? { content_type: ct } : {}),
    ...(p.includeCount ? { count: shown.length } : {}),
  };
}

export async function readEntry(deps: ReadDeps, ctx: ReadContext, ctUid: string, uid: string) {
  const ct = await requireContentType(deps.db, ctx.scope, ctUid);
  const { byUid } = await view(deps, ctx, 'entry', ctUid);
  const d = byUid.get(uid);
  if (!d) throw notFound(`Entry ${uid} of content type '${ctUid}' published to ${ctx.environment.name} in ${ctx.locale}`);
  const [entry] = await new Resolver(deps, ctx).entries(ct, [d]);
  return { entry, ...(ctx.params.includeContentType ? { content_type: ct } : {}) };
}

export async function readAssets(deps: ReadDeps, ctx: ReadContext) {
  const { docs } = await view(deps, ctx, 'asset');
  const p = ctx.params;
  let shown = docs.map((d) => presentAsset(deps, ctx, d));
  if (p.query) shown = shown.filter((a) => matchesQuery(a, p.query!));
  if (p.sort) shown = sortDocs(shown, p.sort);
  if (p.count) return { assets: shown.length };
  const page = shown.slice(p.skip, p.skip + p.limit).map((a) => project(a, p.refs.only.get('BASE'), p.refs.except.get('BASE')));
  return { assets: page, ...(p.includeCount ? { count: shown.length } : {}) };
}

export async function readAsset(deps: ReadDeps, ctx: ReadContext, uid: string) {
  const { byUid } = await view(deps, ctx, 'asset');
  const d = byUid.get(uid);
  if (!d) throw notFound(`Asset ${uid} published to ${ctx.environment.name} in ${ctx.locale}`);
  return { asset: project(presentAsset(deps, ctx, d), ctx.params.refs.only.get('BASE'), ctx.params.refs.except.get('BASE')) };
}

/** publish_details.time of each published doc (views are cached, so is this: ~1 us a date). */
const times = new WeakMap<PublishedDoc, string>();

function publishedTime(d: PublishedDoc): string {
  let time = times.get(d);
  if (time === undefined) times.set(d, (time = iso(d.published_at)));
  return time;
}

function publishDetails(ctx: Pick<ReadContext, 'environment'>, d: PublishedDoc) {
  return { environment: ctx.environment.uid, locale: d.locale, time: publishedTime(d), user: d.actor };
}

/** A published asset as the CDA shows it: its published url (no credential needed). */
export function presentAsset(deps: ReadDeps, ctx: Pick<ReadContext, 'scope' | 'origin' | 'environment' | 'params'>, d: PublishedDoc): Record<string, unknown> {
  const doc = d.doc as { uid: string; filename: string; created_at?: string };
  const url = fileUrl({ origin: ctx.origin, key: deps.assetUrlKey }, 'p', ctx.scope.api_key, ctx.scope.branch, { uid: doc.uid, filename: doc.filename, version: d.version, created_at: doc.created_at });
  return {
    ...d.doc,
    url,
    publish_details: publishDetails(ctx, d),
    ...(ctx.params.includeBranch ? { _branch: ctx.scope.branch } : {}),
  };
}

/**
 * Shapes published entries: file fields become their published assets, publish_details the
 * environment's; then include[], only/except through the one implementation the management API
 * uses too (src/content/query-params.ts), loading referenced entries from what is published here
 * (an unpublished target is left out). Content types are read once per request.
 */
class Resolver {
  private types = new Map<string, ContentTypeDoc | null>();
  /** The published assets, read once a schema with file fields is met. */
  private assets?: Map<string, PublishedDoc>;
  private published = new Map<string, Map<string, PublishedDoc>>();
  constructor(
    private deps: ReadDeps,
    private ctx: ReadContext,
  ) {}

  private async type(uid: string): Promise<ContentTypeDoc | null> {
    if (!this.types.has(uid)) {
      try {
        this.types.set(uid, await requireContentType(this.deps.db, this.ctx.scope, uid));
      } catch {
        this.types.set(uid, null);
      }
    }
    return this.types.get(uid)!;
  }

  /** The published entries of a content type, by uid (its view, looked up once a request). */
  private async entriesOf(ctUid: string): Promise<Map<string, PublishedDoc>> {
    let byUid = this.published.get(ctUid);
    if (!byUid) this.published.set(ctUid, (byUid = (await view(this.deps, this.ctx, 'entry', ctUid)).byUid));
    return byUid;
  }

  /** Reads what present() needs for entries of `ct` (the asset view, when it has file fields). */
  private async prepare(ct: ContentTypeDoc) {
    if (!this.assets && hasFileFields(ct.schema)) this.assets = (await view(this.deps, this.ctx, 'asset')).byUid;
  }

  /**
   * A published entry as the CDA shows it, before include[] and only/except (prepare(ct) first).
   * A copy (deep when resolution changes nested values: changesNested), as the view is shared.
   */
  private present(ct: ContentTypeDoc, d: PublishedDoc, deep: boolean): Record<string, unknown> {
    const out = deep ? copyTree(d.doc) : { ...d.doc };
    if (this.assets) this.files(ct.schema, out, this.assets);
    out.publish_details = publishDetails(this.ctx, d);
    if (this.ctx.params.includeBranch) out._branch = this.ctx.scope.branch;
    return out;
  }

  async entries(ct: ContentTypeDoc, docs: PublishedDoc[]): Promise<Array<Record<string, unknown>>> {
    await this.prepare(ct);
    const refs = this.ctx.params.refs;
    const deep = changesNested(ct.schema, refs.include.length > 0, refs.except.get('BASE'));
    const out = docs.map((d) => this.present(ct, d, deep));
    return applyReferenceParams(out, ct.uid, this.ctx.params.refs, {
      schemaOf: async (uid) => (await this.type(uid))?.schema,
      load: async (uids) => {
        // Which content type each uid is published under (cached per seq), then each from its (cached) view.
        const where = await publishedEntryTypes(this.deps.db, { api_key: this.ctx.scope.api_key, branch: this.ctx.scope.branch, environment: this.ctx.environment.uid }, this.ctx.seq);
        const found = new Map<string, LoadedEntry>();
        for (const uid of uids) {
          for (const ctUid of where.get(uid) ?? []) {
            const t = await this.type(ctUid);
            const target = t && (await this.entriesOf(t.uid)).get(uid);
            if (!t || !target) continue;
            await this.prepare(t);
            // include[] copies it again for each place it goes (deep when it must): shallow here.
            found.set(uid, { entry: this.present(t, target, false), contentType: t.uid });
          }
        }
        return found;
      },
    });
  }

  /**
   * Replaces asset uids in file fields with the published assets (unpublished ones left out).
   * Group values holding file fields are copied before (`values` may be a shallow copy of a view's).
   */
  private files(schema: Field[], values: Record<string, unknown>, assets: Map<string, PublishedDoc>) {
    for (const f of schema) {
      const v = values[f.uid];
      if (v === undefined || v === null) continue;
      if (isGroupLike(f)) {
        if (!hasFileFields(f.schema ?? [])) continue;
        const copy = (item: unknown) => (isObject(item) ? { ...item } : item);
        const items = Array.isArray(v) ? v.map(copy) : [copy(v)];
        values[f.uid] = Array.isArray(v) ? items : items[0];
        for (const item of items) if (isObject(item)) this.files(f.schema ?? [], item, assets);
      } else if (f.data_type === 'file') {
        const one = (u: unknown) => (typeof u === 'string' && assets.has(u) ? presentAsset(this.deps, this.ctx, assets.get(u)!) : undefined);
        values[f.uid] = Array.isArray(v) ? v.map(one).filter(Boolean) : (one(v) ?? null);
      }
    }
  }
}

/** Whether a schema has file fields, at any depth of its groups. */
function hasFileFields(schema: Field[]): boolean {
  return schema.some((f) => f.data_type === 'file' || (isGroupLike(f) && hasFileFields(f.schema ?? [])));
}
