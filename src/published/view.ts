import { fallbackChain, masterLocale } from '../content/locales.ts';
import type { PublishModule } from '../content/publications.ts';
import { json, repeated, type Queryable } from '../store/db.ts';

/**
 * What is published: the documents of one module (entries of one content type, or assets) as
 * published to one environment of one branch, in one locale (with or without its fallback chain),
 * in creation order. Read from the publication rows, which keep the entity as published
 * (src/content/publications.ts), never from the drafts.
 *
 * Views are cached per process and checked on every read against the stack's latest event seq:
 * every change that can alter what is published (publish, unpublish, delete, content type
 * changes) records an event, so a view whose seq is still the latest is exact, on any number of
 * processes sharing a database. A cached view is shared and must not be mutated.
 */
export interface PublishedDoc {
  uid: string;
  /** The locale it is published in (the one asked for, or a fallback). */
  locale: string;
  version: number;
  published_at: number;
  actor: string;
  /** The event seq that published it (0 for publications from before sync existed). */
  seq: number;
  doc: Record<string, unknown>;
}

export interface ViewKey {
  api_key: string;
  branch: string;
  environment: string;
  module: PublishModule;
  /** Entries: their content type. */
  content_type_uid?: string;
  /** Locales to read, first found wins per entity: [locale] or its fallback chain. */
  locales: string[];
}

interface Cached {
  seq: number;
  docs: PublishedDoc[];
  byUid: Map<string, PublishedDoc>;
}

/** Views kept per process (least recently used go first). */
const MAX_VIEWS = 64;
const views = new Map<string, Cached>();

/** The stack's latest event seq: what a cached view, a response cache entry and an ETag are valid for. */
export async function stackSeq(q: Queryable, apiKey: string): Promise<number> {
  const row = await q.get<{ s: number | null }>('SELECT MAX(seq) AS s FROM events WHERE api_key = ?', [apiKey]);
  return Number(row?.s ?? 0);
}

interface Row {
  uid: string;
  locale: string;
  version: number;
  published_at: number;
  actor: string;
  seq: number;
  doc: string;
}

/** The view for `key` as of `seq` (the caller read it first: see stackSeq). */
export async function publishedView(q: Queryable, key: ViewKey, seq: number): Promise<{ docs: PublishedDoc[]; byUid: Map<string, PublishedDoc> }> {
  const id = `${key.api_key}\u0000${key.branch}\u0000${key.environment}\u0000${key.module}\u0000${key.content_type_uid ?? ''}\u0000${key.locales.join(',')}`;
  const hit = views.get(id);
  if (hit && hit.seq === seq) {
    views.delete(id);
    views.set(id, hit);
    return hit;
  }
  const params: unknown[] = [key.api_key, key.branch, key.module, key.environment];
  let sql = `SELECT uid, locale, version, published_at, actor, seq, doc FROM publications
             WHERE api_key = ? AND branch = ? AND module = ? AND environment = ?`;
  if (key.content_type_uid !== undefined) {
    sql += ' AND content_type_uid = ?';
    params.push(key.content_type_uid);
  }
  sql += ` AND locale IN (${repeated(key.locales.length)}) ORDER BY created_at, uid`;
  params.push(...key.locales);
  const rows = await q.all<Row>(sql, params);
  const rank = new Map(key.locales.map((l, i) => [l, i]));
  const byUid = new Map<string, PublishedDoc>();
  const order: string[] = [];
  for (const r of rows) {
    const prev = byUid.get(r.uid);
    if (prev && rank.get(prev.locale)! <= rank.get(r.locale)!) continue;
    if (!prev) order.push(r.uid);
    byUid.set(r.uid, { uid: r.uid, locale: r.locale, version: Number(r.version), published_at: Number(r.published_at), actor: r.actor, seq: Number(r.seq), doc: json(r.doc) });
  }
  const cached: Cached = { seq, docs: order.map((u) => byUid.get(u)!), byUid };
  views.set(id, cached);
  if (views.size > MAX_VIEWS) views.delete(views.keys().next().value!);
  return cached;
}

/** Where published entries are: per stack, branch and environment, as of a seq. */
const MAX_DIRECTORIES = 16;
const directories = new Map<string, { seq: number; types: Map<string, string[]> }>();

/**
 * The content types each entry published to `environment` (in any locale) is published under, as
 * of `seq` (read first: see stackSeq): what include[] resolves a referenced uid with. Cached per
 * process like the views: one read of the environment's publications per seq, instead of a
 * `uid IN (...)` per request (SQLite answers that one from publications_read, scanning every
 * publication of the environment: ~3 ms a request at 10,000 entries).
 */
export async function publishedEntryTypes(q: Queryable, key: Pick<ViewKey, 'api_key' | 'branch' | 'environment'>, seq: number): Promise<Map<string, string[]>> {
  const id = `${key.api_key}\u0000${key.branch}\u0000${key.environment}`;
  const hit = directories.get(id);
  if (hit && hit.seq === seq) {
    directories.delete(id);
    directories.set(id, hit);
    return hit.types;
  }
  const rows = await q.all<{ uid: string; content_type_uid: string | null }>(
    `SELECT DISTINCT uid, content_type_uid FROM publications WHERE api_key = ? AND branch = ? AND module = 'entry' AND environment = ?`,
    [key.api_key, key.branch, key.environment],
  );
  const types = new Map<string, string[]>();
  for (const r of rows) {
    if (r.content_type_uid === null) continue;
    const list = types.get(r.uid);
    if (list) list.push(r.content_type_uid);
    else types.set(r.uid, [r.content_type_uid]);
  }
  directories.set(id, { seq, types });
  if (directories.size > MAX_DIRECTORIES) directories.delete(directories.keys().next().value!);
  return types;
}

/** The locales a read looks in: the locale alone, or with `include_fallback` its fallback chain. */
export async function readLocales(q: Queryable, apiKey: string, locale: string | undefined, fallback: boolean): Promise<{ locale: string; locales: string[] }> {
  const l = locale ?? (await masterLocale(q, apiKey));
  return { locale: l, locales: fallback ? await fallbackChain(q, apiKey, l) : [l] };
}
