import { randomUUID } from 'node:crypto';
import { HeraldError, fieldErrors, notFound, type FieldErrors } from '../errors.ts';
import { jobAction, jobData, type JobData, type JobItem, type JobKind } from '../events/job.ts';
import type { Queryable, Tx } from '../store/db.ts';
import { deleteAssetIn, publishAssetIn, unpublishAssetIn } from './assets.ts';
import { iso, type ContentDeps, type Scope } from './context.ts';
import { deleteEntryIn, publishEntryIn, unpublishEntryIn } from './entries.ts';
import { resolveEnvironments, type EnvironmentDoc } from './environments.ts';
import { getLocale, masterLocale } from './locales.ts';
import { parseScheduledAt, type PublishOutcome, type PublishRequest } from './publications.ts';
import { addError, hasErrors, throwIfErrors } from './field-errors.ts';
import { isObject } from './guards.ts';

/**
 * Bulk operations, as Contentstack's CMA defines them and its management SDK's
 * `stack.bulkOperation()` (and `csdx cm:entries:publish --bulk-publish`) send them:
 * `POST /v3/bulk/publish`, `/v3/bulk/unpublish` and `/v3/bulk/delete` with
 * `{ entries: [{ uid, content_type, locale?, version? }], assets: [{ uid, version? }], locales, environments }`.
 *
 * A job is each item's own change, made by the same code as a single publish, unpublish or delete,
 * so each item's events are exactly those of that single call (publish / publish.fail per
 * environment and locale, delete), followed by the job's completion: one `job` event per
 * environment (`publish.completed`, `unpublish.completed`; a delete job has one, `delete.completed`)
 * listing every item and its outcome (src/events/job.ts), for webhooks on the job channels
 * (`jobs.environments.publish.completed`, src/webhooks/channels.ts).
 *
 * The whole job is one transaction: its items' changes, their events and the job's events commit
 * together, or (the store failing) none do. An item that is refused (it does not exist, it is
 * archived, it has no such version) is rolled back to a savepoint taken before it, and reported as
 * failed in the job's events and in the answer; the other items go on. Contentstack answers a bulk
 * request at once and works in the background; Herald answers once the job is done, with the same
 * `notice` and `job_id`, plus the job's summary.
 */

/** Most items (entries and assets) in one request. */
export const MAX_BULK_ITEMS = 1_000;
/** Most item events one job may make (items x environments x locales): each is a delivery to every matching webhook. */
export const MAX_BULK_CHANGES = 10_000;

export interface BulkItem {
  type: 'entry' | 'asset';
  uid: string;
  /** Entries: their content type. */
  content_type_uid?: string;
  /** The locale the request named for it (entries: its line; deletes: the line to delete). */
  locale?: string;
  version?: number;
}

export interface BulkRequest {
  kind: JobKind;
  items: BulkItem[];
  /** Publish and unpublish: where to. */
  environments: EnvironmentDoc[];
  /** Publish and unpublish: the locales named by the request; absent: each item's own locale, else the master locale. */
  locales?: string[];
}

/** Body fields of each kind of request; `rules`, `publish_with_reference` and `scheduled_at` are read but limited (see parseBulkRequest). */
const BODY_FIELDS: Record<JobKind, readonly string[]> = {
  publish: ['entries', 'assets', 'locales', 'environments', 'rules', 'publish_with_reference', 'scheduled_at'],
  unpublish: ['entries', 'assets', 'locales', 'environments', 'rules', 'publish_with_reference', 'scheduled_at'],
  delete: ['entries', 'assets'],
};
/** Fields of an item; `publish_details` (what a listing returned, which csdx strips anyway) is ignored. */
const ENTRY_FIELDS = new Set(['uid', 'content_type', '_content_type_uid', 'locale', 'version', 'publish_details']);
const ASSET_FIELDS = new Set(['uid', 'version', 'locale', 'publish_details']);

/**
 * Reads a bulk request body (after the route checked its query and headers). Every problem is a
 * 422 naming its field (`entries.3.content_type`, `environments`), before anything is done.
 */
