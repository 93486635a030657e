/**
 * The delivery queue: executions in the store, and every step of their life. One file per
 * transition; each names the one it implements. All of it is portable SQL over the storage
 * interface (store/db.ts); the decisions (retry schedule, breaker threshold) are pure functions in
 * ../policy.ts.
 *
 * An execution is one event's delivery to one webhook. Its states (the `state` column, plus
 * `next_attempt_at` for the two that are not columns of their own):
 *
 *   queued     waits behind the head of its lane (same webhook and entity; lanes.ts)
 *   pending    the head of its lane: due at next_attempt_at (now, a retry time, or the end of an
 *              auto-save, debounce or batch window)
 *   parked     pending with next_attempt_at NULL: its webhook is disabled (states.ts PARKED)
 *   rate_limited  pending with a slot of its webhook's rate limit (paced = 1), due at the slot
 *              (states.ts RATE_LIMITED); a due pending one with paced = 0 waits for a slot
 *   in_flight  claimed by a worker, leased until lease_until (PostgreSQL: = next_attempt_at; SQLite:
 *              next_attempt_at NULL until its holder gives up on its outcome, release.ts expireClaims)
 *   succeeded  ended: a 2xx
 *   failed     ended: attempts exhausted, 410 Gone, or its webhook was deleted while claimed
 *
 *   (event) ──enqueue.ts──────────────────────> pending (lane empty) | queued (lane busy)
 *   (event) ──enqueue.ts + prelease.ts (SQLite, plain path, this process's dispatcher has room)──>
 *                                              in_flight (leased by its INSERT), handed out from the
 *                                              list; stale or at stop ──> pending (now)
 *   queued|pending auto_save ──enqueue.ts────> the same execution, newer event (auto-save folding);
 *                                              another event makes a waiting auto_save due now
 *   queued|pending unsent, lane's last ──enqueue.ts (debounce)──> the same execution, newer event,
 *                                              older seq in folded_seqs; pending waits debounce_ms more
 *                                              (delete/unpublish: never folded; make it due now)
 *   pending (batch window) ──enqueue.ts (max_events-th waits)──> pending (due now), the whole batch
 *   queued ──promote.ts (head ended)─────────> pending (now, or its auto-save window)
 *   pending (due, paced = 0) ──pace.ts (claim round)──> rate_limited (slot = next_attempt_at)
 *   rate_limited (slot came) ──claim.ts──────> in_flight (leased)
 *   pending (due) ──claim.ts (lease.ts)──────> in_flight (leased)
 *   pending (batching webhook) ──claim.ts + batch.ts──> in_flight together: one batch (batch_uid),
 *                                              with the webhook's others due within a window, up to
 *                                              max_events; a formed batch is always claimed whole
 *   in_flight, lease ended ──claim.ts────────> in_flight (taken over: its process died; sent again)
 *   in_flight (SQLite) ──release.ts expireClaims (its outcome given up on, outcome-writer.ts)──>
 *                                              in_flight, due at its lease end (then taken over)
 *   in_flight, webhook deleted ──claim.ts────> failed
 *   in_flight, webhook disabled ──claim.ts───> parked
 *   in_flight ──complete.ts: 2xx─────────────> succeeded           (a batch: every member alike)
 *   in_flight ──complete.ts: failure, attempts left──> pending (next_attempt_at = retry time;
 *                                              rate-limited: paced = 0, a new slot when due)
 *   in_flight ──complete.ts: no attempts left, 410───> failed
 *   in_flight, claim ended ──complete.ts─────> (unchanged: a stale outcome is logged only)
 *   pending ──park.ts (webhook disabled by a user, 410 or breaker.ts)──> parked
 *   parked ──park.ts (webhook enabled)───────> pending (now; paced = 0)
 *   queued|pending|rate_limited ──park.ts (rate limit or batching changed)──> pending (re-paced /
 *                                              waiting for a batch / due now alone)
 *   any ──park.ts (webhook deleted)──────────> dropped, with its attempts
 *   succeeded|failed|pending|parked|queued ──retry-now.ts (manual retry)──> pending (now; a queued
 *                                              one jumps its lane; in_flight is refused; a batch's
 *                                              member: the whole batch; paced = 0)
 *   in_flight ──release.ts (start on SQLite, shutdown past the grace period)──> pending (now; paced = 0)
 *   parked (else the newest failed) ──probe.ts (half-open probe of a webhook the breaker disabled)──> in_flight;
 *     then 2xx ──> succeeded, the webhook enabled (its parked -> pending, now); failure ──> parked
 *     (failed) again, the next probe after twice the wait
 *   failed ──resend.ts (a replay of failed executions)──> pending (now; its lane's earliest, when
 *                                              the lane is idle) | queued (behind it)
 *
 * Invariant that keeps claiming cheap: only pending and in_flight executions have a
 * next_attempt_at, and the due index holds only those (states.ts DUE); on SQLite an in_flight one
 * has none while its holder may still record its outcome.
 */
export { enqueue, type EnqueueOptions } from './enqueue.ts';
export { claim, choose, SCAN_WINDOW, type Claimed, type ClaimOptions, type ClaimResult } from './claim.ts';
export { complete, type CompleteEffects, type CompleteOptions, type Finished } from './complete.ts';
export { parkWebhook, unparkWebhook, dropExecutions, reconfigureWebhook, webhookExecutions } from './park.ts';
export { retryNow } from './retry-now.ts';
export { takeProbes, completeProbe, nextProbeAt, type Probe } from './probe.ts';
export { resendFailed, type FailedExecution } from './resend.ts';
export { expireClaims, releaseClaims, releaseExecutions } from './release.ts';
export { laneOf } from './lanes.ts';
export { DEPTH_STATES, QUEUE_DEPTH_SQL, isParked, isRateLimited, nextDueAt, oldestDueAt } from './states.ts';
export { intervalMs, slots } from './pace.ts';
export { DEBOUNCE_MAX_WINDOWS, NEVER_HELD } from './enqueue.ts';
