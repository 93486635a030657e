import { HERALD_ACTOR } from '../../events/event.ts';
import type { Tx } from '../../store/db.ts';
import type { Operational } from '../operational.ts';
import { setDisabled } from '../../webhooks/store.ts';
import { breakerReason, breakerTrips, type Decision } from '../policy.ts';
import type { Claimed } from './claim.ts';
import { webhookExecutions } from './park.ts';
import { chunks, paddedList } from './lanes.ts';
import { memo, repeated } from '../../store/db.ts';

/**
 * Transition (of the webhook, and with it its executions): enabled -> disabled with a reason, its
 * pending executions -> parked, when the circuit breaker trips (or a receiver answers 410 Gone);
 * the breaker's disable also schedules the webhook's first half-open probe (probe.ts).
 * Runs inside complete()'s transaction.
 */

/**
 * The circuit breaker, in the batch's order: an ended execution that failed counts one more
 * consecutive failure of its webhook, one that succeeded resets the count; reaching the threshold
 * (or a 410) disables the webhook and parks its pending executions. Retries still pending count
 * neither way.
 */
export async function countFailures(
  tx: Tx,
  rows: Array<{ f: { claimed: Pick<Claimed, 'webhook_uid'> }; decision: Decision }>,
  opts: {
    now: number;
    breakerThreshold: number;
    operational?: Operational;
    probeDelayMs?: number;
    /** The store (its Db) whose rows `tx` writes: on SQLite, what its webhooks' counts are known to be (KnownZero). Absent: nothing known. */
    store?: object;
  },
  /** Gets the stacks whose webhooks were disabled (their match index must be rebuilt). */
  effects: { disabledStacks: Set<string> },
) {
  /** Webhooks whose failure count this batch already reset (once per batch is enough). */
  const reset = new Set<string>();
  // SQLite: webhooks whose every ended call in the batch succeeded (the common case) are reset in
  // one statement rather than one each (at fan-out 10, ten statements a flush). Not on PostgreSQL, where
  // webhook rows are written in the batch's uid order so that two workers never wait on each
  // other's in a cycle; a statement's IN list would not keep to it.
  const sqlite = tx.dialect === 'sqlite';
  const zero = !sqlite || !opts.store ? null : knownZero(opts.store);
  if (sqlite) {
    const failed = new Set<string>();
    for (const { f, decision } of rows) if (decision.state === 'failed') failed.add(f.claimed.webhook_uid);
    for (const { f, decision } of rows) {
      if (decision.state === 'succeeded' && !failed.has(f.claimed.webhook_uid)) reset.add(f.claimed.webhook_uid);
    }
    // Only those whose count may not be 0 (see KnownZero): while no call of a webhook fails, no
    // statement at all.
    const unknown = zero ? [...reset].filter((uid) => !zero.has(uid)) : [...reset];
    // The IN list padded to a power of two (lanes.ts, paddedList): one kept statement per size.
    for (const part of chunks(unknown)) {
      const listed = paddedList(part);
      await tx.run(resetFailures(listed.length), listed);
    }
    if (zero && unknown.length > 0) {
      const since = zero.failures;
      tx.afterCommit(() => zero.learn(unknown, since));
    }
  }
  for (const { f, decision } of rows) {
    const webhookUid = f.claimed.webhook_uid;
    if (decision.state === 'pending') continue;
    if (decision.state === 'succeeded') {
      if (!reset.has(webhookUid)) {
        reset.add(webhookUid);
        await tx.run(resetFailures(1), [webhookUid]);
      }
      continue;
    }
    reset.delete(webhookUid);
    zero?.failed(webhookUid);
    const w = await tx.get<{ failures: number; disabled: number; api_key: string }>(
      'UPDATE webhooks SET consecutive_failures = consecutive_failures + 1 WHERE uid = ? RETURNING consecutive_failures AS failures, disabled, api_key',
      [webhookUid],
    );
    if (!w || Number(w.disabled)) continue;
    const reason = decision.disable ?? (breakerTrips(Number(w.failures), opts.breakerThreshold) ? breakerReason(opts.breakerThreshold) : null);
    if (reason) {
      // Through the webhooks store's one writer of the enabled state: a new version (a Contentful
      // client holding the old one gets 409), and its pending executions parked (park.ts).
      const cause = decision.disable ? 'gone' : 'circuit_breaker';
      const announce = opts.operational?.announcer({ actor: HERALD_ACTOR, actor_name: 'Herald', cause });
      await setDisabled(tx, webhookUid, true, reason, announce ? { ...webhookExecutions, announce } : webhookExecutions, opts.now);
      // The breaker's disable is probed (delivery/probe.ts); a 410 asked for no more calls.
      if (cause === 'circuit_breaker' && opts.probeDelayMs) await scheduleFirstProbe(tx, webhookUid, opts.now, opts.probeDelayMs);
      effects.disabledStacks.add(w.api_key);
    }
  }
}

/**
 * SQLite: the webhooks of one store whose consecutive_failures is known to be 0 on disk, so a flush
 * whose calls all succeeded resets nothing and runs no statement (the reset UPDATE changed no row
 * while no call failed, yet cost ~17 us a flush: bench:rows fan-out 10, ~0.65 of ~37 us of
 * statements per delivery). Per process, which is enough on SQLite only: one process owns the store
 * (release.ts releaseClaims), and the only writer that raises a count is the UPDATE below it
 * (`failed()` forgets the webhook as that statement runs, before its transaction ends, so a
 * rollback leaves it forgotten: a statement too many, never one too few). A reset is learnt only
 * after its commit (a rolled-back reset taught nothing), and only when no failure was counted
 * between the reset's statement and then (any webhook's: rare, and then the next flush runs the
 * UPDATE again). The other writers only set 0 (webhooks/store.ts: create, re-enable), or delete the
 * row (an UPDATE of a gone row changes nothing either way). Not on PostgreSQL, where other
 * processes count failures too.
 */
class KnownZero {
  private zero = new Set<string>();
  /** Failures counted so far (any webhook): a reset learnt across one is not trusted. */
  failures = 0;
  has(webhookUid: string): boolean {
    return this.zero.has(webhookUid);
  }
  /** A failure of `webhookUid` is being counted (its transaction has not ended yet). */
  failed(webhookUid: string): void {
    this.failures++;
    this.zero.delete(webhookUid);
  }
  /** `webhookUids` were reset by a committed transaction, whose reset ran when `failures` was `since`. */
  learn(webhookUids: string[], since: number): void {
    if (this.failures !== since) return;
    for (const uid of webhookUids) this.zero.add(uid);
  }
}

const stores = new WeakMap<object, KnownZero>();

/** What `store`'s webhooks' counts are known to be (see KnownZero): per store, as prelease.ts's list. */
function knownZero(store: object): KnownZero {
  let k = stores.get(store);
  if (!k) stores.set(store, (k = new KnownZero()));
  return k;
}

// Statement text per number of webhooks (see memo).
const resetFailures = memo((n: number) => `UPDATE webhooks SET consecutive_failures = 0 WHERE uid IN (${repeated(n)}) AND consecutive_failures <> 0`);

/** The breaker disabled `webhookUid`: its first half-open probe (probe.ts) is due in `delayMs`. */
async function scheduleFirstProbe(tx: Tx, webhookUid: string, now: number, delayMs: number): Promise<void> {
  await tx.run('UPDATE webhooks SET probe_at = ?, probe_delay_ms = ? WHERE uid = ?', [now + delayMs, delayMs, webhookUid]);
}
