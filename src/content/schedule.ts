import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Caller } from '../auth/caller.ts';
import { HeraldError, invalid, notFound } from '../errors.ts';
import { json, type Tx } from '../store/db.ts';
import { SIGNALS } from '../store/signals.ts';
import { checkAssetTarget, publishAssetIn, unpublishAssetIn } from './assets.ts';
import { parseBulkRequest, runBulkJob, type JobResult } from './bulk.ts';
import { iso, type ContentDeps, type Scope } from './context.ts';
import { checkEntryTarget, publishEntryIn, unpublishEntryIn } from './entries.ts';
import { listEnvironments, resolveEnvironments } from './environments.ts';
import { getLocale } from './locales.ts';
import { parsePublishRequest, parseScheduledAt, type PublishOutcome, type PublishRequest } from './publications.ts';
import { isObject } from './guards.ts';

/**
 * Publishing at a time (`scheduled_at` on a publish or unpublish of an entry or asset, or on a bulk
 * publish or unpublish). A request with a `scheduled_at` in the future is checked as far as it
 * can be now (the entry or asset exists and, to be published, is not archived; environments,
 * locales and version are known), then stored (table `schedules`, migration 012) and answered.
 * At its time the scheduler makes the change with the same code as an immediate request, in one
 * transaction that also deletes the schedule: the change and its events happen exactly once, as
 * the one who scheduled it. A `scheduled_at` that has passed is done at once.
 *
 * Durable: schedules live in the store, and every process that serves the API (role all or api)
 * runs a scheduler that, at start, arms a timer to the next due schedule. No polling: the timer is
 * re-armed when a schedule is stored (in this process directly, in others through the
 * `herald_schedules` signal on PostgreSQL), and never waits longer than MAX_WAIT_MS, so a
 * schedule whose signal was lost is still seen. With several processes on one database each claims
 * due schedules by a lease (`lease_until`, `lease_owner`): one process makes each change, and a
 * claim held by a process that died expires after LEASE_MS and is taken over.
 *
 * A change that can no longer be made when due (the entry was deleted, an environment is gone) is
 * dropped with a warning in the log; one that fails on the content's own validation records its
 * `publish.fail` events, as an immediate publish does.
 */

export type ScheduleKind = 'entry.publish' | 'entry.unpublish' | 'asset.publish' | 'asset.unpublish' | 'bulk.publish' | 'bulk.unpublish';

/** How long a claim on due schedules lasts, ms: far above the few ms a change takes. */
export const LEASE_MS = 60_000;
/** Longest a timer waits before looking at the store again, ms (a lost signal costs at most this). */
export const MAX_WAIT_MS = 5 * 60_000;
/** Schedules claimed at once. */
const CLAIM_BATCH = 50;
/** After the store failed, ms before trying again. */
const RETRY_MS = 5_000;

/** What a stored schedule does (the `request` column). */
interface StoredRequest {
  /** Entries and assets: environments by uid, locales, version. */
  environments?: string[];
  locales?: string[];
  version?: number;
  /** Bulk jobs: the request body, without scheduled_at. */
  body?: Record<string, unknown>;
}

interface ScheduleRow {
  uid: string;
  api_key: string;
  branch: string;
  kind: ScheduleKind;
  content_type_uid: string | null;
  entity_uid: string | null;
  request: string;
  origin: string;
  actor: string;
  actor_name: string | null;
  due_at: number;
  created_at: number;
}

/** A schedule as answered to the request that made it. */
export interface ScheduleView {
  uid: string;
  action: 'publish' | 'unpublish';
  scheduled_at: string;
  environments: string[];
  locales: string[];
}

/** What stores schedules tell the running scheduler (this process's; others hear the signal). */
export interface Schedules {
  /** A schedule due at `dueAt` (ms) was committed. */
  hint(dueAt: number): void;
}

export type ScheduleDeps = ContentDeps & { schedules?: Schedules };

