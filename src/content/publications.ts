import { HeraldError, invalid, type FieldErrors } from '../errors.ts';
import { repeated, type Queryable, type Tx } from '../store/db.ts';
import { iso, type Scope } from './context.ts';
import { resolveEnvironments, type EnvironmentDoc } from './environments.ts';
import { getLocale, masterLocale } from './locales.ts';
import { isObject } from './guards.ts';

/**
 * Where entries and assets are published: one row per (environment, locale) with the version
 * published there. Shared by entries and assets; rendered as their `publish_details`.
 */
export type PublishModule = 'entry' | 'asset';

export interface PublicationRow {
  uid: string;
  environment: string;
  locale: string;
  version: number;
  actor: string;
  published_at: number;
}

/** Contentstack's `publish_details` item. */
export interface PublishDetail {
  environment: string;
  locale: string;
  time: string;
  user: string;
  version: number;
}

export function publishDetails(rows: PublicationRow[]): PublishDetail[] {
  return rows.map((r) => ({ environment: r.environment, locale: r.locale, time: iso(Number(r.published_at)), user: r.actor, version: Number(r.version) }));
}

/** Publications of some entities, optionally in one locale only, by entity uid. */
export async function publicationsOf(
  q: Queryable,
  scope: Scope,
  module: PublishModule,
  uids: string[],
  locale?: string,
): Promise<Map<string, PublicationRow[]>> {
  const out = new Map<string, PublicationRow[]>(uids.map((u) => [u, []]));
  if (uids.length === 0) return out;
  const params: unknown[] = [scope.api_key, scope.branch, module, ...uids];
  let sql = `SELECT uid, environment, locale, version, actor, published_at FROM publications
             WHERE api_key = ? AND branch = ? AND module = ? AND uid IN (${repeated(uids.length)})`;
  if (locale !== undefined) {
    sql += ' AND locale = ?';
    params.push(locale);
  }
  sql += ' ORDER BY published_at, environment, locale';
  for (const r of await q.all<PublicationRow>(sql, params)) out.get(r.uid)?.push(r);
  return out;
}

export async function isPublished(q: Queryable, scope: Scope, module: PublishModule, uid: string, environment: string, locale: string): Promise<boolean> {
  const row = await q.get(
    'SELECT 1 AS ok FROM publications WHERE api_key = ? AND branch = ? AND module = ? AND uid = ? AND environment = ? AND locale = ?',
    [scope.api_key, scope.branch, module, uid, environment, locale],
  );
  return !!row;
}

/** What a publication publishes: the entity as published (its stored doc, no computed keys). */
export interface PublishedSnapshot {
  doc: { created_at: string; [key: string]: unknown };
  /** Entries: their content type. */
  content_type_uid?: string;
  /** JSON.stringify(doc), when the caller has it (an entry's row text): not stringified again. */
  text?: string;
}

/**
 * Records that `version` of an entity is published to an environment and locale, with the entity
 * as published (the delivery APIs read it: src/published/). Call `stampPublished` with the seq of
 * the event recorded for it, in the same transaction.
 */
export async function setPublished(tx: Tx, scope: Scope, module: PublishModule, uid: string, environment: string, locale: string, version: number, snapshot: PublishedSnapshot): Promise<void> {
  const createdAt = Date.parse(snapshot.doc.created_at);
  await tx.run(
    `INSERT INTO publications (api_key, branch, module, uid, environment, locale, version, actor, published_at, content_type_uid, doc, created_at, seq)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)
     ON CONFLICT (api_key, branch, module, uid, environment, locale)
     DO UPDATE SET version = excluded.version, actor = excluded.actor, published_at = excluded.published_at,
       content_type_uid = excluded.content_type_uid, doc = excluded.doc, created_at = excluded.created_at, seq = 0`,
    [scope.api_key, scope.branch, module, uid, environment, locale, version, scope.caller.actor, Date.now(), snapshot.content_type_uid ?? null, snapshot.text ?? JSON.stringify(snapshot.doc), Number.isNaN(createdAt) ? 0 : createdAt],
  );
}

/** Stamps a publication with the seq of the event that announced it (sync: src/published/sync.ts). */
export async function stampPublished(tx: Tx, scope: Scope, module: PublishModule, uid: string, environment: string, locale: string, seq: number): Promise<void> {
  await tx.run('UPDATE publications SET seq = ? WHERE api_key = ? AND branch = ? AND module = ? AND uid = ? AND environment = ? AND locale = ?', [
    seq,
    scope.api_key,
    scope.branch,
    module,
    uid,
    environment,
    locale,
  ]);
}

export async function removePublished(tx: Tx, scope: Scope, module: PublishModule, uid: string, environment: string, locale: string): Promise<boolean> {
  const { changes } = await tx.run(
    'DELETE FROM publications WHERE api_key = ? AND branch = ? AND module = ? AND uid = ? AND environment = ? AND locale = ?',
    [scope.api_key, scope.branch, module, uid, environment, locale],
  );
  return changes > 0;
}

