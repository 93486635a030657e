import { sortableId } from '../../ids.ts';
import { repeated, type Db, type Queryable } from '../../store/db.ts';
import type { DecodedEvents } from './decoded.ts';
import { leaseRows, type Claimed } from './lease.ts';
import { chunks } from './lanes.ts';

/**
 * Transition: pending executions of a batching webhook -> in_flight together, as one batch (one
 * call). Runs in the claim round (claim.ts) once it has leased some of them: they are the batch's
 * first members, and the batch takes the webhook's other executions waiting for a batch (due, or
 * within one window of being due) up to `max_events`, oldest first, under the same lease. A batch
 * gets an id (`bat_...`, the call's `webhook-id`) written on every member (`batch_uid`); from then
 * on it stays together: its members succeed, fail, are retried (automatically or by hand) and are
 * shown in the log together. An execution of a batch that failed is due with the others, and
 * claiming any of them claims them all again.
 *
 * Order per entity: only a lane's head is pending, so a batch holds at most one change of an
 * entity, and the next one waits until the batch ended (promote.ts), as with single calls.
 */

/** Claimed executions with a batching webhook's ones gathered into batches (one Claimed each, carrying `batch`). */
export async function formBatches(q: Queryable, dialect: Db['dialect'], events: DecodedEvents, claimed: Claimed[], now: number, leaseEnd: number): Promise<Claimed[]> {
  const out: Claimed[] = [];
  const groups = new Map<string, Claimed[]>();
  for (const c of claimed) {
    if (c.batchUid === null || !c.webhook.batch) {
      out.push(c);
      continue;
    }
    const key = `${c.webhook_uid}\u0000${c.batchUid}`;
    const g = groups.get(key) ?? [];
    g.push(c);
    groups.set(key, g);
  }
  for (const group of groups.values()) {
    const { webhook, webhook_uid: webhookUid, batchUid } = group[0];
    const max = webhook.batch!.max_events;
    if (batchUid) {
      // A batch formed before (a retry, or its lease ended): the rest of it, due with these.
      const mine = group.map((c) => c.uid);
      const rest = await leaseRows(
        q,
        dialect,
        events,
        { where: `batch_uid = ? AND next_attempt_at <= ? AND uid NOT IN (${repeated(mine.length)})`, params: [batchUid, now, ...mine] },
        now,
        leaseEnd,
      );
      out.push(leader(batchUid, [...group, ...rest]));
      continue;
    }
    for (const part of chunks(group, max)) {
      const uid = sortableId('bat');
      await q.run(`UPDATE executions SET batch_uid = ? WHERE uid IN (${repeated(part.length)})`, [uid, ...part.map((c) => c.uid)]);
      for (const c of part) c.batchUid = uid;
      const more =
        part.length < max
          ? await leaseRows(
              q,
              dialect,
              events,
              {
                // The webhook's executions waiting for a batch (the executions_batching index), due
                // or due within a window: they would otherwise make the next call.
                where: "webhook_uid = ? AND state = 'pending' AND batch_uid = '' AND next_attempt_at <= ?",
                params: [webhookUid, now + webhook.batch!.window_ms],
                orderLimit: `ORDER BY next_attempt_at, uid LIMIT ${max - part.length}`,
              },
              now,
              leaseEnd,
              uid,
            )
          : [];
      out.push(leader(uid, [...part, ...more]));
    }
  }
  return out;
}

/** The Claimed that stands for a batch: its first member in event order, carrying them all. */
function leader(uid: string, members: Claimed[]): Claimed {
  members.sort((a, b) => a.event.seq - b.event.seq);
  for (const m of members) m.batchUid = uid;
  const first = members[0];
  first.batch = { uid, members };
  return first;
}
