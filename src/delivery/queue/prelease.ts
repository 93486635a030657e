import type { Db } from '../../store/db.ts';
import { decodedEvents } from './decoded.ts';
import { releaseExecutions } from './release.ts';

/**
 * Transition: (event) -> in_flight, leased by the INSERT that makes the execution (enqueue.ts), and
 * handed to this process's dispatcher from memory: no claim round's candidate SELECT, lease UPDATE
 * and COMMIT for it (bench:rows at fan-out 10: the store's statements 24-26 -> 16-17 us per
 * delivery). Everything else is as claimed on SQLite: the row is in_flight with lease_until = its
 * lease end and next_attempt_at NULL (out of the due index, lease.ts LEASE_SQLITE), and its outcome
 * is recorded by complete.ts against that lease.
 *
 * Only on the plain path, and only while this store's dispatcher runs in this process and has room:
 * - SQLite only. One process owns the store, runs its dispatcher (role all) and releases every
 *   claim at start (release.ts releaseClaims), so a crash leaves no row leased for nobody. On
 *   PostgreSQL the process that records an event may be an API node, or one worker of several
 *   (binding the delivery to it while another is idle), and a crashed worker's rows would wait for
 *   their lease end (deliveryTimeout + leaseMargin + PRELEASE_HOLD_MS); there its rows are written
 *   pending as before.
 * - Due now, lane idle, no debounce, no batch, no rate limit, not an auto_save (enqueue.ts): every
 *   other execution is written pending and claimed as before.
 * - Room (the dispatcher's gate, dispatcher.ts room()): the webhook has fewer in flight or listed
 *   than it is expected to start within about a second at its adaptive limit and its receiver's
 *   latency (concurrency.ts listDepth(): about its limit for a receiver answering in a second or
 *   more, up to 256 times it for a fast one; before the first answer, the wait for it so far), the outcomes keep up, and the list is under PRELEASE_CAP.
 *   Past any of these, rows are written pending as before. Listed ones are handed out within each
 *   webhook's free slots, so a slow webhook's wait for its own slots only; a round whose list
 *   filled its page lets the next round's scan go first, so due retries are not starved.
 *
 * Users see such an execution as they see any claimed one between its claim and its attempt:
 * `in_flight` (API state, the web app's "Sending…"; a manual retry answers in_flight), from the
 * commit of its event until its attempt ends, which is normally the next claim round (~1 ms), and
 * for a slow receiver about a second at most (listDepth()); past that its executions are pending.
 */

/**
 * The most executions listed at once, per store: the bound on memory (~150 B an entry, ~10 MB),
 * so a backlog recorded while delivery runs is written pending past it, as before (goal 4's 100k
 * backlog line records with delivery stopped: nothing listed). At 16,384 the bench's fan-out 10
 * line (50k executions recorded in ~1.5 s) listed 35% of its executions, the rest scanned.
 */
export const PRELEASE_CAP = 65_536;
/**
 * How long an execution may wait in the list, ms: its lease is written this much longer than a
 * claim's (deliveryTimeout + leaseMargin). Handed out only while at least a claim's lease remains,
 * so no attempt starts on a lease that may end mid-attempt; one that waited longer (its webhook had
 * no free slot meanwhile) is made pending, due now, and is claimed as any other.
 */
export const PRELEASE_HOLD_MS = 30_000;

/**
 * Handed-out entries at the front of a webhook's list (see Preleased.byWebhook) past which the list
 * is copied without them, once they are at least half of it: each entry is copied about once.
 */
const LIST_COMPACT_FROM = 1_024;

/** One execution written leased, not yet handed to the dispatcher. */
export interface Listed {
  uid: string;
  webhook_uid: string;
  lane: string;
  event_seq: number;
  /** Its lease end as written (ms): lease_until. */
  leaseUntil: number;
}

/**
 * The executions one transaction writes leased (prelease.ts Preleased.admit): they count against the
 * room until the transaction ends, and join the list once it committed.
 */
export interface Admitted {
  listed: Listed[];
  /** How many of `listed` are of each webhook. */
  perWebhook: Map<string, number>;
}

/** What the dispatcher lends the list while it runs (see Preleased.open). */
export interface Gate {
  /** How long a claim holds, ms (deliveryTimeout + leaseMargin). */
  leaseMs: number;
  /**
   * Whether one more execution of `webhookUid` may be written leased, `listed` of its being listed
   * already (the list's own cap is checked apart).
   */
  room(webhookUid: string, listed: number): boolean;
  /** Executions were listed: run a round soon (no scan of the due index needed for them). */
  wake(): void;
}

/** What take() hands out: entries to send, and stale ones to make pending. */
export interface Taken {
  fresh: Listed[];
  stale: Listed[];
}

export class Preleased {
  /**
   * Each webhook's listed executions in listing order, from `head` on: take() moves `head` past what
   * it hands out rather than removing it from the array's front (a splice moved every entry after
   * them, each round: with 50,000 listed over ten webhooks, ~40 KB per webhook per round), and drops
   * the handed-out front once it is most of the array.
   */
  private byWebhook = new Map<string, { items: Listed[]; head: number }>();
  private total = 0;
  private gate: Gate | null = null;

