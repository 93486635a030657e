import { del, get, post, put } from './api.ts';
import type { WebhookView } from './webhook-form.ts';

/** The webhook and activity-log calls the web app makes (paths and shapes of src/http/routes/{webhooks,executions}.ts). */

export interface Attempt {
  uid: string;
  attempt: number;
  created_at: string | null;
  duration_ms: number;
  outcome: string;
  reason: string | null;
  request: { method?: string; url?: string; headers?: Record<string, string>; body?: string; truncated?: boolean };
  response: { status: number | null; headers?: Record<string, string | string[]>; body?: string; truncated?: boolean };
}

export interface Execution {
  uid: string;
  channel: string[];
  seq: number;
  event: string;
  module: string;
  entity_uid: string;
  /** The entity the call was about: its title (entries, assets, content types), content type and locale. */
  entity?: { uid: string; title: string | null; content_type_uid: string | null; locale: string | null };
  /** queued | pending | in_flight | succeeded | failed */
  state: string;
  /** The last HTTP status answered, if any. */
  status: number | null;
  outcome: string | null;
  reason: string | null;
  attempts: number;
  coalesced: number;
  next_attempt_at: string | null;
  /** Waiting for its slot of the webhook's rate limit (at next_attempt_at). */
  rate_limited?: boolean;
  /** Seqs of older changes folded into this call by the webhook's debounce. */
  folded_seqs?: number[];
  /** The batch this call went in (one request for all its events); `executions` in the view of one call. */
  batch?: {
    uid: string;
    size: number;
    executions?: Array<{ uid: string; seq: number; event: string; module: string; state: string; entity: { uid: string; title: string | null; content_type_uid: string | null; locale: string | null } }>;
  } | null;
  created_at: string;
  updated_at: string;
  event_data: unknown;
  request_details: Attempt[];
}

export const listWebhooks = () => get<{ webhooks: WebhookView[]; count: number }>('/v3/webhooks', { limit: 100, include_count: true });
export const getWebhook = (uid: string) => get<{ webhook: WebhookView }>(`/v3/webhooks/${encodeURIComponent(uid)}`).then((r) => r.webhook);
export const createWebhook = (body: unknown) => post<{ webhook: WebhookView & { signing_secret?: string } }>('/v3/webhooks', body).then((r) => r.webhook);
export const updateWebhook = (uid: string, body: unknown) => put<{ webhook: WebhookView }>(`/v3/webhooks/${encodeURIComponent(uid)}`, body).then((r) => r.webhook);
export const deleteWebhook = (uid: string) => del(`/v3/webhooks/${encodeURIComponent(uid)}`);
export const setEnabled = (uid: string, enabled: boolean) =>
  post<{ webhook: WebhookView }>(`/v3/webhooks/${encodeURIComponent(uid)}/${enabled ? 'enable' : 'disable'}`).then((r) => r.webhook);
export interface TestCall {
  outcome: string;
  status: number | null;
  reason: string | null;
  duration_ms: number;
}
export const sendTestCall = (uid: string) =>
  post<{ notice: string; test: TestCall }>(`/v3/webhooks/${encodeURIComponent(uid)}/test`, {});
export const getSigningSecret = (uid: string) => get<{ signing_secret: string }>(`/v3/webhooks/${encodeURIComponent(uid)}/secret`);
export const rotateSigningSecret = (uid: string) => post<{ signing_secret: string }>(`/v3/webhooks/${encodeURIComponent(uid)}/secret/rotate`, {});

export interface ExecutionFilter {
  skip?: number;
  limit?: number;
  state?: string;
  /** 'any': the last attempt failed, whether or not a retry is scheduled. */
  failed?: 'any';
  /** An event action (publish, auto_save, ...). */
  event?: string;
  /** An entity uid, or text in its title. */
  q?: string;
  /** ISO instants. */
  from?: string;
  to?: string;
}

export interface StatsBucket {
  start: string;
  succeeded: number;
  failed: number;
  p95_ms: number | null;
}
export interface Stats {
  from: string;
  to: string;
  bucket_ms: number;
  succeeded: number;
  failed: number;
  buckets: StatsBucket[];
  /** Attempts in flight at once the webhook may have now (adaptive), and the configured most; limit null when unknown. */
  concurrency?: { limit: number | null; max: number };
}

/** Attempts per bucket (GET /v3/webhooks/{uid}/stats); by default the last 24 h, hour by hour. */
export const getStats = (uid: string, q: { from?: string; to?: string; bucket?: string } = {}) =>
  get<{ stats: Stats }>(`/v3/webhooks/${encodeURIComponent(uid)}/stats`, q).then((r) => r.stats);

export const listExecutions = (uid: string, f: ExecutionFilter = {}) =>
  get<{ webhooks: Execution[]; count: number }>(`/v3/webhooks/${encodeURIComponent(uid)}/executions`, { ...f }).then((r) => ({ executions: r.webhooks, count: r.count }));

export const getExecution = (executionUid: string) =>
  get<{ webhooks: Execution[] }>(`/v3/webhooks/${encodeURIComponent(executionUid)}/logs`).then((r) => r.webhooks[0]);

/** States in which an execution is still waiting for or making an attempt. */
export const BUSY_STATES = new Set(['queued', 'in_flight']);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Retries an execution now and waits for the new attempt: polls the execution (every `everyMs`,
 * at most `maxMs`) until the attempt numbered one past what it had is in its log, and returns it.
 * Automatic retries may follow it; `attempt` is the one this retry made. Null when it did not
 * finish in time (the log shows it when it does).
 */
export async function retryAndWait(
  webhookUid: string,
  x: Execution,
  opts: { everyMs?: number; maxMs?: number } = {},
): Promise<{ execution: Execution; attempt: Attempt | null }> {
  const every = opts.everyMs ?? 300;
  const deadline = Date.now() + (opts.maxMs ?? 60_000);
  // The log may be behind the list the user saw; count what is recorded now.
  const before = Math.max(x.attempts, x.request_details.length);
  await post(`/v3/webhooks/${encodeURIComponent(webhookUid)}/retry`, { execution_uid: x.uid });
  let latest = x;
  while (Date.now() < deadline) {
    await sleep(every);
    latest = await getExecution(x.uid);
    const attempt = latest.request_details.find((a) => a.attempt === before + 1);
    if (attempt) return { execution: latest, attempt };
  }
  return { execution: latest, attempt: null };
}

/** An attempt's outcome in words: "500 Internal Server Error", or its failure reason. */
export function attemptOutcome(a: Attempt, statusText: (code: number) => string): string {
  if (a.response?.status !== null && a.response?.status !== undefined) return statusText(a.response.status);
  return a.reason ?? a.outcome;
}