export async function parseBulkRequest(q: Queryable, scope: Scope, kind: JobKind, body: unknown): Promise<BulkRequest> {
  const errors = fieldErrors();
  if (!isObject(body)) throw new HeraldError('validation_failed', `The bulk ${kind} body must be an object: { entries: [...], assets: [...]${kind === 'delete' ? '' : ', locales: [...], environments: [...]'} }`, { errors: { body: ['must be an object'] } });
  for (const k of Object.keys(body)) {
    if (!BODY_FIELDS[kind].includes(k)) addError(errors, k, `is not a field of a bulk ${kind} request (${BODY_FIELDS[kind].join(', ')})`);
  }
  if (body.publish_with_reference !== undefined && body.publish_with_reference !== false && body.publish_with_reference !== 'false') {
    addError(errors, 'publish_with_reference', 'is not supported: Herald does not publish references along (nested reference publishing); name the referenced entries in the same request');
  }
  if (isObject(body.rules)) {
    for (const [k, v] of Object.entries(body.rules)) {
      if (k !== 'approvals') addError(errors, `rules.${k}`, 'is not a rule Herald knows (approvals)');
      else if (!isBoolText(v)) addError(errors, 'rules.approvals', 'must be true or false');
    }
  } else if (body.rules !== undefined) addError(errors, 'rules', 'must be an object: { approvals: true }');
  // A future one was stored by scheduleBulk (src/content/schedule.ts); a past one runs now.
  try {
    parseScheduledAt(body.scheduled_at);
  } catch (err) {
    mergeErrors(errors, err);
  }

  const items: BulkItem[] = [];
  const stackLocales = new Map<string, string | null>();
  const localeCode = async (code: string) => {
    if (!stackLocales.has(code)) stackLocales.set(code, (await getLocale(q, scope.api_key, code))?.code ?? null);
    return stackLocales.get(code)!;
  };
  const readItems = async (field: 'entries' | 'assets') => {
    const list = body[field];
    if (list === undefined || list === null) return;
    if (!Array.isArray(list)) return addError(errors, field, `must be a list of ${field === 'entries' ? '{ uid, content_type, locale }' : '{ uid }'}`);
    const allowed = field === 'entries' ? ENTRY_FIELDS : ASSET_FIELDS;
    for (const [i, raw] of list.entries()) {
      const p = `${field}.${i}`;
      if (!isObject(raw)) {
        addError(errors, p, 'must be an object');
        continue;
      }
      for (const k of Object.keys(raw)) if (!allowed.has(k)) addError(errors, `${p}.${k}`, `is not a field of a bulk ${field === 'entries' ? 'entry' : 'asset'} (${[...allowed].filter((f) => f !== 'publish_details').join(', ')})`);
      if (typeof raw.uid !== 'string' || raw.uid === '') addError(errors, `${p}.uid`, 'is required');
      const item: BulkItem = { type: field === 'entries' ? 'entry' : 'asset', uid: String(raw.uid ?? '') };
      if (field === 'entries') {
        const ct = raw.content_type ?? raw._content_type_uid;
        if (typeof ct !== 'string' || ct === '') addError(errors, `${p}.content_type`, 'is required (the content type uid)');
        else item.content_type_uid = ct;
      }
      if (raw.locale !== undefined && raw.locale !== null && raw.locale !== '') {
        const code = typeof raw.locale === 'string' ? await localeCode(raw.locale) : null;
        if (!code) addError(errors, `${p}.locale`, `names locale ${JSON.stringify(raw.locale)}, which is not a language of this stack`);
        else item.locale = code;
      }
      if (raw.version !== undefined && raw.version !== null && raw.version !== '') {
        const v = Number(raw.version);
        if (kind === 'delete') addError(errors, `${p}.version`, 'is not used by a delete (every version goes)');
        else if (!Number.isInteger(v) || v < 1) addError(errors, `${p}.version`, 'must be a whole number >= 1');
        else item.version = v;
      }
      items.push(item);
    }
  };
  await readItems('entries');
  await readItems('assets');
  if (items.length === 0 && !hasErrors(errors)) addError(errors, 'entries', `or assets must name at least one item to ${kind}`);
  if (items.length > MAX_BULK_ITEMS) addError(errors, 'entries', `and assets name ${items.length} items; at most ${MAX_BULK_ITEMS} in one request`);

  let environments: EnvironmentDoc[] = [];
  let locales: string[] | undefined;
  if (kind !== 'delete') {
    try {
      environments = await resolveEnvironments(q, scope.api_key, body.environments, 'environments');
    } catch (err) {
      mergeErrors(errors, err);
    }
    if (body.locales !== undefined && body.locales !== null) {
      if (!Array.isArray(body.locales) || body.locales.length === 0) addError(errors, 'locales', 'must be a non-empty list of locale codes');
      else {
        locales = [];
        for (const c of body.locales) {
          const code = typeof c === 'string' ? await localeCode(c) : null;
          if (!code) addError(errors, 'locales', `names locale ${JSON.stringify(c)}, which is not a language of this stack`);
          else if (!locales.includes(code)) locales.push(code);
        }
      }
    }
    const changes = items.length * Math.max(environments.length, 1) * Math.max(locales?.length ?? 1, 1);
    if (changes > MAX_BULK_CHANGES) addError(errors, 'entries', `x environments x locales make ${changes} changes; at most ${MAX_BULK_CHANGES} in one request`);
  }
  throwIfErrors(errors);
  return { kind, items, environments, ...(locales ? { locales } : {}) };
}

