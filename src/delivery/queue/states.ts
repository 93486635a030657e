import type { Db } from '../../store/db.ts';

/**
 * The conditions that name an execution's state in SQL, written once: the claim, the dispatcher's
 * timer, readiness (ops/readiness.ts), the queue depth metric (ops/metrics.ts) and the activity log
 * (delivery/log.ts) all read these, so they agree on what "due" and "parked" mean.
 */

/** Unfinished: some attempt is still to come (or running). */
export const UNFINISHED = "('queued', 'pending', 'in_flight')";

/**
 * An unfinished execution row, as the `executions_unfinished` index holds them: not ended
 * (`ended_at` NULL, which is what lets a query use the index) and in an unfinished state. The
 * writers that end an execution set ended_at; the ones that reopen it clear it (ENDED_AT).
 */
export const UNFINISHED_ROW = `ended_at IS NULL AND state IN ${UNFINISHED}`;

/**
 * `ended_at` as a write of `state` must leave it: `ENDED_AT(stateSql, nowSql)` is the SQL
 * expression for a row whose new state is `stateSql`, ended at `nowSql`.
 */
export const ENDED_AT = (stateSql: string, nowSql: string) => `CASE WHEN ${stateSql} IN ('succeeded', 'failed') THEN ${nowSql} ELSE NULL END`;

/**
 * Due at `?` (now): a pending execution whose time came, or an in-flight one whose lease ended
 * (its process died; SQLite: its outcome was given up on, release.ts expireClaims). Only pending
 * and in-flight executions carry a next_attempt_at, so the due index (`executions_due`) holds only
 * these: claiming never scans queued, finished or parked ones. On SQLite a leased row carries none
 * until then (lease.ts LEASE_SQLITE): one process holds every lease.
 */
export const DUE = 'next_attempt_at <= ?';

/** Parked: pending with no next attempt, because its webhook is disabled (see park.ts). Never due. */
export const PARKED = "state = 'pending' AND next_attempt_at IS NULL";

/** Whether an execution row is parked (the activity log's `parked`), as PARKED says. */
export function isParked(row: { state: string; next_attempt_at: number | null }): boolean {
  return row.state === 'pending' && row.next_attempt_at === null;
}

/**
 * Rate limited: pending with a slot of its webhook's rate limit (pace.ts), due at next_attempt_at;
 * it waits for nothing else. Parked wins (a parked execution has no next attempt at all).
 */
export const RATE_LIMITED = "state = 'pending' AND paced = 1 AND next_attempt_at IS NOT NULL";

/** Whether an execution row waits for its rate limit, as RATE_LIMITED says. */
export function isRateLimited(row: { state: string; next_attempt_at: number | null; paced: number | null }): boolean {
  return row.state === 'pending' && row.next_attempt_at !== null && Number(row.paced) === 1;
}

/** The labels of `herald_queue_depth`, in the order shown. */
export const DEPTH_STATES = ['due', 'retry', 'rate_limited', 'parked', 'queued', 'in_flight'] as const;

/**
 * Unfinished executions by depth state, at `?` (now): `parked` (PARKED), `rate_limited`
 * (RATE_LIMITED), `retry` (pending, tried before, waiting for its next attempt), `due` (pending
 * otherwise: due now, or waiting for its auto-save, debounce or batch window), `queued`,
 * `in_flight`. Reads the unfinished index only.
 */
export const QUEUE_DEPTH_SQL = `SELECT CASE WHEN ${PARKED} THEN 'parked'
                     WHEN ${RATE_LIMITED} THEN 'rate_limited'
                     WHEN state = 'pending' AND attempts > 0 AND next_attempt_at > ? THEN 'retry'
                     WHEN state = 'pending' THEN 'due' ELSE state END AS state, COUNT(*) AS n
         FROM executions WHERE ${UNFINISHED_ROW} GROUP BY 1`;

/** When the oldest due execution fell due (ms), or null when none is due at `now`. Reads the due index's first entry. */
export async function oldestDueAt(db: Pick<Db, 'get'>, now: number): Promise<number | null> {
  const row = await db.get<{ at: number | null }>(`SELECT MIN(next_attempt_at) AS at FROM executions WHERE ${DUE}`, [now]);
  return row?.at === null || row?.at === undefined ? null : Number(row.at);
}

/**
 * When the next execution of an enabled webhook falls due (ms), or null when none waits.
 * In-flight executions count at their lease end (SQLite: only those given up on, whose lease
 * expireClaims put back in the due index; the dispatcher holds the others); parked ones not at all.
 */
export async function nextDueAt(db: Pick<Db, 'get'>): Promise<number | null> {
  const row = await db.get<{ at: number | null }>('SELECT MIN(next_attempt_at) AS at FROM executions WHERE next_attempt_at IS NOT NULL');
  return row?.at === null || row?.at === undefined ? null : Number(row.at);
}
