import { eventFromRow, type EventRow } from '../events/record.ts';
import type { HeraldEvent } from '../events/event.ts';
import type { Queryable } from '../store/db.ts';
import { json, repeated } from '../store/db.ts';
import type { Webhook } from '../webhooks/webhook.ts';
import { cappedBody, deliveryFormat } from './formats/index.ts';
import { contentstackPayload } from './formats/contentstack.ts';
import type { LoggedRequest } from './request.ts';
import { isParked, isRateLimited } from './queue/index.ts';

/** Bytes of a request body shown in the log. */
export const MAX_LOGGED_REQUEST_BYTES = 64 * 1024;

/**
 * The stored request with its body, rebuilt from the event exactly as it was sent by the format
 * that sent it (formats/), capped; the rebuild itself stops at the cap, so reading a log never
 * renders more than that. Rows from before formats had names: Contentful's when they carry
 * `contentful`, else Contentstack's.
 */
function requestWithBody(stored: LoggedRequest | null, event: HeraldEvent, batches?: BatchBodies) {
  if (!stored) return null;
  const format = deliveryFormat(stored.format ?? (stored.contentful ? 'contentful' : 'contentstack'));
  if (!format) return { ...stored, body: '', truncated: false };
  // A batch's call: `{"events": [...]}` of its members' bodies, in event order (queue/batch.ts).
  const members = typeof stored.batch === 'string' ? batches?.events.get(stored.batch) : undefined;
  if (members) {
    // Every member's attempt row names the same call: built once per page.
    const key = `${stored.batch}:${stored.concise === true}`;
    let shown = batches!.shown.get(key);
    if (!shown) {
      shown = cappedBody(() => `{"events":[${members.map((e) => format.loggedBody(e, stored)).join(',')}]}`, MAX_LOGGED_REQUEST_BYTES);
      batches!.shown.set(key, shown);
    }
    return { ...stored, ...shown };
  }
  return { ...stored, ...cappedBody((limits) => format.loggedBody(event, stored, limits), MAX_LOGGED_REQUEST_BYTES) };
}

/** Batches' member events (by batch id), and the bodies shown for them so far. */
interface BatchBodies {
  events: Map<string, HeraldEvent[]>;
  shown: Map<string, { body: string; truncated: boolean }>;
}

function bodiesOf(batches: Map<string, Array<{ event: HeraldEvent }>>): BatchBodies {
  return { events: new Map([...batches].map(([uid, members]) => [uid, members.map((m) => m.event)])), shown: new Map() };
}

const EVENT_COLUMNS = 'e.seq, e.api_key, e.branch, e.module, e.action, e.uid, e.content_type_uid, e.locale, e.environment, e.actor, e.actor_name, e.changes, e.data, e.created_at';

/** The events of a delivery: its event, with the seqs it folded (debounce) when there are some. */
function deliveredEvent(r: EventRow & { folded_seqs?: string | null }): HeraldEvent {
  const event = eventFromRow(r);
  if (r.folded_seqs) event.folded_seqs = json<number[]>(r.folded_seqs);
  return event;
}

/** The members of these batches: each one's execution and delivered event, in event order. */
async function batchMembers(q: Queryable, batchUids: string[]): Promise<Map<string, Array<{ uid: string; state: string; event: HeraldEvent }>>> {
  const out = new Map<string, Array<{ uid: string; state: string; event: HeraldEvent }>>();
  if (batchUids.length === 0) return out;
  const rows = await q.all<EventRow & { x_uid: string; batch_uid: string; state: string; folded_seqs: string | null }>(
    `SELECT x.uid AS x_uid, x.batch_uid, x.state, x.folded_seqs, ${EVENT_COLUMNS}
     FROM executions x JOIN events e ON e.seq = x.event_seq WHERE x.batch_uid IN (${repeated(batchUids.length)}) ORDER BY e.seq`,
    batchUids,
  );
  for (const r of rows) {
    const list = out.get(r.batch_uid) ?? [];
    list.push({ uid: r.x_uid, state: r.state, event: deliveredEvent(r) });
    out.set(r.batch_uid, list);
  }
  return out;
}

/** Batch ids named by stored requests (attempt rows' `request` JSON). */
function batchesOf(requests: Array<string | null>): string[] {
  const ids = new Set<string>();
  for (const r of requests) {
    const stored = r ? json<LoggedRequest | null>(r) : null;
    if (stored && typeof stored.batch === 'string') ids.add(stored.batch);
  }
  return [...ids];
}

