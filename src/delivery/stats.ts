import type { Queryable } from '../store/db.ts';

/**
 * Delivery health over time, for a chart: a webhook's attempts between `from` and `to`, counted
 * per bucket (successes and failures: every attempt is one call to the URL, retries included), with
 * the 95th percentile of their durations. `GET /v3/webhooks/{uid}/stats` answers with it.
 */
export interface StatsWindow {
  /** Start (inclusive) and end (exclusive), ms since the epoch. */
  from: number;
  to: number;
  /** Bucket width, ms. */
  bucket: number;
}

export interface StatsBucket {
  /** The bucket's start, ISO. */
  start: string;
  succeeded: number;
  failed: number;
  /** 95th percentile of the bucket's attempt durations (nearest rank), ms; null without attempts. */
  p95_ms: number | null;
}

/** At most this many buckets in one answer (a minute-wide bucket over a day is 1,440). */
export const MAX_BUCKETS = 1440;

/** Default window: the last 24 hours, in hour-wide buckets. */
export const DEFAULT_SPAN_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_BUCKET_MS = 60 * 60 * 1000;

export interface BucketRow {
  b: number;
  succeeded: number;
  failed: number;
  p95_ms: number | null;
}

/** Every bucket of the window in order, empty ones included, from the rows the query returned. */
export function assembleBuckets(w: StatsWindow, rows: BucketRow[]): StatsBucket[] {
  const count = Math.ceil((w.to - w.from) / w.bucket);
  const byIndex = new Map(rows.map((r) => [Number(r.b), r]));
  return Array.from({ length: count }, (_, i) => {
    const r = byIndex.get(i);
    return {
      start: new Date(w.from + i * w.bucket).toISOString(),
      succeeded: Number(r?.succeeded ?? 0),
      failed: Number(r?.failed ?? 0),
      p95_ms: r?.p95_ms === null || r?.p95_ms === undefined ? null : Number(r.p95_ms),
    };
  });
}

/**
 * The per-bucket counts and p95 of one webhook's attempts. The percentile is the nearest rank
 * (the ceil(0.95 n)-th shortest duration), by a window function both SQLite and PostgreSQL have.
 */
export async function webhookStats(q: Queryable, webhookUid: string, w: StatsWindow): Promise<StatsBucket[]> {
  const rows = await q.all<BucketRow>(
    `WITH a AS (
       SELECT CAST((a.started_at - ?) / ? AS BIGINT) AS b, a.outcome, a.duration_ms
         FROM attempts a JOIN executions x ON x.uid = a.execution_uid
        WHERE x.webhook_uid = ? AND a.started_at >= ? AND a.started_at < ?),
     r AS (
       SELECT b, outcome, duration_ms,
              ROW_NUMBER() OVER (PARTITION BY b ORDER BY duration_ms) AS rn,
              COUNT(*) OVER (PARTITION BY b) AS n
         FROM a)
     SELECT b,
            SUM(CASE WHEN outcome = 'success' THEN 1 ELSE 0 END) AS succeeded,
            SUM(CASE WHEN outcome = 'success' THEN 0 ELSE 1 END) AS failed,
            MAX(CASE WHEN rn = (95 * n + 99) / 100 THEN duration_ms END) AS p95_ms
       FROM r GROUP BY b`,
    [w.from, w.bucket, webhookUid, w.from, w.to],
  );
  return assembleBuckets(w, rows);
}