const isBoolText = (v: unknown) => v === true || v === false || v === 'true' || v === 'false';

function mergeErrors(errors: FieldErrors, err: unknown) {
  if (!(err instanceof HeraldError) || err.code !== 'validation_failed') throw err;
  for (const [k, list] of Object.entries(err.errors ?? { body: [err.message] })) for (const p of list) addError(errors, k, p);
}

/** What a job answers (Herald's addition to Contentstack's `{ notice, job_id }`). */
export interface JobResult {
  job_id: string;
  type: JobKind;
  status: 'completed';
  environments: string[];
  locales: string[];
  counts: JobData['counts'];
  /** Every item per environment and locale it was tried in, with `environment` for publish and unpublish. */
  items: Array<JobItem & { environment?: string }>;
  created_at: string;
  completed_at: string;
}

/** Refusals of one item that leave the transaction usable: the item is rolled back and reported. */
const ITEM_REFUSALS = new Set(['not_found', 'validation_failed']);
const SAVEPOINT = 'herald_bulk_item';

/** Parses and runs a bulk job in one transaction. `origin`: where asset URLs in the events point. */
export async function runBulk(deps: ContentDeps, scope: Scope, kind: JobKind, body: unknown, origin: string): Promise<JobResult> {
  const req = await parseBulkRequest(deps.db, scope, kind, body);
  const createdAt = Date.now();
  return deps.db.tx((tx) => runBulkJob(deps, tx, scope, req, { jobId: randomUUID(), origin, createdAt }));
}

/**
 * Runs a parsed job in the caller's transaction: every item (each behind a savepoint), then the
 * job's events. Returns the job as answered.
 */
