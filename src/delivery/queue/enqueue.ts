import type { HeraldEvent } from '../../events/event.ts';
import { sortableId } from '../../ids.ts';
import type { Tx } from '../../store/db.ts';
import type { Match } from '../../webhooks/match-index.ts';
import type { ExecutionState } from '../policy.ts';
import { autoSaveDue, laneKey, laneOf, type AutoSaveOptions } from './lanes.ts';
import { UNFINISHED } from './states.ts';

/**
 * Transition: (event) -> pending | queued, and auto-save folding (queued | pending auto_save ->
 * itself with the newer event).
 */

export type EnqueueOptions = AutoSaveOptions;

/**
 * Fan-out, inside the event's transaction: one execution per matching webhook, `pending` (due now)
 * when its lane is empty, else `queued` behind the lane's head. Returns the number of executions
 * created (auto-saves folded into a waiting one do not count).
 *
 * Auto-save coalescing: an auto_save for a lane that already has an unsent auto_save execution
 * replaces that execution's event (the receiver gets the latest state); a new auto_save execution
 * is due no sooner than `autoSaveWindowMs` after the lane's previous auto_save call. Any other
 * event makes a waiting auto_save due at once, so a publish never waits for the window.
 */
export async function enqueue(tx: Tx, event: HeraldEvent, matches: Match[], channel: string, opts: EnqueueOptions): Promise<number> {
  let created = 0;
  const lane = laneOf(event);
  await tx.lock?.(matches.map((m) => laneKey(m.webhook.uid, lane))); // scale-out, see laneKey
  for (const { webhook } of matches) {
    if (event.action === 'auto_save') {
      const folded = await tx.run(
        `UPDATE executions SET event_seq = ?, coalesced = coalesced + 1, updated_at = ?
         WHERE webhook_uid = ? AND lane = ? AND action = 'auto_save' AND attempts = 0 AND state IN ('queued', 'pending')`,
        [event.seq, opts.now, webhook.uid, lane],
      );
      if (folded.changes > 0) continue;
    } else {
      await tx.run(
        `UPDATE executions SET next_attempt_at = ?, updated_at = ?
         WHERE webhook_uid = ? AND lane = ? AND action = 'auto_save' AND state = 'pending' AND attempts = 0 AND next_attempt_at > ?`,
        [opts.now, opts.now, webhook.uid, lane, opts.now],
      );
    }
    const busy = await tx.get(`SELECT 1 AS busy FROM executions WHERE webhook_uid = ? AND lane = ? AND state IN ${UNFINISHED} LIMIT 1`, [
      webhook.uid,
      lane,
    ]);
    const state: ExecutionState = busy ? 'queued' : 'pending';
    let due: number | null = null;
    if (!busy) due = event.action === 'auto_save' ? await autoSaveDue(tx, webhook.uid, lane, opts) : opts.now;
    await tx.run(
      `INSERT INTO executions (uid, api_key, webhook_uid, event_seq, lane, channel, action, state, next_attempt_at, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [sortableId('exe'), event.api_key, webhook.uid, event.seq, lane, channel, event.action, state, due, opts.now, opts.now],
    );
    created++;
  }
  return created;
}
