import type { Logger } from 'pino';
import { sortableId } from '../ids.ts';
import type { Db } from '../store/db.ts';
import type { Finished } from './queue/index.ts';
import { completeProbe, nextProbeAt, takeProbes, type Probe } from './queue/index.ts';
import type { Operational } from './operational.ts';

/**
 * The half-open probe: a webhook the circuit breaker disabled is tried now and then with one real
 * waiting delivery; when its endpoint answers 2xx, the webhook is enabled again and what waited is
 * sent (queue/probe.ts holds the transitions). Runs in every process that delivers; the schedule is
 * in the store, so each due probe is taken by one process, and probes survive restarts.
 *
 * Timing: a timer armed for the earliest scheduled probe (one indexed read), re-read after each
 * run, when this process's breaker disables a webhook (`kick`), and at least every SAFETY_NET_MS
 * (probes scheduled by other processes). Nothing here runs per delivery.
 */
export interface ProberOptions {
  db: Db;
  log: Logger;
  /** Sends one attempt of a claimed execution (the dispatcher's `sendAttempt`), outcome unrecorded. */
  send(probe: Probe): Promise<Finished>;
  /** Lease of a probe's attempt, ms (delivery timeout + lease margin). */
  leaseMs: number;
  retryDelaysMs: readonly number[];
  autoSaveWindowMs: number;
  probeMaxDelayMs: number;
  operational?: Operational;
  /** A probe enabled a webhook: rebuild its stack's match index and look for due work. */
  onRecovered(apiKey: string): void;
}

/** Longest wait between two looks at the schedule, ms. */
const SAFETY_NET_MS = 10_000;
/** Probes taken per run. */
const BATCH = 16;

export class Prober {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = true;

  constructor(private o: ProberOptions) {}

  start() {
    this.stopped = false;
    this.kick();
  }

  /** Look at the schedule now (a webhook was just disabled, or a run ended). */
  kick() {
    if (this.stopped) return;
    if (this.running) return;
    this.running = this.run().finally(() => {
      this.running = null;
    });
  }

  async stop() {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private arm(at: number) {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.kick();
    }, Math.max(0, Math.min(at - Date.now(), SAFETY_NET_MS)));
    this.timer.unref?.();
  }

  private async run() {
    try {
      const probes = await takeProbes(this.o.db, { now: Date.now(), leaseMs: this.o.leaseMs, limit: BATCH });
      await Promise.all(probes.map((p) => this.probe(p)));
      const at = await nextProbeAt(this.o.db);
      this.arm(at ?? Date.now() + SAFETY_NET_MS);
    } catch (err) {
      this.o.log.error({ err }, 'half-open probe round failed; trying again soon');
      this.arm(Date.now() + 1_000);
    }
  }

  private async probe(p: Probe) {
    const c = p.claimed;
    const f = await this.o.send(p);
    f.attemptUid ??= sortableId('att');
    const r = await completeProbe(this.o.db, p, f, {
      now: Date.now(),
      retryDelaysMs: this.o.retryDelaysMs,
      autoSaveWindowMs: this.o.autoSaveWindowMs,
      probeMaxDelayMs: this.o.probeMaxDelayMs,
      operational: this.o.operational,
    });
    const fields = { webhook: c.webhook_uid, deliveryId: c.uid, outcome: f.record.outcome, status: f.record.status_code };
    if (r.recovered) {
      this.o.log.info({ ...fields, reason: `probe delivery succeeded; was disabled because: ${c.webhook.disabled_reason}` }, 'webhook enabled again by the half-open probe');
      this.o.onRecovered(c.event.api_key);
    } else if (!r.stale) this.o.log.info({ ...fields, reason: f.record.reason }, 'half-open probe failed; the webhook stays disabled');
  }
}