/**
 * The activity log: executions and their attempts as the API shows them (Contentstack's
 * "Get executions of a webhook" shape: `uid`, `channel`, `status` = last HTTP status,
 * `retry_count`, `event_data`, `request_details` per attempt), plus Herald's own fields: `state`,
 * `seq`, `attempts`, `next_attempt_at`, `parked` (pending, but its webhook is disabled: it waits
 * until the webhook is enabled; the queue's PARKED), `rate_limited` (pending, waiting for its slot
 * of the webhook's rate limit at next_attempt_at; the queue's RATE_LIMITED), `coalesced`,
 * `folded_seqs` (debounce), `batch` (the batch it went in: `{uid, size}`, and in the view of one
 * execution its `executions`), and per attempt `outcome`, `reason`, `duration_ms`. Request headers
 * were masked before they were stored.
 */
export interface ExecutionFilter {
  skip: number;
  limit: number;
  /** created_at bounds, ms, inclusive. */
  from?: number;
  to?: number;
  state?: string;
  /** Only executions whose last attempt failed: failed for good, or failed with a retry to come. */
  anyFailure?: boolean;
  /** Only executions of this event action (publish, auto_save, ...). */
  event?: string;
  /** Only executions of an entity with this uid, or whose title contains this text (any case). */
  search?: string;
  /** Needed for `search`: where the title sits in the stored event differs by dialect. */
  dialect?: 'sqlite' | 'postgres';
}

/** The entity an execution is about, for a log row: its title (entries, assets, content types), content type and locale. */
function entityOf(event: { module: string; uid: string; content_type_uid?: string | null; locale?: string | null; data: Record<string, unknown> }) {
  const doc = (event.data[event.module] ?? {}) as { title?: unknown; filename?: unknown };
  const title = typeof doc.title === 'string' && doc.title !== '' ? doc.title : typeof doc.filename === 'string' ? doc.filename : null;
  return { uid: event.uid, title, content_type_uid: event.content_type_uid ?? null, locale: event.locale ?? null };
}

interface ExecutionRow extends EventRow {
  x_uid: string;
  webhook_uid: string;
  channel: string;
  state: string;
  attempts: number;
  coalesced: number;
  next_attempt_at: number | null;
  last_status_code: number | null;
  last_outcome: string | null;
  last_reason: string | null;
  x_created_at: number;
  x_updated_at: number;
  w_doc: string | null;
  batch_uid: string | null;
  paced: number | null;
  folded_seqs: string | null;
}

interface AttemptRow {
  uid: string;
  execution_uid: string;
  n: number;
  started_at: number;
  duration_ms: number;
  outcome: string;
  status_code: number | null;
  reason: string | null;
  request: string;
  response: string | null;
}

const SELECT = `SELECT x.uid AS x_uid, x.webhook_uid, x.channel, x.state, x.attempts, x.coalesced, x.next_attempt_at,
       x.last_status_code, x.last_outcome, x.last_reason, x.created_at AS x_created_at, x.updated_at AS x_updated_at,
       x.batch_uid, x.paced, x.folded_seqs,
       e.seq, e.api_key, e.branch, e.module, e.action, e.uid, e.content_type_uid, e.locale, e.environment, e.actor, e.actor_name, e.changes, e.data, e.created_at,
       w.doc AS w_doc
  FROM executions x JOIN events e ON e.seq = x.event_seq LEFT JOIN webhooks w ON w.uid = x.webhook_uid`;

const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());

