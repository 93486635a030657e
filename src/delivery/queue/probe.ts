import { HERALD_ACTOR } from '../../events/event.ts';
import { webhookRecoveredEvent } from '../../events/operational.ts';
import type { Db } from '../../store/db.ts';
import { getWebhook, setDisabled } from '../../webhooks/store.ts';
import { decide, nextProbeDelay } from '../policy.ts';
import type { Operational } from '../operational.ts';
import { claimedOne, type Claimed } from './claim.ts';
import type { Finished } from './complete.ts';
import { laneKey, type AutoSaveOptions } from './lanes.ts';
import { webhookExecutions } from './park.ts';
import { promoteNext } from './promote.ts';
import { PARKED } from './states.ts';

/**
 * Transitions (the half-open probe of a webhook the circuit breaker disabled): parked (or, with
 * nothing parked, the newest failed) -> in_flight (the probe's one attempt, leased); then on
 * success -> succeeded, and the webhook enabled again (its other parked executions -> pending, now);
 * on failure -> parked again (a failed one -> failed again), and the next probe due after twice
 * the wait, up to the maximum.
 *
 * The schedule is two columns of the webhook (`probe_at`, `probe_delay_ms`, migration 014), set
 * by the breaker (breaker.ts `scheduleFirstProbe`) in the disabling transaction and cleared by any enable or a user's
 * disable (webhooks/store.ts). A process takes a due probe by moving `probe_at` to its lease end
 * with a compare-and-set, so one process probes each webhook (several share PostgreSQL), and a
 * probe whose process died is taken again after the lease.
 */

/** When the next probe of any webhook is due (ms), or null when none is scheduled. */
export async function nextProbeAt(db: Pick<Db, 'get'>): Promise<number | null> {
  const row = await db.get<{ at: number | null }>('SELECT MIN(probe_at) AS at FROM webhooks WHERE probe_at IS NOT NULL');
  return row?.at === null || row?.at === undefined ? null : Number(row.at);
}

/** A probe taken: the execution to send (claimed, leased), and what the webhook's back-off was. */
export interface Probe {
  claimed: Claimed;
  delayMs: number;
  /** The execution had failed for good (nothing was parked): a failed probe leaves it failed. */
  wasFailed: boolean;
}

/**
 * Takes the probes due at `now` (at most `limit`): each webhook's schedule is moved to the lease
 * end (compare-and-set: another process that read the same row takes nothing), and its oldest
 * parked execution, or else its newest failed one, is claimed for the attempt. A webhook with
 * neither waits one more period at the same back-off.
 */
export async function takeProbes(db: Db, opts: { now: number; leaseMs: number; limit: number }): Promise<Probe[]> {
  const due = await db.all<{ uid: string; probe_at: number; probe_delay_ms: number | null }>(
    'SELECT uid, probe_at, probe_delay_ms FROM webhooks WHERE probe_at <= ? ORDER BY probe_at LIMIT ?',
    [opts.now, opts.limit],
  );
  const probes: Probe[] = [];
  const leaseEnd = opts.now + opts.leaseMs;
  for (const w of due) {
    const delayMs = Number(w.probe_delay_ms ?? 0);
    const probe = await db.tx(async (tx) => {
      const { changes } = await tx.run('UPDATE webhooks SET probe_at = ? WHERE uid = ? AND probe_at = ? AND disabled = 1', [leaseEnd, w.uid, w.probe_at]);
      if (changes === 0) return null;
      let wasFailed = false;
      let x = await tx.get<{ uid: string }>(`SELECT uid FROM executions WHERE webhook_uid = ? AND ${PARKED} ORDER BY event_seq LIMIT 1`, [w.uid]);
      if (!x) {
        x = await tx.get<{ uid: string }>("SELECT uid FROM executions WHERE webhook_uid = ? AND state = 'failed' ORDER BY updated_at DESC, uid DESC LIMIT 1", [w.uid]);
        wasFailed = x !== undefined;
      }
      if (!x) {
        // Nothing to probe with: look again after one more period.
        await tx.run('UPDATE webhooks SET probe_at = ? WHERE uid = ?', [opts.now + delayMs, w.uid]);
        return null;
      }
      await tx.run(
        "UPDATE executions SET state = 'in_flight', next_attempt_at = ?, lease_until = ?, first_attempt_at = COALESCE(first_attempt_at, ?), updated_at = ?, ended_at = NULL WHERE uid = ?",
        [leaseEnd, leaseEnd, opts.now, opts.now, x.uid],
      );
      const claimed = await claimedOne(tx, x.uid, leaseEnd);
      return claimed ? { claimed, delayMs, wasFailed } : null;
    });
    if (probe) probes.push(probe);
  }
  return probes;
}

