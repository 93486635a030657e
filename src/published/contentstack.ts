import { fileUrl } from '../content/asset-urls.ts';
import { listContentTypes, requireContentType, type ContentTypeDoc } from '../content/content-types.ts';
import type { Scope } from '../content/context.ts';
import { iso } from '../content/context.ts';
import { getEnvironment, type EnvironmentDoc } from '../content/environments.ts';
import { getLocale } from '../content/locales.ts';
import { isObject, matchesQuery, sortDocs, type Field } from '../content/validate.ts';
import { HeraldError, invalid, notFound } from '../errors.ts';
import type { Queryable } from '../store/db.ts';
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
  const page = types.slice(ctx.params.skip, ctx.params.skip + ctx.params.limit).map((t) => project(t, ctx.params.only.get('BASE'), ctx.params.except.get('BASE')));
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
  const page = shown.slice(p.skip, p.skip + p.limit);
  const r = new Resolver(deps, ctx);
  const entries = [];
  for (const d of page) entries.push(await r.entry(ct, d, 'BASE'));
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
  const entry = await new Resolver(deps, ctx).entry(ct, d, 'BASE');
  return { entry, ...(ctx.params.includeContentType ? { content_type: ct } : {}) };
}

export async function readAssets(deps: ReadDeps, ctx: ReadContext) {
  const { docs } = await view(deps, ctx, 'asset');
  const p = ctx.params;
  let shown = docs.map((d) => presentAsset(deps, ctx, d));
  if (p.query) shown = shown.filter((a) => matchesQuery(a, p.query!));
  if (p.sort) shown = sortDocs(shown, p.sort);
  const page = shown.slice(p.skip, p.skip + p.limit).map((a) => project(a, p.only.get('BASE'), p.except.get('BASE')));
  return { assets: page, ...(p.includeCount ? { count: shown.length } : {}) };
}

export async function readAsset(deps: ReadDeps, ctx: ReadContext, uid: string) {
  const { byUid } = await view(deps, ctx, 'asset');
  const d = byUid.get(uid);
  if (!d) throw notFound(`Asset ${uid} published to ${ctx.environment.name} in ${ctx.locale}`);
  return { asset: project(presentAsset(deps, ctx, d), ctx.params.only.get('BASE'), ctx.params.except.get('BASE')) };
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
 * Shapes published entries: file fields become their published assets, `include[]` paths their
 * published entries (an unpublished target is left out), `only`/`except` applied per level.
 * Content types are read once per request.
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

  /** `where` names the only/except key: BASE, or the reference field it was reached through. */
  async entry(ct: ContentTypeDoc, d: PublishedDoc, where: string, include = this.ctx.params.include, asRef = false): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = { ...d.doc };
    await this.files(ct.schema, out);
    if (include.length) await this.resolve(ct.schema, out, include);
    out.publish_details = publishDetails(this.ctx, d);
    if (this.ctx.params.includeBranch) out._branch = this.ctx.scope.branch;
    if (asRef && this.ctx.params.includeRefTypeUid) out._content_type_uid = ct.uid;
    return project(out, this.ctx.params.only.get(where), this.ctx.params.except.get(where));
  }

  /** Replaces asset uids in file fields with the published assets (unpublished ones left out). */
  private async files(schema: Field[], values: Record<string, unknown>) {
    for (const f of schema) {
      const v = values[f.uid];
      if (v === undefined || v === null) continue;
      if (f.data_type === 'group') {
        for (const item of Array.isArray(v) ? v : [v]) if (isObject(item)) await this.files(f.schema ?? [], item);
      } else if (f.data_type === 'file') {
        const { byUid } = await view(this.deps, this.ctx, 'asset');
        const one = (u: unknown) => (typeof u === 'string' && byUid.has(u) ? presentAsset(this.deps, this.ctx, byUid.get(u)!) : undefined);
        values[f.uid] = Array.isArray(v) ? v.map(one).filter(Boolean) : (one(v) ?? null);
      }
    }
  }

  /**
   * Resolves include[] paths (split at dots) in `values`, whose fields `schema` describes. Paths
   * through the same field are resolved together, each target once.
   */
  private async resolve(schema: Field[], values: Record<string, unknown>, paths: string[][]): Promise<void> {
    const byHead = new Map<string, string[][]>();
    for (const [head, ...rest] of paths) {
      const rests = byHead.get(head) ?? [];
      if (rest.length) rests.push(rest);
      byHead.set(head, rests);
    }
    for (const [head, rests] of byHead) {
      const f = schema.find((x) => x.uid === head);
      const v = values[head];
      if (!f || v === undefined || v === null) continue;
      if (f.data_type === 'group') {
        for (const item of Array.isArray(v) ? v : [v]) if (isObject(item)) await this.resolve(f.schema ?? [], item, rests);
        continue;
      }
      if (f.data_type !== 'reference' || !Array.isArray(v)) continue;
      const resolved: unknown[] = [];
      for (const ref of v) {
        if (!isObject(ref) || typeof ref.uid !== 'string' || typeof ref._content_type_uid !== 'string') continue;
        const ct = await this.type(ref._content_type_uid);
        if (!ct) continue;
        const { byUid } = await view(this.deps, this.ctx, 'entry', ct.uid);
        const target = byUid.get(ref.uid);
        if (!target) continue; // not published here: left out
        resolved.push(await this.entry(ct, target, head, rests, true));
      }
      values[head] = resolved;
    }
  }
}

/** Keeps `only` fields (and uid), or drops `except` fields; dotted names reach into groups. */
export function project(doc: Record<string, unknown>, only?: string[], except?: string[]): Record<string, unknown> {
  let out = doc;
  if (only?.length) {
    out = { uid: doc.uid };
    for (const path of only) copyPath(doc, out, path.split('.'));
  }
  if (except?.length) {
    out = structuredClone(out);
    for (const path of except) dropPath(out, path.split('.'));
  }
  return out;
}

function copyPath(from: Record<string, unknown>, to: Record<string, unknown>, path: string[]) {
  const [head, ...rest] = path;
  if (!(head in from)) return;
  const v = from[head];
  if (rest.length === 0) {
    to[head] = v;
    return;
  }
  if (Array.isArray(v)) {
    const target = (Array.isArray(to[head]) ? to[head] : v.map(() => ({}))) as Record<string, unknown>[];
    v.forEach((item, i) => isObject(item) && copyPath(item, target[i], rest));
    to[head] = target;
  } else if (isObject(v)) {
    const target = (isObject(to[head]) ? to[head] : {}) as Record<string, unknown>;
    copyPath(v, target, rest);
    to[head] = target;
  }
}

function dropPath(doc: Record<string, unknown>, path: string[]) {
  const [head, ...rest] = path;
  if (rest.length === 0) {
    delete doc[head];
    return;
  }
  const v = doc[head];
  for (const item of Array.isArray(v) ? v : [v]) if (isObject(item)) dropPath(item, rest);
}