export async function runBulkJob(deps: ContentDeps, tx: Tx, scope: Scope, req: BulkRequest, opts: { jobId: string; origin: string; createdAt: number; scheduledAt?: number }): Promise<JobResult> {
  const master = await masterLocale(tx, scope.api_key);
  // Items by environment name ('' for a delete job, which has none).
  const byEnv = new Map<string, JobItem[]>(req.kind === 'delete' ? [['', []]] : req.environments.map((e) => [e.name, []]));
  const used = new Set<string>();
  for (const item of req.items) {
    const locales = req.locales ?? [item.locale ?? master];
    const base = { type: item.type, uid: item.uid, ...(item.content_type_uid ? { content_type_uid: item.content_type_uid } : {}) };
    await tx.exec(`SAVEPOINT ${SAVEPOINT}`);
    try {
      if (req.kind === 'delete') {
        const { seq } = item.type === 'entry' ? await deleteEntryIn(deps, tx, scope, item.content_type_uid!, item.uid, { locale: item.locale }) : await deleteAssetIn(deps, tx, scope, item.uid, opts.origin);
        byEnv.get('')!.push({ ...base, ...(item.locale ? { locale: item.locale } : {}), status: 'success', event: 'delete', seq });
      } else {
        for (const l of locales) used.add(l);
        const request = async (): Promise<PublishRequest> => ({ environments: req.environments, locales, ...(item.version !== undefined ? { version: item.version } : {}) });
        const outcomes: PublishOutcome[] =
          item.type === 'entry'
            ? await (req.kind === 'publish' ? publishEntryIn : unpublishEntryIn)(deps, tx, scope, item.content_type_uid!, item.uid, request)
            : await (req.kind === 'publish' ? publishAssetIn : unpublishAssetIn)(deps, tx, scope, item.uid, opts.origin, request);
        for (const o of outcomes) {
          const failed = o.action.endsWith('.fail');
          byEnv.get(o.environment)!.push({ ...base, locale: o.locale, status: failed ? 'failed' : 'success', event: o.action, ...(o.seq ? { seq: o.seq } : {}), ...(o.reason ? { reason: o.reason } : {}) });
        }
      }
      await tx.exec(`RELEASE SAVEPOINT ${SAVEPOINT}`);
    } catch (err) {
      if (!(err instanceof HeraldError) || !ITEM_REFUSALS.has(err.code)) throw err;
      // The item's partial changes and events go; the job goes on and reports it.
      await tx.exec(`ROLLBACK TO SAVEPOINT ${SAVEPOINT}`);
      await tx.exec(`RELEASE SAVEPOINT ${SAVEPOINT}`);
      for (const list of byEnv.values()) {
        if (req.kind === 'delete') list.push({ ...base, ...(item.locale ? { locale: item.locale } : {}), status: 'failed', reason: err.message });
        else for (const l of locales) list.push({ ...base, locale: l, status: 'failed', reason: err.message });
      }
    }
  }

  const completedAt = Date.now();
  const locales = req.kind === 'delete' ? [] : [...used];
  const all: JobResult['items'] = [];
  for (const [envName, items] of byEnv) {
    const env = req.environments.find((e) => e.name === envName);
    const data = jobData({
      job_id: opts.jobId,
      type: req.kind,
      ...(env ? { environment: { name: env.name, uid: env.uid }, locales } : {}),
      items,
      created_at: iso(opts.createdAt),
      completed_at: iso(completedAt),
      ...(opts.scheduledAt !== undefined ? { scheduled_at: iso(opts.scheduledAt) } : {}),
    });
    await deps.events.record(tx, {
      api_key: scope.api_key,
      branch: scope.branch,
      module: 'job',
      action: jobAction(req.kind),
      uid: opts.jobId,
      environment: env?.name ?? null,
      actor: scope.caller.actor,
      actor_name: scope.caller.name ?? null,
      data: data as unknown as Record<string, unknown>,
    });
    for (const i of items) all.push(env ? { ...i, environment: env.name } : i);
  }
  const failed = all.filter((i) => i.status === 'failed').length;
  return {
    job_id: opts.jobId,
    type: req.kind,
    status: 'completed',
    environments: req.environments.map((e) => e.name),
    locales,
    counts: { total: all.length, success: all.length - failed, failed },
    items: all,
    created_at: iso(opts.createdAt),
    completed_at: iso(completedAt),
  };
}

/** The answer's notice: Contentstack's words for the request, then what happened. */
export function bulkNotice(job: JobResult): string {
  const done = { publish: 'published', unpublish: 'unpublished', delete: 'deleted' }[job.type];
  const head = `Bulk ${job.type} job ${job.job_id} completed: ${job.counts.success} of ${job.counts.total} ${done}`;
  return job.counts.failed ? `${head}, ${job.counts.failed} failed (see job.items).` : `${head}.`;
}

/** A bulk job as GET /v3/bulk/jobs/{job_id} shows it: from its job events (or its schedule, before it ran). */
export interface JobStatus {
  uid: string;
  type: JobKind;
  status: 'completed' | 'scheduled';
  environments: string[];
  locales: string[];
  counts?: JobData['counts'];
  created_at?: string;
  completed_at?: string;
  scheduled_at?: string;
}