export interface ProbeOutcomeOptions extends AutoSaveOptions {
  retryDelaysMs: readonly number[];
  probeMaxDelayMs: number;
  operational?: Operational;
}

/**
 * Records a probe's attempt, in one transaction with what follows from it (see the transitions
 * above). Fenced like complete(): the execution moves only while it is still in flight under this
 * probe's lease. Returns whether the webhook was enabled again.
 */
export async function completeProbe(db: Db, probe: Probe, f: Finished, opts: ProbeOutcomeOptions): Promise<{ recovered: boolean; stale: boolean }> {
  const c = probe.claimed;
  const n = c.attempts + 1;
  return db.tx(async (tx) => {
    // Events first, then the lane (the order every event-recording transaction takes; complete.ts).
    await tx.lock?.([`events:${c.event.api_key}`]);
    await tx.lock?.([laneKey(c.webhook_uid, c.lane)]);
    await tx.run(
      `INSERT INTO attempts (uid, execution_uid, n, started_at, duration_ms, outcome, status_code, reason, request, response)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (uid) DO NOTHING`,
      [
        f.attemptUid,
        c.uid,
        n,
        f.record.started_at,
        f.record.duration_ms,
        f.record.outcome,
        f.record.status_code,
        f.record.reason,
        JSON.stringify(f.request),
        f.record.response ? JSON.stringify({ status: f.record.status_code, ...f.record.response }) : null,
      ],
    );
    const webhook = await getWebhook(tx, c.webhook_uid);
    const stillDisabled = webhook !== undefined && webhook.disabled && webhook.disabled_reason !== null;
    const ok = f.record.outcome === 'success';
    // While the webhook is still disabled a failed probe leaves the execution waiting (parked, or
    // failed as it was); if a user enabled it meanwhile, the retry schedule applies as usual.
    const decision = decide(f.record, n, c.retryDelaysMs ?? opts.retryDelaysMs, opts.now);
    const state = ok ? 'succeeded' : stillDisabled ? (probe.wasFailed ? 'failed' : 'pending') : decision.state;
    const nextAt = !ok && !stillDisabled && decision.state === 'pending' ? decision.next_attempt_at : null;
    const { changes } = await tx.run(
      `UPDATE executions SET state = ?, attempts = ?, next_attempt_at = ?, lease_until = NULL, last_status_code = ?, last_outcome = ?, last_reason = ?, updated_at = ?,
              ended_at = ?
       WHERE uid = ? AND state = 'in_flight' AND lease_until = ?`,
      [state, n, nextAt, f.record.status_code, f.record.outcome, f.record.reason, opts.now, state === 'succeeded' || state === 'failed' ? opts.now : null, c.uid, c.leaseUntil],
    );
    if (changes === 0) return { recovered: false, stale: true };
    if (state === 'succeeded' || state === 'failed') await promoteNext(tx, [c], opts);
    if (!stillDisabled) return { recovered: false, stale: false };
    if (!ok) {
      const delay = nextProbeDelay(probe.delayMs, opts.probeMaxDelayMs);
      await tx.run('UPDATE webhooks SET probe_at = ?, probe_delay_ms = ? WHERE uid = ?', [opts.now + delay, delay, c.webhook_uid]);
      return { recovered: false, stale: false };
    }
    // Recovered: enabled again through the one writer of the enabled state (a new version, its
    // parked executions due now, `webhooks.enabled`), then `webhooks.recovered` saying why.
    const announce = opts.operational?.announcer({ actor: HERALD_ACTOR, actor_name: 'Herald', cause: 'probe' });
    const next = await setDisabled(tx, c.webhook_uid, false, null, announce ? { ...webhookExecutions, announce } : webhookExecutions, opts.now);
    if (next && opts.operational) {
      await opts.operational.record(tx, webhookRecoveredEvent(next, { execution_uid: c.uid, status_code: f.record.status_code, disabled_reason: webhook.disabled_reason }));
    }
    return { recovered: true, stale: false };
  });
}
