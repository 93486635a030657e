import { Counter, Gauge, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import type { Delivery } from '../delivery/delivery.ts';
import { DEPTH_STATES, QUEUE_DEPTH_SQL } from '../delivery/queue/index.ts';
import type { EventLog } from '../events/record.ts';
import type { Queryable } from '../store/db.ts';

/**
 * Prometheus metrics (GET /metrics).
 *
 * Labels: by module/action for events and by outcome for attempts, never by stack or webhook:
 * those grow without bound (every stack and webhook a user creates would add series), so
 * per-webhook detail lives in the activity log and the web app, not in Prometheus. Queue depth
 * and disabled webhooks are read from the store at scrape time, so they are right even with
 * several processes on one database.
 */
export interface Metrics {
  registry: Registry;
}

/** Buckets, seconds: from 1 ms (in-process wake-up) to the 30 s delivery timeout. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function createMetrics(deps: { db: Queryable; events: EventLog; delivery: Delivery }): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'herald_process_' });

  const events = new Counter({
    name: 'herald_events_total',
    help: 'Content changes recorded as events',
    labelNames: ['module', 'action'] as const,
    registers: [registry],
  });
  // Per attempt, counts are kept in plain numbers and handed to prom-client when scraped (collect):
  // its inc() hashes and validates a labels object on every call.
  const attempts = new Map<string, number>();
  new Counter({
    name: 'herald_attempts_total',
    help: 'Delivery attempts by outcome (success, http_error, redirect, timeout, refused, dns, blocked, network, rejected)',
    labelNames: ['outcome'] as const,
    registers: [registry],
    collect() {
      for (const [outcome, n] of attempts) this.inc({ outcome }, n);
      attempts.clear();
    },
  });
  const ended = new Map<string, number>();
  new Counter({
    name: 'herald_executions_ended_total',
    help: 'Executions that reached an end: succeeded, or failed after their last automatic attempt',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      for (const [state, n] of ended) this.inc({ state }, n);
      ended.clear();
    },
  });
  const attemptDuration = new CountedHistogram(
    'herald_attempt_duration_seconds',
    'Time from sending a delivery to its complete response (or failure)',
    LATENCY_BUCKETS,
    registry,
  );
  const firstAttemptLatency = new CountedHistogram(
    'herald_event_to_first_attempt_seconds',
    'Time from an event being recorded to the first attempt of its delivery starting',
    LATENCY_BUCKETS,
    registry,
  );
  new Gauge({
    name: 'herald_in_flight_attempts',
    help: 'Attempts in flight in this process',
    registers: [registry],
    collect() {
      this.set(deps.delivery.inFlight());
    },
  });
  new Gauge({
    name: 'herald_webhook_concurrency_limit',
    help: 'Attempts a webhook may have in flight in this process now: its adaptive limit, between 1 and HERALD_MAX_IN_FLIGHT_PER_WEBHOOK',
    labelNames: ['webhook'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [webhook, limit] of deps.delivery.concurrencyLimits()) this.set({ webhook }, limit);
    },
  });
  new Gauge({
    name: 'herald_queue_depth',
    help: 'Unfinished executions: due (pending, never tried or due now), retry (waiting for a retry), rate_limited (waiting for a slot of its webhook rate limit), parked (its webhook is disabled), queued (behind an earlier delivery of the same entity), in_flight',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      const now = Date.now();
      // Runs on every scrape; it reads only the unfinished executions' partial index (states.ts).
      const rows = await deps.db.all<{ state: string; n: number }>(QUEUE_DEPTH_SQL, [now]);
      this.reset();
      for (const s of DEPTH_STATES) this.set({ state: s }, 0);
      for (const r of rows) this.set({ state: r.state }, Number(r.n));
    },
  });
  new Gauge({
    name: 'herald_webhooks_disabled_by_breaker',
    help: 'Webhooks Herald disabled (circuit breaker or 410 Gone) that no one has re-enabled',
    registers: [registry],
    async collect() {
      const row = await deps.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM webhooks WHERE disabled = 1 AND disabled_reason IS NOT NULL');
      this.set(Number(row?.n ?? 0));
    },
  });

  deps.events.onRecorded((e) => events.inc({ module: e.module, action: e.action }));
  deps.delivery.onAttempt(({ claimed, record, ended: end }) => {
    // A batch's call is one attempt (counted with the member that stands for it); each member's end counts.
    if (!claimed.batchUid || claimed.batch) {
      attempts.set(record.outcome, (attempts.get(record.outcome) ?? 0) + 1);
      attemptDuration.observe(record.duration_ms / 1000);
    }
    if (claimed.attempts === 0) firstAttemptLatency.observe(Math.max(0, record.started_at - claimed.event.created_at) / 1000);
    if (end) ended.set(end, (ended.get(end) ?? 0) + 1);
  });
  return { registry };
}

/**
 * A histogram without labels whose observe() is a bucket search and three additions, printed by
 * /metrics exactly as prom-client's Histogram prints one (cumulative `_bucket` lines by `le`, then
 * `+Inf`, `_sum`, `_count`). prom-client's observe() hashes and validates a labels object on every
 * call; two are made per attempt. Not for values that are not finite (prom-client throws on them;
 * durations never are): they are ignored.
 */
export class CountedHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly labelNames: string[] = [];
  /** Observations per bucket (not cumulative), the last for those above every bound. */
  private counts: number[];
  private sum = 0;
  private count = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
    registry.registerMetric(this as unknown as Metric);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) return;
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]) i++;
    this.counts[i]++;
    this.sum += value;
    this.count++;
  }

  /** What prom-client's registry reads of a metric (Histogram.get's shape). */
  async get() {
    const bucket = `${this.name}_bucket`;
    const values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> = [];
    let acc = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      acc += this.counts[i];
      values.push({ labels: { le: this.bounds[i] }, value: acc, metricName: bucket });
    }
    values.push(
      { labels: { le: '+Inf' }, value: this.count, metricName: bucket },
      { labels: {}, value: this.sum, metricName: `${this.name}_sum` },
      { labels: {}, value: this.count, metricName: `${this.name}_count` },
    );
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}