  constructor(private db: Db) {}

  /** The dispatcher started: executions may be written leased (SQLite only, see the file's header). */
  open(gate: Gate): void {
    if (this.db.dialect !== 'sqlite') return;
    this.gate = gate;
  }

  /**
   * The dispatcher stops: no more are written leased, and those listed are made pending, due now
   * (sent again after a restart). Executions whose transaction commits after this are made pending
   * as they come (add()).
   */
  async close(now: number): Promise<number> {
    this.gate = null;
    const uids: string[] = [];
    for (const q of this.byWebhook.values()) for (let i = q.head; i < q.items.length; i++) uids.push(q.items[i].uid);
    this.byWebhook.clear();
    this.total = 0;
    // Their events were held for them (decoded.ts recorded()); claims after a restart read them.
    decodedEvents(this.db).release();
    return releaseListed(this.db, uids, now);
  }

  get size(): number {
    return this.total;
  }

  /** Listed executions of one webhook. */
  listed(webhookUid: string): number {
    const q = this.byWebhook.get(webhookUid);
    return q === undefined ? 0 : q.items.length - q.head;
  }

  /**
   * At enqueue (inside the event's transaction): the lease end to write a new execution of
   * `webhookUid` with, or null to write it pending.
   *
   * `tx`: what the caller's transaction admitted so far, counted as listed (the caller pushes
   * the new one onto `tx.listed`). Other transactions not yet committed are not counted (one that
   * rolls back says nothing): transactions sharing one SQLite commit may together list a few more
   * than the room, which then wait in the list for their webhook's slots, as pending rows would
   * wait in the store.
   */
  admit(tx: Admitted, webhookUid: string, now: number): number | null {
    const gate = this.gate;
    const total = this.total + tx.listed.length;
    if (gate === null || total >= PRELEASE_CAP) return null;
    const mine = tx.perWebhook.get(webhookUid) ?? 0;
    if (!gate.room(webhookUid, this.listed(webhookUid) + mine)) return null;
    tx.perWebhook.set(webhookUid, mine + 1);
    return now + gate.leaseMs + PRELEASE_HOLD_MS;
  }

  /**
   * After the commit of a transaction that wrote `listed` leased (never after a rollback: those
   * rows do not exist): they join the list, and the dispatcher is woken.
   */
  add(listed: Listed[], now: number): void {
    if (listed.length === 0) return;
    // Committed after the dispatcher stopped: due now, for the next start.
    if (this.releasedClosed(listed, now)) return;
    for (const l of listed) {
      let q = this.byWebhook.get(l.webhook_uid);
      if (!q) this.byWebhook.set(l.webhook_uid, (q = { items: [], head: 0 }));
      q.items.push(l);
    }
    this.total += listed.length;
    this.gate!.wake(); // open: releasedClosed returned false
  }

  /**
   * Up to `limit` listed executions, oldest event first across webhooks (each webhook's list is in
   * event order), and at most `freeSlots(webhook)` of each (a webhook without a free slot keeps its
   * own and delays nobody else's), taken out of the list; and the ones whose lease is shorter than
   * a claim's at `now` (stale, see PRELEASE_HOLD_MS), also taken out, for the caller to make pending.
   */
  take(limit: number, freeSlots: (webhookUid: string) => number, now: number, leaseMs: number): Taken {
    const fresh: Listed[] = [];
    const stale: Listed[] = [];
    if (this.total === 0) return { fresh, stale };
    // Per webhook: its stale head out, then how many it may hand out now.
    const queues: TakeQueue[] = [];
    for (const [webhookUid, list] of this.byWebhook) {
      // Leases were written in listing order: stale ones are at the head.
      const items = list.items;
      let at = list.head;
      while (at < items.length && items[at].leaseUntil - now < leaseMs) stale.push(items[at++]);
      const n = Math.max(0, Math.min(items.length - at, freeSlots(webhookUid)));
      queues.push({ webhookUid, list, at, n, taken: 0 });
    }
    // Oldest event first across webhooks, as the due index orders executions (a merge of the
    // webhooks' lists by event_seq; equal seqs in the lists' order): a fan-out's executions go out
    // one after another and share its body (dispatcher.ts bodyFor's last body). Handed out one of
    // each webhook in turn, the webhooks' heads drifted apart as their free slots differed from
    // round to round, and consecutive attempts were of different events: bench fan-out 10, 90% of
    // attempts looked their body up by key and 1.46 bodies were rendered per event. A webhook whose
    // older entries and free slots fill the page takes it; a full page claims again at once, and
    // others' entries go next once its slots are taken, as with the due index's scan.
    const heap = new HeadHeap(queues);
    while (fresh.length < limit && heap.size > 0) {
      const q = heap.top();
      fresh.push(q.list.items[q.at + q.taken++]);
      if (q.taken < q.n) heap.moved();
      else heap.pop();
    }
    // Each webhook handed out its stale ones and then `taken` in a row, from its head.
    for (const q of queues) {
      const list = q.list;
      const end = q.at + q.taken;
      this.total -= end - list.head;
      if (end === list.items.length) this.byWebhook.delete(q.webhookUid);
      else if (end >= LIST_COMPACT_FROM && end * 2 >= list.items.length) {
        list.items = list.items.slice(end);
        list.head = 0;
      } else list.head = end;
    }
    return { fresh, stale };
  }