export type PublishTarget = { module: 'entry'; contentType: string; uid: string } | { module: 'asset'; uid: string };

/**
 * A publish or unpublish of one entry or asset (the body as Contentstack's API takes it): done now,
 * or with a future `scheduled_at`, stored to be done then.
 */
export async function publishOrSchedule(
  deps: ScheduleDeps,
  scope: Scope,
  target: PublishTarget,
  action: 'publish' | 'unpublish',
  body: unknown,
  opts: { queryLocale?: unknown; origin: string },
): Promise<{ outcomes: PublishOutcome[] } | { scheduled: ScheduleView }> {
  const at = isObject(body) ? parseScheduledAt(body.scheduled_at) : undefined;
  return deps.db.tx(async (tx) => {
    const read = (t: Tx) => parsePublishRequest(t, scope, target.module, body, opts.queryLocale);
    if (at === undefined || at <= Date.now()) {
      const outcomes =
        target.module === 'entry'
          ? await (action === 'publish' ? publishEntryIn : unpublishEntryIn)(deps, tx, scope, target.contentType, target.uid, read)
          : await (action === 'publish' ? publishAssetIn : unpublishAssetIn)(deps, tx, scope, target.uid, opts.origin, read);
      return { outcomes };
    }
    if (target.module === 'entry') await checkEntryTarget(tx, scope, target.contentType, target.uid, action);
    else await checkAssetTarget(tx, scope, target.uid, action);
    const req = await read(tx);
    const uid = await insertSchedule(deps, tx, scope, {
      kind: `${target.module}.${action}`,
      content_type_uid: target.module === 'entry' ? target.contentType : null,
      entity_uid: target.uid,
      request: { environments: req.environments.map((e) => e.uid), locales: req.locales, ...(req.version !== undefined ? { version: req.version } : {}) },
      origin: opts.origin,
      due_at: at,
    });
    return { scheduled: { uid, action, scheduled_at: iso(at), environments: req.environments.map((e) => e.name), locales: req.locales } };
  });
}

/**
 * A bulk publish or unpublish with a future `scheduled_at`, checked now (the whole request, as an
 * immediate one) and stored; its `job_id` is the job's when it runs. Undefined when the request
 * has no future `scheduled_at` (the caller runs it now).
 */
export async function scheduleBulk(deps: ScheduleDeps, scope: Scope, kind: 'publish' | 'unpublish', body: unknown, origin: string): Promise<{ job_id: string; scheduled: ScheduleView } | undefined> {
  if (!isObject(body)) return undefined;
  const at = parseScheduledAt(body.scheduled_at);
  if (at === undefined || at <= Date.now()) return undefined;
  const { scheduled_at: _when, ...rest } = body;
  void _when;
  return deps.db.tx(async (tx) => {
    const req = await parseBulkRequest(tx, scope, kind, rest);
    const uid = await insertSchedule(deps, tx, scope, { kind: `bulk.${kind}`, content_type_uid: null, entity_uid: null, request: { body: rest }, origin, due_at: at });
    return {
      job_id: uid,
      scheduled: { uid, action: kind, scheduled_at: iso(at), environments: req.environments.map((e) => e.name), locales: req.locales ?? [] },
    };
  });
}

