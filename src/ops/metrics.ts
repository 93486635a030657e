import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
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
  const attempts = new Counter({
    name: 'herald_attempts_total',
    help: 'Delivery attempts by outcome (success, http_error, redirect, timeout, refused, dns, blocked, network, rejected)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const ended = new Counter({
    name: 'herald_executions_ended_total',
    help: 'Executions that reached an end: succeeded, or failed after their last automatic attempt',
    labelNames: ['state'] as const,
    registers: [registry],
  });
  const attemptDuration = new Histogram({
    name: 'herald_attempt_duration_seconds',
    help: 'Time from sending a delivery to its complete response (or failure)',
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const firstAttemptLatency = new Histogram({
    name: 'herald_event_to_first_attempt_seconds',
    help: 'Time from an event being recorded to the first attempt of its delivery starting',
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
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
      attempts.inc({ outcome: record.outcome });
      attemptDuration.observe(record.duration_ms / 1000);
    }
    if (claimed.attempts === 0) firstAttemptLatency.observe(Math.max(0, record.started_at - claimed.event.created_at) / 1000);
    if (end) ended.inc({ state: end });
  });
  return { registry };
}
