import type { Logger } from 'pino';
import { fromFeed } from './event.ts';
import type { Ingest } from './ingest.ts';
import { SourceError, type Source } from './source.ts';
import type { BackupStore } from './store.ts';

/**
 * Gap-free backup: each stack reads the source's event feed (`GET /v3/events?after=<cursor>`) from
 * its cursor, on start, every interval, and shortly after a delivery (deliveries are hints: they
 * may be missing, late or out of order; the feed is the truth).
 *
 * Seqs are global across stacks, so a stack's own seqs have holes that are other stacks' events:
 * only the feed can say a stack's events are contiguous. The cursor is the highest seq up to which
 * the feed was read and every event stored. Events younger than the settle time are stored but the
 * cursor does not pass them yet: on a source with several writers a smaller seq may still commit.
 *
 * What cannot be filled is reported as an open gap: the source unreachable or refusing the token
 * (events after the cursor may be missing until a catch-up succeeds), and events the backup holds
 * from deliveries that the feed no longer returns (pruned at the source).
 *
 * Publishes and unpublishes scheduled for later record no event, so no delivery hints at them: besides
 * each catch-up, the publish queues of the branches the last catch-up listed are read every queue
 * interval (`readQueues`), one stack's reads in turn with its catch-ups, so a schedule is in the backup
 * within seconds as a change is (a branch made since the last catch-up: at the next one).
 */
export const FEED_PAGE = 1000;
/** Wait after a delivery before reading the feed, ms, so a burst of deliveries makes one read. */
export const HINT_DELAY_MS = 1000;

export interface CatchUpOptions {
  store: BackupStore;
  source: Source;
  ingest: Ingest;
  log: Logger;
  intervalMs: number;
  /** Between catch-ups, how often the publish queues are read, ms; 0: at catch-up only. */
  queueIntervalMs?: number;
  settleMs: number;
}