  /**
   * With the dispatcher stopped (add() after close(), putBack() after a failed last round), `entries`
   * are made pending, due now, as close() makes the listed ones, and true is returned. A failure
   * leaves them leased: a start's releaseClaims frees every claim (SQLite: one process owns the store).
   */
  private releasedClosed(entries: Listed[], now: number): boolean {
    if (this.gate !== null) return false;
    void releaseListed(this.db, entries.map((l) => l.uid), now).catch(() => {});
    return true;
  }

  /**
   * Entries take() handed out that were not sent (the round that took them failed): back at the
   * head of their webhooks' lists, in the order take() found them, for a later round. Their rows
   * still carry the leases they were written with. With the dispatcher stopped meanwhile, they are
   * made pending, due now, as close() makes the listed ones.
   */
  putBack(entries: Listed[], now: number): void {
    if (entries.length === 0 || this.releasedClosed(entries, now)) return;
    const byWebhook = new Map<string, Listed[]>();
    for (const l of entries) {
      let list = byWebhook.get(l.webhook_uid);
      if (!list) byWebhook.set(l.webhook_uid, (list = []));
      list.push(l);
    }
    for (const [webhookUid, back] of byWebhook) {
      const list = this.byWebhook.get(webhookUid);
      this.byWebhook.set(webhookUid, { items: list ? back.concat(list.items.slice(list.head)) : back, head: 0 });
    }
    this.total += entries.length;
  }
}

/** A webhook's part of one take(): its list, where its fresh ones start (`at`), how many it may hand out (`n`) and did (`taken`). */
interface TakeQueue {
  webhookUid: string;
  list: { items: Listed[]; head: number };
  at: number;
  n: number;
  taken: number;
}

/**
 * take()'s queues with entries left to hand out, as a binary min-heap by the event_seq of each one's
 * next entry, ties by the queues' order: O(log webhooks) per entry handed out.
 */
class HeadHeap {
  private h: number[] = [];
  constructor(private queues: TakeQueue[]) {
    for (let i = 0; i < queues.length; i++) if (queues[i].n > 0) this.h.push(i);
    for (let i = (this.h.length >> 1) - 1; i >= 0; i--) this.down(i);
  }
  get size(): number {
    return this.h.length;
  }
  /** The queue whose next entry is of the oldest event. */
  top(): TakeQueue {
    return this.queues[this.h[0]];
  }
  /** The top queue handed its next entry out and has more: put back in order. */
  moved(): void {
    this.down(0);
  }
  /** The top queue handed out all it may. */
  pop(): void {
    const last = this.h.pop()!;
    if (this.h.length > 0) {
      this.h[0] = last;
      this.down(0);
    }
  }
  private less(a: number, b: number): boolean {
    const qa = this.queues[a];
    const qb = this.queues[b];
    const sa = qa.list.items[qa.at + qa.taken].event_seq;
    const sb = qb.list.items[qb.at + qb.taken].event_seq;
    return sa < sb || (sa === sb && a < b);
  }
  private down(i: number): void {
    const h = this.h;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) return;
      const c = l + 1 < h.length && this.less(h[l + 1], h[l]) ? l + 1 : l;
      if (!this.less(h[c], h[i])) return;
      [h[c], h[i]] = [h[i], h[c]];
      i = c;
    }
  }
}

/**
 * Listed executions made pending, due now (in_flight -> pending), each only while it still carries
 * the lease it was written with (one that ended was taken over by a claim meanwhile).
 */
export async function releaseStale(db: Db, stale: Listed[], now: number): Promise<number> {
  if (stale.length === 0) return 0;
  return db.tx(async (tx) => {
    let n = 0;
    for (const l of stale) {
      const r = await tx.run(
        "UPDATE executions SET state = 'pending', next_attempt_at = ?, lease_until = NULL, updated_at = ? WHERE uid = ? AND state = 'in_flight' AND lease_until = ?",
        [now, now, l.uid, l.leaseUntil],
      );
      n += r.changes;
    }
    return n;
  });
}

/** While listed, a row's lease is in the future: nothing else has taken it. */
async function releaseListed(db: Db, uids: string[], now: number): Promise<number> {
  return uids.length === 0 ? 0 : releaseExecutions(db, uids, now);
}

const stores = new WeakMap<object, Preleased>();

/** The list of `db` (a Db): per store, as decodedEvents (decoded.ts). */
export function preleased(db: Db): Preleased {
  let p = stores.get(db);
  if (!p) stores.set(db, (p = new Preleased(db)));
  return p;
}
