import { statfs } from 'node:fs/promises';
import type { DispatcherStatus } from '../delivery/dispatcher.ts';
import { oldestDueAt as oldestDue } from '../delivery/queue/index.ts';
import type { Db } from '../store/db.ts';
import { formatDuration } from '../config.ts';

/**
 * Readiness (GET /readyz): is this process able to do its work right now? Three checks:
 * - the store answers a trivial query within STORE_TIMEOUT_MS;
 * - the dispatcher (in processes that run it) is not stuck: see `stuckReason`;
 * - the data dir (in processes that take writes) has space left: see `spaceReason`.
 * Liveness (GET /healthz) stays a constant answer: a process that is alive but not ready should
 * be taken out of rotation, not restarted.
 */

/** How long the store may take to answer `SELECT 1`, ms. */
export const STORE_TIMEOUT_MS = 2_000;

export interface Readiness {
  ready: boolean;
  /** Why not, in a sentence per failed check. */
  reasons: string[];
  checks: { store: 'ok' | 'failed'; dispatcher: 'ok' | 'stuck' | 'not running here' | 'not checked'; disk?: 'ok' | 'full' };
}

/**
 * Free space below which the data dir counts as full, bytes: SQLite pages, WAL frames and asset
 * chunks are written in pieces this size or smaller, so with less than this writes are failing.
 */
export const MIN_FREE_BYTES = 1024 * 1024;

/** Why writes to `dir` fail for lack of space (free space under MIN_FREE_BYTES), or null. */
export async function spaceReason(dir: string): Promise<string | null> {
  const s = await statfs(dir);
  // bavail: blocks an unprivileged process may still use (bfree includes root's reserve).
  const free = Number(s.bavail) * Number(s.bsize);
  if (free >= MIN_FREE_BYTES) return null;
  return `the data dir ${dir} has ${free} bytes free: writes fail for lack of space`;
}

/**
 * Whether a dispatcher is stuck: due work has waited longer than `stuckAfterMs`, the dispatcher has
 * free slots to take it, and it has completed no claim round for as long. A busy dispatcher (no
 * free slots, slow endpoints) is not stuck; one that keeps completing rounds is not stuck either
 * (due work it cannot take, e.g. a webhook at its own cap, is a matter of load). Returns the
 * reason, or null.
 */
export function stuckReason(s: DispatcherStatus, oldestDueAt: number | null, now: number, stuckAfterMs: number): string | null {
  if (!s.running || oldestDueAt === null || s.freeSlots <= 0) return null;
  const waited = now - oldestDueAt;
  const idle = now - s.lastRoundAt;
  if (waited <= stuckAfterMs || idle <= stuckAfterMs) return null;
  return `the dispatcher is stuck: due deliveries have waited ${formatDuration(Math.round(waited))} with ${s.freeSlots} free slots, and it completed no round for ${formatDuration(Math.round(idle))}`;
}

/** Resolves with `p`, or rejects after `ms` (a hung connection must not hang the probe). */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${formatDuration(ms)}`)), ms);
      timer.unref();
    }),
  ]);
}

/**
 * Runs the checks. `dispatcher` is null in a process that does not deliver (role api); `dataDir`
 * is null in one that takes no writes (role worker).
 */
export async function checkReadiness(db: Db, dispatcher: DispatcherStatus | null, stuckAfterMs: number, now = Date.now(), dataDir: string | null = null): Promise<Readiness> {
  const r: Readiness = { ready: true, reasons: [], checks: { store: 'ok', dispatcher: dispatcher ? 'ok' : 'not running here' } };
  let oldestDueAt: number | null = null;
  try {
    await within(db.get('SELECT 1 AS ok'), STORE_TIMEOUT_MS);
    if (dispatcher) {
      // Due as the queue defines it (an expired claim is due again; parked executions never are).
      oldestDueAt = await within(oldestDue(db, now), STORE_TIMEOUT_MS);
    }
  } catch (err) {
    r.ready = false;
    r.checks.store = 'failed';
    r.reasons.push(`the store is unreachable: ${(err as Error).message}`);
    if (dispatcher) r.checks.dispatcher = 'not checked';
    return r;
  }
  if (dataDir) {
    const full = await spaceReason(dataDir).catch(() => null);
    r.checks.disk = full ? 'full' : 'ok';
    if (full) {
      r.ready = false;
      r.reasons.push(full);
    }
  }
  if (dispatcher) {
    const stuck = stuckReason(dispatcher, oldestDueAt, now, stuckAfterMs);
    if (stuck) {
      r.ready = false;
      r.checks.dispatcher = 'stuck';
      r.reasons.push(stuck);
    }
  }
  return r;
}
