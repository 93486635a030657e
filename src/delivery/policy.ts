/**
 * Delivery policy: what happens after an attempt. Pure functions of the attempt's result, the
 * attempt number and the schedule; the dispatcher only applies their decisions.
 *
 * An execution's states and every transition between them are drawn in queue/index.ts.
 */

/**
 * The closed set of attempt outcomes; the log, metrics and the circuit breaker all read these.
 * `rejected`: the destination refused the message itself (a broker's nack, no queue or stream for
 * it, refused credentials; an OAuth token request refused).
 */
export const OUTCOMES = ['success', 'http_error', 'redirect', 'timeout', 'refused', 'dns', 'blocked', 'network', 'rejected'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** The `state` column's values. Parked is pending with no next attempt (queue/states.ts). */
export const EXECUTION_STATES = ['queued', 'pending', 'in_flight', 'succeeded', 'failed'] as const;
export type ExecutionState = (typeof EXECUTION_STATES)[number];

export interface AttemptResult {
  outcome: Outcome;
  /** HTTP status, when a response came. */
  status_code: number | null;
  /** Retry-After from a 429 or 503, in ms from now, when the receiver sent one. */
  retry_after_ms: number | null;
}

export type Decision =
  | { state: 'succeeded' }
  | { state: 'pending'; next_attempt_at: number }
  | { state: 'failed'; /** Set when the webhook must be disabled (410 Gone). */ disable?: string };

/** Longest Retry-After honoured, ms: a receiver cannot park a delivery for more than a day. */
export const MAX_RETRY_AFTER_MS = 24 * 3_600_000;

/**
 * What follows attempt number `attempt` (1-based). `delaysMs[i]` is the wait after attempt i+1,
 * so `delaysMs.length + 1` attempts are made in all before the execution fails.
 */
export function decide(result: AttemptResult, attempt: number, delaysMs: readonly number[], now: number): Decision {
  if (result.outcome === 'success') return { state: 'succeeded' };
  if (result.status_code === 410) {
    return { state: 'failed', disable: 'The endpoint answered 410 Gone: it asked not to receive more calls.' };
  }
  if (attempt > delaysMs.length) return { state: 'failed' };
  let delay = delaysMs[attempt - 1];
  if (result.retry_after_ms !== null && (result.status_code === 429 || result.status_code === 503)) {
    delay = Math.max(delay, Math.min(result.retry_after_ms, MAX_RETRY_AFTER_MS));
  }
  return { state: 'pending', next_attempt_at: now + delay };
}

/**
 * Retry-After as ms from `now`: either delay-seconds or an HTTP date. Null when absent or
 * unreadable.
 */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | null {
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) return null;
  if (/^\s*\d+\s*$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - now);
}

/** Whether a webhook with this many consecutive failed executions must be disabled. 0 = never. */
export function breakerTrips(consecutiveFailures: number, threshold: number): boolean {
  return threshold > 0 && consecutiveFailures >= threshold;
}

export function breakerReason(threshold: number): string {
  return `Disabled after ${threshold} consecutive failed executions. Fix the endpoint, then enable the webhook again.`;
}

/**
 * The wait before the next half-open probe of a disabled webhook after one failed: twice the last
 * one, up to `maxMs` (defaults: 1 min doubling to 1 h; config.probeDelayMs, probeMaxDelayMs).
 */
export function nextProbeDelay(lastMs: number, maxMs: number): number {
  return Math.max(1, Math.min(lastMs * 2, maxMs));
}

/** Classifies a thrown request error into an outcome. */
export function outcomeOfError(err: unknown): Outcome {
  const e = err as { code?: string; name?: string; cause?: { code?: string } };
  const code = e.code ?? e.cause?.code ?? '';
  if (code === 'HERALD_BLOCKED_TARGET') return 'blocked';
  if (e.name === 'AbortError' || e.name === 'TimeoutError') return 'timeout';
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'ETIMEDOUT') {
    return 'timeout';
  }
  if (code === 'ECONNREFUSED') return 'refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NODATA' || code === 'EAI_NONAME') return 'dns';
  return 'network';
}

/** Outcome of a response by its status: 2xx success, 3xx redirect (never followed), else http_error. */
export function outcomeOfStatus(status: number): Outcome {
  if (status >= 200 && status < 300) return 'success';
  if (status >= 300 && status < 400) return 'redirect';
  return 'http_error';
}
