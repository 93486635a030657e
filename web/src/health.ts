import { toMs } from './time.ts';

/**
 * A webhook's health in the list (Contentful's overview: recent calls and their status), computed
 * from its newest executions as the executions API returns them. Pure.
 */
export interface ExecutionSummary {
  state: string;
  created_at: string | null;
  updated_at?: string | null;
  request_details?: Array<{ created_at: string | null }>;
}

export interface Health {
  /** Executions looked at. */
  total: number;
  /** Of those, the ones that made at least one attempt. */
  called: number;
  /** Delivered (a 2xx). */
  succeeded: number;
  /** Called but not delivered yet: a retry is scheduled. */
  retrying: number;
  /** Called and given up on (every attempt failed). */
  failed: number;
  /** Not called yet (queued). */
  waiting: number;
  /** succeeded / called, 0..1; null when nothing was called yet. */
  rate: number | null;
  /** When the newest attempt was made, ms; null when no call was made yet. */
  lastCallAt: number | null;
}

export function health(executions: readonly ExecutionSummary[]): Health {
  const h: Health = { total: executions.length, called: 0, succeeded: 0, retrying: 0, failed: 0, waiting: 0, rate: null, lastCallAt: null };
  for (const x of executions) {
    const attempts = x.request_details ?? [];
    if (x.state === 'succeeded') h.succeeded++;
    else if (x.state === 'failed') h.failed++;
    else if (attempts.length > 0) h.retrying++;
    if (attempts.length > 0 || x.state === 'succeeded' || x.state === 'failed') h.called++;
    else h.waiting++;
    for (const a of attempts) {
      const t = toMs(a.created_at);
      if (t !== null && (h.lastCallAt === null || t > h.lastCallAt)) h.lastCallAt = t;
    }
  }
  h.rate = h.called ? h.succeeded / h.called : null;
  return h;
}

/** The colour of a success rate: good from 95 %, bad under 50 %. */
export function healthLevel(h: Health): 'good' | 'warn' | 'bad' | 'none' {
  if (h.rate === null) return 'none';
  if (h.rate >= 0.95) return 'good';
  if (h.rate >= 0.5) return 'warn';
  return 'bad';
}