async function present(q: Queryable, rows: ExecutionRow[], opts: { members?: boolean } = {}) {
  if (rows.length === 0) return [];
  const marks = repeated(rows.length);
  const attempts = await q.all<AttemptRow>(`SELECT * FROM attempts WHERE execution_uid IN (${marks}) ORDER BY n`, rows.map((r) => r.x_uid));
  const formed = rows.map((r) => r.batch_uid).filter((b): b is string => Boolean(b));
  const batches = await batchMembers(q, [...new Set([...formed, ...batchesOf(attempts.map((a) => a.request))])]);
  const bodies = bodiesOf(batches);
  const byExecution = new Map<string, AttemptRow[]>();
  for (const a of attempts) {
    const list = byExecution.get(a.execution_uid) ?? [];
    list.push(a);
    byExecution.set(a.execution_uid, list);
  }
  return rows.map((r) => {
    const event = deliveredEvent(r);
    const members = r.batch_uid ? (batches.get(r.batch_uid) ?? []) : null;
    const webhook = r.w_doc ? json<Webhook>(r.w_doc) : null;
    return {
      uid: r.x_uid,
      webhooks: [r.webhook_uid],
      channel: [r.channel],
      seq: event.seq,
      event: event.action,
      module: event.module,
      entity_uid: event.uid,
      entity: entityOf(event),
      state: r.state,
      status: r.last_status_code === null ? null : Number(r.last_status_code),
      outcome: r.last_outcome,
      reason: r.last_reason,
      attempts: Number(r.attempts),
      retry_count: Math.max(0, Number(r.attempts) - 1),
      coalesced: Number(r.coalesced),
      next_attempt_at: r.state === 'pending' || r.state === 'queued' ? iso(r.next_attempt_at) : null,
      parked: isParked({ state: r.state, next_attempt_at: r.next_attempt_at }),
      rate_limited: isRateLimited({ state: r.state, next_attempt_at: r.next_attempt_at, paced: r.paced }),
      folded_seqs: event.folded_seqs ?? [],
      batch:
        members === null
          ? null
          : {
              uid: r.batch_uid!,
              size: members.length,
              ...(opts.members
                ? { executions: members.map((m) => ({ uid: m.uid, seq: m.event.seq, event: m.event.action, module: m.event.module, state: m.state, entity: entityOf(m.event) })) }
                : {}),
            },
      created_at: iso(r.x_created_at),
      updated_at: iso(r.x_updated_at),
      event_data: contentstackPayload(event, { concise: webhook?.concise_payload ?? false }),
      request_details: (byExecution.get(r.x_uid) ?? []).map((a) => ({
        uid: a.uid,
        retry_number: Number(a.n) - 1,
        attempt: Number(a.n),
        created_at: iso(a.started_at),
        duration_ms: Number(a.duration_ms),
        outcome: a.outcome,
        reason: a.reason,
        request: requestWithBody(json<LoggedRequest | null>(a.request), event, bodies),
        response: a.response ? json(a.response) : { status: null },
      })),
    };
  });
}

export type ExecutionView = Awaited<ReturnType<typeof present>>[number];

/** A webhook's executions, newest first, and how many match the filter. */
export async function listExecutions(q: Queryable, webhookUid: string, f: ExecutionFilter) {
  const where = ['x.webhook_uid = ?'];
  const params: unknown[] = [webhookUid];
  if (f.from !== undefined) (where.push('x.created_at >= ?'), params.push(f.from));
  if (f.to !== undefined) (where.push('x.created_at <= ?'), params.push(f.to));
  if (f.state) (where.push('x.state = ?'), params.push(f.state));
  if (f.anyFailure) where.push("x.last_outcome IS NOT NULL AND x.last_outcome <> 'success'");
  if (f.event) (where.push('e.action = ?'), params.push(f.event));
  if (f.search) {
    // The title of the entity the event carries: data.entry.title, data.asset.title or data.content_type.title.
    const title = (m: string) => (f.dialect === 'postgres' ? `(e.data::jsonb #>> '{${m},title}')` : `json_extract(e.data, '$.${m}.title')`);
    where.push(`(e.uid = ? OR LOWER(COALESCE(${title('entry')}, ${title('asset')}, ${title('content_type')}, '')) LIKE ? ESCAPE '\\')`);
    params.push(f.search, `%${f.search.toLowerCase().replace(/[\\%_]/g, (c) => '\\' + c)}%`);
  }
  const rows = await q.all<ExecutionRow>(`${SELECT} WHERE ${where.join(' AND ')} ORDER BY x.created_at DESC, x.uid DESC LIMIT ? OFFSET ?`, [
    ...params,
    f.limit,
    f.skip,
  ]);
  const joinEvents = f.event || f.search ? ' JOIN events e ON e.seq = x.event_seq' : '';
  const count = await q.get<{ n: number }>(`SELECT COUNT(*) AS n FROM executions x${joinEvents} WHERE ${where.join(' AND ')}`, params);
  return { executions: await present(q, rows), count: Number(count?.n ?? 0) };
}