/** One item of a job per environment and locale, in the shape the management SDK's getJobItems types. */
export interface JobStatusItem {
  uid: string;
  type: 'entry' | 'asset';
  content_type?: { uid: string };
  locale?: string;
  publish_locale?: string;
  environment?: string;
  action: JobKind;
  publish_details: { status: 'success' | 'failed'; failure_reason?: string };
  published_at: string;
  user: string;
  /** The seq of the item's own event (Herald's). */
  seq?: number;
}

/** A job's events (one per environment), oldest first; empty when the stack has no such job. */
async function jobEvents(q: Queryable, scope: Scope, jobId: string): Promise<Array<{ data: JobData; actor: string }>> {
  const rows = await q.all<{ data: string; actor: string }>("SELECT data, actor FROM events WHERE api_key = ? AND branch = ? AND module = 'job' AND uid = ? ORDER BY seq", [scope.api_key, scope.branch, jobId]);
  return rows.map((r) => ({ data: JSON.parse(r.data) as JobData, actor: r.actor }));
}

/** The job with this id, done or scheduled; a 404 when there is none in the stack's branch. */
export async function jobStatus(q: Queryable, scope: Scope, jobId: string): Promise<JobStatus> {
  const events = await jobEvents(q, scope, jobId);
  if (events.length) {
    const first = events[0].data;
    const items = events.flatMap((e) => e.data.items);
    const failed = items.filter((i) => i.status === 'failed').length;
    return {
      uid: jobId,
      type: first.type,
      status: 'completed',
      environments: events.flatMap((e) => (e.data.environment ? [e.data.environment.name] : [])),
      locales: first.locales ?? [],
      counts: { total: items.length, success: items.length - failed, failed },
      created_at: first.created_at,
      completed_at: events[events.length - 1].data.completed_at,
      ...(first.scheduled_at ? { scheduled_at: first.scheduled_at } : {}),
    };
  }
  const row = await q.get<{ kind: string; request: string; due_at: number }>("SELECT kind, request, due_at FROM schedules WHERE api_key = ? AND branch = ? AND uid = ? AND kind LIKE 'bulk.%'", [scope.api_key, scope.branch, jobId]);
  if (!row) throw notFound(`Bulk job ${jobId}`);
  const body = (JSON.parse(row.request) as { body?: Record<string, unknown> }).body ?? {};
  const texts = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  return { uid: jobId, type: row.kind.slice('bulk.'.length) as JobKind, status: 'scheduled', environments: texts(body.environments), locales: texts(body.locales), scheduled_at: iso(Number(row.due_at)) };
}

/** A job's items, filtered as getJobItems asks (`status`, `type`, `ct`); a 404 for no such job. */
export async function jobItems(q: Queryable, scope: Scope, jobId: string, filter: { status?: string; type?: string; ct?: string[] }): Promise<JobStatusItem[]> {
  const events = await jobEvents(q, scope, jobId);
  if (!events.length) {
    await jobStatus(q, scope, jobId); // a scheduled job has no items yet; anything else is a 404
    return [];
  }
  const out: JobStatusItem[] = [];
  for (const { data, actor } of events) {
    for (const i of data.items) {
      if (filter.status && i.status !== filter.status) continue;
      if (filter.type && i.type !== filter.type) continue;
      if (filter.ct?.length && !(i.content_type_uid && filter.ct.includes(i.content_type_uid))) continue;
      out.push({
        uid: i.uid,
        type: i.type,
        ...(i.content_type_uid ? { content_type: { uid: i.content_type_uid } } : {}),
        ...(i.locale ? { locale: i.locale, publish_locale: i.locale } : {}),
        ...(data.environment ? { environment: data.environment.name } : {}),
        action: data.type,
        publish_details: { status: i.status, ...(i.reason ? { failure_reason: i.reason } : {}) },
        published_at: data.completed_at,
        user: actor,
        ...(i.seq ? { seq: i.seq } : {}),
      });
    }
  }
  return out;
}