export class CatchUp {
  private running = new Map<string, Promise<void>>();
  private again = new Set<string>();
  private hints = new Map<string, NodeJS.Timeout>();
  private timer?: NodeJS.Timeout;
  private queueTimer?: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly o: CatchUpOptions) {}

  /** Catches every known stack up now, then every interval. */
  start(): void {
    void this.runAll();
    this.timer = setInterval(() => void this.runAll(), this.o.intervalMs);
    if (this.o.queueIntervalMs) this.queueTimer = setInterval(() => void Promise.all(this.o.store.stacks().map((s) => this.run(s.api_key, 'queues'))), this.o.queueIntervalMs);
  }

  runAll(): Promise<void[]> {
    return Promise.all(this.o.store.stacks().map((s) => this.run(s.api_key)));
  }

  /** A delivery arrived for this stack (or events are settling): read the feed soon. */
  hint(apiKey: string, delayMs = HINT_DELAY_MS): void {
    if (this.stopped || this.hints.has(apiKey)) return;
    this.hints.set(
      apiKey,
      setTimeout(() => {
        this.hints.delete(apiKey);
        void this.run(apiKey);
      }, delayMs),
    );
  }

  /**
   * Catches one stack up (`queues`: reads its publish queues only); concurrent calls share one run
   * (and one catch-up more after it, if one was asked meanwhile). A queue read asked during a run
   * is left out: a catch-up reads the queues, and the next interval reads them again.
   */
  run(apiKey: string, what: 'all' | 'queues' = 'all'): Promise<void> {
    const current = this.running.get(apiKey);
    if (current) {
      if (what === 'all') this.again.add(apiKey);
      return current;
    }
    const p = (async () => {
      let next = what;
      do {
        this.again.delete(apiKey);
        await (next === 'all' ? this.once(apiKey) : this.readQueues(apiKey));
        next = 'all';
      } while (this.again.has(apiKey) && !this.stopped);
    })().finally(() => this.running.delete(apiKey));
    this.running.set(apiKey, p);
    return p;
  }

  private async once(apiKey: string): Promise<void> {
    const { store, source, ingest, log } = this.o;
    store.ensureStack(apiKey);
    const start = store.stack(apiKey)!.feed_cursor;
    const startedAt = Date.now();
    const settledBefore = startedAt - this.o.settleMs;
    let cursor = start;
    let settled = true;
    let lastRead = start;
    let stored = 0;
    const seen = new Set<number>();
    try {
      let after = start;
      for (;;) {
        const page = await source.feed(apiKey, after, FEED_PAGE);
        for (const item of page.events) {
          // A bulk job's summary (module `job`) names items whose own events are in the feed too:
          // nothing to keep, but read (so no gap is reported where it sits).
          if (isJobSummary(item)) {
            const seq = Number((item as { seq: unknown }).seq);
            seen.add(seq);
            lastRead = Math.max(lastRead, seq);
            if (settled && Number((item as { created_at: unknown }).created_at) <= settledBefore) cursor = seq;
            else settled = false;
            continue;
          }
          const e = fromFeed(item);
          if (e.api_key !== apiKey) throw new SourceError('refused', `the feed of stack ${apiKey} returned an event of stack ${e.api_key}`);
          if ((await ingest.ingest(e)) !== 'duplicate') stored++;
          seen.add(e.seq);
          lastRead = Math.max(lastRead, e.seq);
          if (settled && e.created_at <= settledBefore) cursor = e.seq;
          else settled = false;
        }
        if (cursor > start) store.advanceCursor(apiKey, cursor);
        if (page.events.length < FEED_PAGE) break;
        after = page.last_seq;
      }
      this.checkMissing(apiKey, start, lastRead, seen, startedAt);
      await ingest.retryPendingFiles(apiKey);
      // The settings are stamped with the time their reads began, not ended: they hold every change
      // the source made before it (settings_fetched_at says so to a caller waiting for one), while a
      // change made during the reads may be missing from the ones read first.
      const readFrom = Date.now();
      const branches = await source.branches(apiKey);
      const contentful = await source.contentfulStates(apiKey, branches);
      store.saveSettings(apiKey, {
        environments: await source.environments(apiKey),
        locales: await source.locales(apiKey),
        branches,
        contentful_environments: await source.contentfulEnvironments(apiKey),
        branch_origins: await source.branchOrigins(apiKey),
        contentful,
        publish_queues: await source.publishQueues(apiKey, branches),
      }, readFrom);
      store.saveName(apiKey, await source.stackName(apiKey));
      store.caughtUp(apiKey);
      store.resolveGaps(apiKey, ['source_unreachable', 'no_access']);
      if (stored) log.info({ api_key: apiKey, stored, cursor }, 'caught up from the event feed');
      // Events too young to count as contiguous: look again once they have settled.
      if (!settled) this.hint(apiKey, this.o.settleMs + HINT_DELAY_MS);
    } catch (err) {
      const reason = (err as Error).message;
      const kind = err instanceof SourceError && err.kind === 'no_access' ? 'no_access' : 'source_unreachable';
      store.catchUpFailed(apiKey, reason);
      const opened = store.openGap({
        api_key: apiKey,
        gap_key: kind,
        kind,
        detail: `catching up from ${source.url} failed: ${reason}. Events after seq ${cursor} may be missing until a catch-up succeeds.`,
        from_seq: cursor,
        to_seq: null,
      });
      (opened ? log.warn.bind(log) : log.debug.bind(log))({ api_key: apiKey, cursor, reason }, 'catch-up failed; the backup may have a gap');
    }
  }

  /**
   * Reads the publish queue of each branch the source has now, and saves them: the branch list is
   * read again (one request more), so a branch made since the last catch-up has its schedules held
   * within a queue interval too, not at the next catch-up (the branch list itself is saved by the
   * catch-ups). Before a first catch-up, nothing (it reads them). A failure is left to the
   * catch-ups, which report gaps.
   */
  private async readQueues(apiKey: string): Promise<void> {
    const { store, source, log } = this.o;
    const stack = store.stack(apiKey);
    if (!stack?.settings_fetched_at) return;
    try {
      const readFrom = Date.now(); // as the catch-up's settings: when the reads began
      store.savePublishQueues(apiKey, await source.publishQueues(apiKey, await source.branches(apiKey)), readFrom);
    } catch (err) {
      log.debug({ api_key: apiKey, reason: (err as Error).message }, 'reading the publish queues failed; the next catch-up reads them');
    }
  }

  /**
   * Events held from deliveries (before this read began) within the range the feed returned, but
   * not returned by it: the source no longer has them, so the backup cannot check what lies
   * between them.
   */
  private checkMissing(apiKey: string, start: number, lastRead: number, seen: Set<number>, startedAt: number) {
    const missing = this.o.store.seqsBetween(apiKey, start, lastRead, startedAt).filter((s) => !seen.has(s));
    if (missing.length === 0) return;
    this.o.store.openGap({
      api_key: apiKey,
      gap_key: `events_missing:${missing[0]}-${missing[missing.length - 1]}`,
      kind: 'events_missing',
      detail: `the source's feed no longer returns events ${missing.join(', ')} (held from deliveries): it was pruned, so events between seq ${start} and ${lastRead} cannot be checked`,
      from_seq: missing[0],
      to_seq: missing[missing.length - 1],
    });
    this.o.log.warn({ api_key: apiKey, missing }, 'events held from deliveries are not in the source feed');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.queueTimer) clearInterval(this.queueTimer);
    for (const t of this.hints.values()) clearTimeout(t);
    this.hints.clear();
    await Promise.allSettled([...this.running.values()]);
  }
}

/** A feed item that is a bulk job's completion rather than a change to one entity. */
function isJobSummary(item: unknown): boolean {
  return typeof item === 'object' && item !== null && (item as { module?: unknown }).module === 'job' && Number.isSafeInteger((item as { seq?: unknown }).seq);
}