/** One execution of a stack's webhook, or undefined. */
export async function getExecution(q: Queryable, apiKey: string, executionUid: string): Promise<ExecutionView | undefined> {
  const rows = await q.all<ExecutionRow>(`${SELECT} WHERE x.uid = ? AND x.api_key = ?`, [executionUid, apiKey]);
  return (await present(q, rows, { members: true }))[0];
}

/**
 * Attempts one by one, as the Contentful dialect lists them ("calls": each attempt is one call to
 * the URL), newest first. The same rows as `request_details` above, with the event they carried.
 */
export interface AttemptSummary {
  uid: string;
  execution_uid: string;
  /** 1-based attempt number within its execution. */
  n: number;
  started_at: number;
  duration_ms: number;
  outcome: string;
  status_code: number | null;
  reason: string | null;
  /** The URL called (from the stored request). */
  url: string | null;
  module: string;
  action: string;
}

export interface AttemptDetails extends AttemptSummary {
  request: ReturnType<typeof requestWithBody>;
  response: Record<string, unknown> | null;
}

const ATTEMPTS = `SELECT a.uid AS a_uid, a.execution_uid, a.n, a.started_at AS a_started_at, a.duration_ms, a.outcome, a.status_code, a.reason, a.request, a.response,
       x.folded_seqs, e.seq, e.api_key, e.branch, e.module, e.action, e.uid, e.content_type_uid, e.locale, e.environment, e.actor, e.actor_name, e.changes, e.data, e.created_at
  FROM attempts a JOIN executions x ON x.uid = a.execution_uid JOIN events e ON e.seq = x.event_seq`;

type AttemptJoinRow = EventRow & Omit<AttemptRow, 'uid' | 'started_at'> & { a_uid: string; a_started_at: number; folded_seqs: string | null };

function summary(r: AttemptJoinRow): AttemptSummary {
  const stored = json<LoggedRequest | null>(r.request);
  return {
    uid: r.a_uid,
    execution_uid: r.execution_uid,
    n: Number(r.n),
    started_at: Number(r.a_started_at),
    duration_ms: Number(r.duration_ms),
    outcome: r.outcome,
    status_code: r.status_code === null ? null : Number(r.status_code),
    reason: r.reason,
    url: stored?.url ?? null,
    module: r.module,
    action: r.action,
  };
}

/** A webhook's attempts, newest first, and how many it has. */
export async function listAttempts(q: Queryable, webhookUid: string, page: { skip: number; limit: number }): Promise<{ attempts: AttemptSummary[]; total: number }> {
  const rows = await q.all<AttemptJoinRow>(`${ATTEMPTS} WHERE x.webhook_uid = ? ORDER BY a.started_at DESC, a.uid DESC LIMIT ? OFFSET ?`, [
    webhookUid,
    page.limit,
    page.skip,
  ]);
  const total = await q.get<{ n: number }>('SELECT COUNT(*) AS n FROM attempts a JOIN executions x ON x.uid = a.execution_uid WHERE x.webhook_uid = ?', [webhookUid]);
  return { attempts: rows.map(summary), total: Number(total?.n ?? 0) };
}

/** One attempt of a webhook with its request (body rebuilt, capped) and response, or undefined. */
export async function getAttempt(q: Queryable, webhookUid: string, attemptUid: string): Promise<AttemptDetails | undefined> {
  const r = await q.get<AttemptJoinRow>(`${ATTEMPTS} WHERE x.webhook_uid = ? AND a.uid = ?`, [webhookUid, attemptUid]);
  if (!r) return undefined;
  const batches = await batchMembers(q, batchesOf([r.request]));
  const bodies = bodiesOf(batches);
  return { ...summary(r), request: requestWithBody(json<LoggedRequest | null>(r.request), deliveredEvent(r), bodies), response: r.response ? json(r.response) : null };
}

/** How many attempts a webhook made, and how many of them succeeded (2xx). */
export async function attemptHealth(q: Queryable, webhookUid: string): Promise<{ total: number; healthy: number }> {
  const row = await q.get<{ total: number; healthy: number | null }>(
    `SELECT COUNT(*) AS total, SUM(CASE WHEN a.outcome = 'success' THEN 1 ELSE 0 END) AS healthy
       FROM attempts a JOIN executions x ON x.uid = a.execution_uid WHERE x.webhook_uid = ?`,
    [webhookUid],
  );
  return { total: Number(row?.total ?? 0), healthy: Number(row?.healthy ?? 0) };
}