async function insertSchedule(
  deps: ScheduleDeps,
  tx: Tx,
  scope: Scope,
  s: { kind: ScheduleKind; content_type_uid: string | null; entity_uid: string | null; request: StoredRequest; origin: string; due_at: number },
): Promise<string> {
  const uid = randomUUID();
  await tx.run(
    `INSERT INTO schedules (uid, api_key, branch, kind, content_type_uid, entity_uid, request, origin, actor, actor_name, due_at, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [uid, scope.api_key, scope.branch, s.kind, s.content_type_uid, s.entity_uid, JSON.stringify(s.request), s.origin, scope.caller.actor, scope.caller.name ?? null, s.due_at, Date.now()],
  );
  tx.afterCommit(() => {
    deps.schedules?.hint(s.due_at);
    deps.db.notify?.(SIGNALS.schedules, String(s.due_at));
  });
  return uid;
}

/** A schedule as the publish queue lists it (GET /v3/publish-queue). */
export interface QueuedSchedule {
  uid: string;
  type: 'entry' | 'asset' | 'bulk';
  action: 'publish' | 'unpublish';
  /**
   * Entries: uid and content type; assets: uid; bulk jobs: how many items, and which (`entries`,
   * `assets`, as the request named them). `version`: the version the schedule publishes, when it
   * named one (else the latest at its time); `locale`: the line a bulk request named for the entry.
   */
  entry?: { uid: string; content_type_uid: string; version?: number };
  asset?: { uid: string; version?: number };
  items?: number;
  entries?: Array<{ uid: string; content_type_uid: string; locale?: string; version?: number }>;
  assets?: Array<{ uid: string; locale?: string; version?: number }>;
  /** Environment names (as they are now), locales. */
  environments: string[];
  locales: string[];
  scheduled_at: string;
  /** `in_progress` while a process holds it (its change is being made). */
  status: 'scheduled' | 'in_progress';
  created_at: string;
  created_by: string;
}

/** The locale and version a stored bulk request named for one item (it was checked when stored: strings, whole numbers). */
function bulkLine(item: Record<string, unknown>): { locale?: string; version?: number } {
  const version = item.version === undefined || item.version === null || item.version === '' ? undefined : Number(item.version);
  return { ...(typeof item.locale === 'string' && item.locale !== '' ? { locale: item.locale } : {}), ...(version !== undefined && Number.isInteger(version) ? { version } : {}) };
}

/** A stack's (branch's) pending schedules, soonest first. */
export async function listSchedules(deps: ContentDeps, scope: Scope): Promise<QueuedSchedule[]> {
  const rows = await deps.db.all<ScheduleRow & { lease_until: number }>('SELECT * FROM schedules WHERE api_key = ? AND branch = ? ORDER BY due_at, uid', [scope.api_key, scope.branch]);
  if (rows.length === 0) return [];
  const envs = await listEnvironments(deps.db, scope.api_key);
  const name = (e: string) => envs.find((x) => x.uid === e)?.name ?? envs.find((x) => x.name === e)?.name ?? e;
  const now = Date.now();
  return rows.map((r) => {
    const req = json<StoredRequest>(r.request);
    const [type, action] = r.kind.split('.') as ['entry' | 'asset' | 'bulk', 'publish' | 'unpublish'];
    const body = req.body ?? {};
    const list = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
    const pinned = req.version !== undefined ? { version: req.version } : {};
    const entries = Array.isArray(body.entries) ? body.entries.filter(isObject).map((e) => ({ uid: String(e.uid), content_type_uid: String(e.content_type ?? e._content_type_uid), ...bulkLine(e) })) : [];
    const assets = Array.isArray(body.assets) ? body.assets.filter(isObject).map((a) => ({ uid: String(a.uid), ...bulkLine(a) })) : [];
    return {
      uid: r.uid,
      type,
      action,
      ...(type === 'entry' ? { entry: { uid: r.entity_uid!, content_type_uid: r.content_type_uid!, ...pinned } } : {}),
      ...(type === 'asset' ? { asset: { uid: r.entity_uid!, ...pinned } } : {}),
      ...(type === 'bulk' ? { items: entries.length + assets.length, entries, assets } : {}),
      environments: (type === 'bulk' ? list(body.environments) : (req.environments ?? [])).map(name),
      locales: type === 'bulk' ? list(body.locales) : (req.locales ?? []),
      scheduled_at: iso(Number(r.due_at)),
      status: Number(r.lease_until) > now ? 'in_progress' : 'scheduled',
      created_at: iso(Number(r.created_at)),
      created_by: r.actor,
    };
  });
}

/**
 * Cancels a pending schedule (Contentstack's "unschedule"): a 404 when there is none by that uid in
 * the stack, a 409 when its change is being made right now.
 */
export async function cancelSchedule(deps: ContentDeps, scope: Scope, uid: string): Promise<void> {
  const { changes } = await deps.db.run('DELETE FROM schedules WHERE uid = ? AND api_key = ? AND branch = ? AND lease_until <= ?', [uid, scope.api_key, scope.branch, Date.now()]);
  if (changes > 0) return;
  const held = await deps.db.get('SELECT 1 AS ok FROM schedules WHERE uid = ? AND api_key = ? AND branch = ?', [uid, scope.api_key, scope.branch]);
  if (held) throw new HeraldError('conflict', `Scheduled change ${uid} is being made now; it can no longer be cancelled.`);
  throw notFound(`Scheduled change ${uid}`);
}

// ---------------------------------------------------------------------------------------------
// The scheduler

export interface Scheduler extends Schedules {
  /** Arms the timer from the store and listens for schedules stored by other processes. */
  start(): Promise<void>;
  /** Stops the timer; waits for a run in progress. */
  stop(): Promise<void>;
}

/** The caller a schedule acts as: whoever stored it (a token deleted since still names its uid). */
function callerOf(r: ScheduleRow): Caller {
  if (r.actor === 'admin') return { kind: 'admin', actor: 'admin' };
  return { kind: 'token', api_key: r.api_key, token_uid: r.actor, actor: r.actor, ...(r.actor_name ? { name: r.actor_name } : {}) };
}

/** The stored request of an entry or asset schedule, checked again as it is now. */
async function replay(tx: Tx, scope: Scope, stored: StoredRequest): Promise<PublishRequest> {
  const environments = await resolveEnvironments(tx, scope.api_key, stored.environments, 'environments');
  for (const code of stored.locales ?? []) {
    if (!(await getLocale(tx, scope.api_key, code))) throw invalid('locales', `names locale ${JSON.stringify(code)}, which is no longer a language of this stack`);
  }
  return { environments, locales: stored.locales ?? [], ...(stored.version !== undefined ? { version: stored.version } : {}) };
}

export function createScheduler(deps: ContentDeps, log: Logger): Scheduler {
  /** This process's claims. */
  const owner = randomUUID();
  let timer: NodeJS.Timeout | null = null;
  /** When the armed timer is due (the schedule's time, even if the timer itself waits less). */
  let armedFor = Infinity;
  let stopped = true;
  let running: Promise<void> | null = null;
  let again = false;
  let unlisten: (() => Promise<void>) | null = null;

  const arm = (at: number) => {
    if (stopped || (timer && at >= armedFor)) return;
    if (timer) clearTimeout(timer);
    armedFor = at;
    timer = setTimeout(fire, Math.min(Math.max(at - Date.now(), 0), MAX_WAIT_MS));
    timer.unref();
  };
  const fire = () => {
    const due = armedFor;
    timer = null;
    armedFor = Infinity;
    // A timer capped at MAX_WAIT_MS fires before its schedule: look at the store again, claim nothing.
    if (Date.now() < due) void rearm().catch((err) => (log.error({ err }, 'reading the next scheduled publish failed'), arm(Date.now() + RETRY_MS)));
    else void run();
  };

  /** Re-arms from the store: the next schedule due, or claimed by a process that may have died. */
  async function rearm(): Promise<void> {
    const row = await deps.db.get<{ next: number | null }>('SELECT MIN(CASE WHEN lease_until > due_at THEN lease_until ELSE due_at END) AS next FROM schedules');
    // None: nothing to arm; storing one arms the timer (here directly, elsewhere by the signal).
    if (row?.next !== null && row?.next !== undefined) arm(Number(row.next));
  }

  function run(): Promise<void> {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        try {
          let claimed: ScheduleRow[];
          do {
            claimed = await claim();
            for (const r of claimed) await runOne(r);
          } while (claimed.length === CLAIM_BATCH && !stopped);
          await rearm();
        } catch (err) {
          log.error({ err }, 'running scheduled publishes failed; trying again shortly');
          arm(Date.now() + RETRY_MS);
        }
      } while (again && !stopped);
    })().finally(() => {
      running = null;
    });
    return running;
  }

  async function claim(): Promise<ScheduleRow[]> {
    const now = Date.now();
    const rows = await deps.db.tx((tx) =>
      tx.all<ScheduleRow>(
        `UPDATE schedules SET lease_until = ?, lease_owner = ?
         WHERE uid IN (SELECT uid FROM schedules WHERE due_at <= ? AND lease_until <= ? ORDER BY due_at, uid LIMIT ?) AND lease_until <= ?
         RETURNING uid, api_key, branch, kind, content_type_uid, entity_uid, request, origin, actor, actor_name, due_at, created_at`,
        [now + LEASE_MS, owner, now, now, CLAIM_BATCH, now],
      ),
    );
    return rows.sort((a, b) => Number(a.due_at) - Number(b.due_at) || a.uid.localeCompare(b.uid));
  }

  /** Makes one claimed schedule's change, deleting the schedule in the same transaction. */
  async function runOne(r: ScheduleRow): Promise<void> {
    const scope: Scope = { api_key: r.api_key, branch: r.branch, caller: callerOf(r) };
    const stored = json<StoredRequest>(r.request);
    const where = { schedule: r.uid, kind: r.kind, api_key: r.api_key, uid: r.entity_uid, due_at: iso(Number(r.due_at)) };
    try {
      const done = await deps.db.tx(async (tx) => {
        // Gone: another process took it over after this claim expired, and made it.
        const { changes } = await tx.run('DELETE FROM schedules WHERE uid = ? AND lease_owner = ?', [r.uid, owner]);
        if (changes === 0) return false;
        const read = (t: Tx) => replay(t, scope, stored);
        switch (r.kind) {
          case 'entry.publish':
            await publishEntryIn(deps, tx, scope, r.content_type_uid!, r.entity_uid!, read);
            break;
          case 'entry.unpublish':
            await unpublishEntryIn(deps, tx, scope, r.content_type_uid!, r.entity_uid!, read);
            break;
          case 'asset.publish':
            await publishAssetIn(deps, tx, scope, r.entity_uid!, r.origin, read);
            break;
          case 'asset.unpublish':
            await unpublishAssetIn(deps, tx, scope, r.entity_uid!, r.origin, read);
            break;
          case 'bulk.publish':
          case 'bulk.unpublish': {
            const kind = r.kind === 'bulk.publish' ? 'publish' : 'unpublish';
            const req = await parseBulkRequest(tx, scope, kind, stored.body ?? {});
            await runBulkJob(deps, tx, scope, req, { jobId: r.uid, origin: r.origin, createdAt: Number(r.created_at), scheduledAt: Number(r.due_at) });
            break;
          }
        }
        return true;
      });
      if (done) log.info(where, 'made a scheduled change');
    } catch (err) {
      if (!(err instanceof HeraldError) || (err.code !== 'not_found' && err.code !== 'validation_failed')) throw err;
      // It can no longer be made (the entry is gone, an environment was deleted): dropped, said.
      await deps.db.run('DELETE FROM schedules WHERE uid = ? AND lease_owner = ?', [r.uid, owner]);
      log.warn({ ...where, reason: err.message }, 'a scheduled change could not be made and was dropped');
    }
  }

  return {
    hint: (dueAt) => arm(dueAt),
    async start() {
      stopped = false;
      unlisten = (await deps.db.listen?.(SIGNALS.schedules, (payload) => {
        const at = Number(payload);
        if (payload !== '' && Number.isFinite(at)) arm(at);
        else void rearm().catch((err) => log.error({ err }, 'reading the next scheduled publish failed'));
      })) ?? null;
      await rearm();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      armedFor = Infinity;
      await unlisten?.();
      unlisten = null;
      await running;
    },
  };
}

export type { JobResult };