export async function removeAllPublished(tx: Tx, scope: Scope, module: PublishModule, uid: string): Promise<void> {
  await tx.run('DELETE FROM publications WHERE api_key = ? AND branch = ? AND module = ? AND uid = ?', [scope.api_key, scope.branch, module, uid]);
}

export interface PublishRequest {
  environments: EnvironmentDoc[];
  locales: string[];
  /** The version to publish; the latest when absent. */
  version?: number;
  /** `scheduled_at`, ms: when to do it (src/content/schedule.ts); absent: now. */
  scheduledAt?: number;
}

/**
 * Reads a publish or unpublish body as the official client sends it:
 * `{ entry: { environments: [...], locales: [...] }, locale?, version? }` (`asset` for assets).
 * Locales default to the `locale` given, else the master locale. Unknown environments or
 * locales are refused here, before anything is attempted (no event).
 */
export async function parsePublishRequest(q: Queryable, scope: Scope, module: PublishModule, body: unknown, queryLocale?: unknown): Promise<PublishRequest> {
  if (!isObject(body)) throw invalid(module, 'is required');
  const inner = body[module];
  if (!isObject(inner)) throw invalid(module, inner === undefined ? 'is required: { environments: [...], locales: [...] }' : 'must be an object');
  const environments = await resolveEnvironments(q, scope.api_key, inner.environments, `${module}.environments`);
  let locales: string[];
  if (inner.locales === undefined || inner.locales === null) {
    const one = body.locale ?? queryLocale;
    if (one === undefined || one === null || one === '') locales = [await masterLocale(q, scope.api_key)];
    else {
      const l = typeof one === 'string' ? await getLocale(q, scope.api_key, one) : undefined;
      if (!l) throw invalid('locale', `names locale ${JSON.stringify(one)}, which is not a language of this stack`);
      locales = [l.code];
    }
  } else {
    if (!Array.isArray(inner.locales) || inner.locales.length === 0) throw invalid(`${module}.locales`, 'must be a non-empty list of locale codes');
    locales = [];
    for (const c of inner.locales) {
      const l = typeof c === 'string' ? await getLocale(q, scope.api_key, c) : undefined;
      if (!l) throw invalid(`${module}.locales`, `names locale ${JSON.stringify(c)}, which is not a language of this stack`);
      if (!locales.includes(l.code)) locales.push(l.code);
    }
  }
  const scheduledAt = parseScheduledAt(body.scheduled_at);
  let version: number | undefined;
  if (body.version !== undefined && body.version !== null && body.version !== '') {
    version = Number(body.version);
    if (!Number.isInteger(version) || version < 1) throw invalid('version', 'must be a whole number >= 1');
  }
  return { environments, locales, version, ...(scheduledAt !== undefined ? { scheduledAt } : {}) };
}

/** A request to carry out now: one with `scheduled_at` goes through src/content/schedule.ts instead. */
export function atOnce(req: PublishRequest): PublishRequest {
  if (req.scheduledAt !== undefined) throw invalid('scheduled_at', 'is not supported here: this publish happens at once');
  return req;
}

/**
 * `scheduled_at` of a publish or unpublish (Contentstack's, ISO 8601 with a time zone, e.g.
 * 2026-12-24T18:00:00.000Z): ms since the epoch, or undefined when absent. Pure.
 */
export function parseScheduledAt(v: unknown): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const ms = typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(v) ? Date.parse(v) : NaN;
  if (!Number.isFinite(ms)) throw invalid('scheduled_at', 'must be a date and time in ISO 8601 with a time zone, e.g. 2026-12-24T18:00:00.000Z');
  return ms;
}

/** What happened for one environment and locale of a publish or unpublish request. */
export interface PublishOutcome {
  environment: string;
  locale: string;
  action: 'publish' | 'publish.fail' | 'unpublish' | 'unpublish.fail';
  reason?: string;
  /** The seq of the event recorded for it. */
  seq?: number;
}

/**
 * The 422 for a request where some environment/locale failed (after the transaction committed
 * the successes and the `.fail` events), naming each failure; undefined when all succeeded.
 */
export function outcomeError(what: string, outcomes: PublishOutcome[]): HeraldError | undefined {
  const failed = outcomes.filter((o) => o.action.endsWith('.fail'));
  if (failed.length === 0) return undefined;
  const errors: FieldErrors = {};
  for (const f of failed) (errors[`${f.environment}/${f.locale}`] ??= []).push(f.reason ?? 'failed');
  const done = outcomes.filter((o) => !o.action.endsWith('.fail'));
  const verb = failed[0].action === 'publish.fail' ? 'publish' : 'unpublish';
  const msg =
    `Could not ${verb} ${what} to ${failed.map((f) => `${f.environment}/${f.locale}`).join(', ')}: ${failed[0].reason}` +
    (done.length ? ` (${verb}ed to ${done.map((d) => `${d.environment}/${d.locale}`).join(', ')})` : '');
  return new HeraldError('validation_failed', msg, { errors });
}
