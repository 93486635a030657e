import { fileUrl } from '../content/asset-urls.ts';
import { listContentTypes, requireContentType, type ContentTypeDoc } from '../content/content-types.ts';
import type { Scope } from '../content/context.ts';
import { iso } from '../content/context.ts';
import { getEnvironment, type EnvironmentDoc } from '../content/environments.ts';
import { getLocale } from '../content/locales.ts';
import { isObject } from '../content/guards.ts';
import { matchesQuery, sortDocs } from '../content/read-query.ts';
import { isGroupLike, type Field } from '../content/schema.ts';
import { HeraldError, invalid, notFound } from '../errors.ts';
import { repeated, type Queryable } from '../store/db.ts';
import { applyReferenceParams, project, type LoadedEntry } from '../content/query-params.ts';
import type { ReadParams } from './params.ts';
import type { Reader } from './tokens.ts';
import { publishedView, readLocales, stackSeq, type PublishedDoc } from './view.ts';

/**
 * Contentstack's Content Delivery API over what is published (src/published/view.ts): content
 * types, entries and assets as published to the token's environment, per locale (with
 * `include_fallback`), filtered with the management API's query operators, `include[]`
 * resolving published references only, `only`/`except`, counts and paging. Drafts are never
 * read: an entry's draft changes show once published, an unpublish or delete at once.
 */
export interface ReadDeps {
  db: Queryable;
  assetUrlKey: Buffer;
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
  const page = types.slice(ctx.params.skip, ctx.params.skip + ctx.params.limit).map((t) => project(t, ctx.params.refs.only.get('BASE'), ctx.params.refs.except.get('BASE')));
  return { content_types: page, ...(ctx.params.includeCount ? { count: types.length } : {}) };
}

export async function readContentType(deps: ReadDeps, ctx: ReadContext, uid: string) {
  return { content_type: await requireContentType(deps.db, ctx.scope, uid) };
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
  const page = shown.slice(p.skip, p.skip + p.limit).map((a) => project(a, p.refs.only.get('BASE'), p.refs.except.get('BASE')));
  return { assets: page, ...(p.includeCount ? { count: shown.length } : {}) };
}

export async function readAsset(deps: ReadDeps, ctx: ReadContext, uid: string) {
  const { byUid } = await view(deps, ctx, 'asset');
  const d = byUid.get(uid);
  if (!d) throw notFound(`Asset ${uid} published to ${ctx.environment.name} in ${ctx.locale}`);
  return { asset: project(presentAsset(deps, ctx, d), ctx.params.refs.only.get('BASE'), ctx.params.refs.except.get('BASE')) };
}

function publishDetails(ctx: ReadContext, d: PublishedDoc) {
  return { environment: ctx.environment.uid, locale: d.locale, time: iso(d.published_at), user: d.actor };
}

/** A published asset as the CDA shows it: its published url (no credential needed). */
export function presentAsset(deps: ReadDeps, ctx: Pick<ReadContext, 'scope' | 'origin' | 'environment' | 'params'>, d: PublishedDoc): Record<string, unknown> {
  const doc = d.doc as { uid: string; filename: string };
  const url = fileUrl({ origin: ctx.origin, key: deps.assetUrlKey }, 'p', ctx.scope.api_key, ctx.scope.branch, { uid: doc.uid, filename: doc.filename, version: d.version });
  return {
    ...d.doc,
    url,
    publish_details: { environment: ctx.environment.uid, locale: d.locale, time: iso(d.published_at), user: d.actor },
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

  /** A published entry as the CDA shows it, before include[] and only/except. */
  private async present(ct: ContentTypeDoc, d: PublishedDoc): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = hasGroups(ct.schema) ? structuredClone(d.doc) : { ...d.doc };
    await this.files(ct.schema, out);
    out.publish_details = publishDetails(this.ctx, d);
    if (this.ctx.params.includeBranch) out._branch = this.ctx.scope.branch;
    return out;
  }

  async entries(ct: ContentTypeDoc, docs: PublishedDoc[]): Promise<Array<Record<string, unknown>>> {
    const out = [];
    for (const d of docs) out.push(await this.present(ct, d));
    return applyReferenceParams(out, ct.uid, this.ctx.params.refs, {
      schemaOf: async (uid) => (await this.type(uid))?.schema,
      load: async (uids) => {
        // Which content type each uid is published under, then each from its (cached) view.
        const rows = await this.deps.db.all<{ uid: string; content_type_uid: string }>(
          `SELECT DISTINCT uid, content_type_uid FROM publications WHERE api_key = ? AND branch = ? AND module = 'entry' AND environment = ? AND uid IN (${repeated(uids.length)})`,
          [this.ctx.scope.api_key, this.ctx.scope.branch, this.ctx.environment.uid, ...uids],
        );
        const found = new Map<string, LoadedEntry>();
        for (const r of rows) {
          const t = await this.type(r.content_type_uid);
          const target = t && (await view(this.deps, this.ctx, 'entry', t.uid)).byUid.get(r.uid);
          if (t && target) found.set(r.uid, { entry: await this.present(t, target), contentType: t.uid });
        }
        return found;
      },
    });
  }

  /** Replaces asset uids in file fields with the published assets (unpublished ones left out). */
  private async files(schema: Field[], values: Record<string, unknown>) {
    for (const f of schema) {
      const v = values[f.uid];
      if (v === undefined || v === null) continue;
      if (isGroupLike(f)) {
        for (const item of Array.isArray(v) ? v : [v]) if (isObject(item)) await this.files(f.schema ?? [], item);
      } else if (f.data_type === 'file') {
        const { byUid } = await view(this.deps, this.ctx, 'asset');
        const one = (u: unknown) => (typeof u === 'string' && byUid.has(u) ? presentAsset(this.deps, this.ctx, byUid.get(u)!) : undefined);
        values[f.uid] = Array.isArray(v) ? v.map(one).filter(Boolean) : (one(v) ?? null);
      }
    }
  }
}

function hasGroups(schema: Field[]): boolean {
  return schema.some(isGroupLike);
}
