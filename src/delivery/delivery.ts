import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { EventRow, FanOut } from '../events/record.ts';
import type { Db, Tx } from '../store/db.ts';
import { SIGNALS } from '../store/signals.ts';
import { eventChannel, type ChannelEvent } from '../webhooks/channels.ts';
import type { Match, WebhookIndex } from '../webhooks/match-index.ts';
import { DeliveryDispatcher, type DispatcherStatus } from './dispatcher.ts';
import { enqueue, releaseClaims, releaseExecutions, retryNow, type Finished } from './queue/index.ts';
import { decodedEvents } from './queue/decoded.ts';
import { preleased, type Admitted, type Preleased } from './queue/prelease.ts';
import { createTargetPolicy } from '../net/target.ts';
import { buildRequest, type LoggedRequest } from './request.ts';
import type { AttemptRecord } from './send.ts';
import { createTransports } from './transports/index.ts';
import { RelayHub, withRelay } from './relay.ts';
import { sortableId } from '../ids.ts';
import type { HeraldEvent } from '../events/event.ts';
import { prepareDelivery } from './formats/index.ts';
import type { Webhook } from '../webhooks/webhook.ts';
import type { Operational } from './operational.ts';
import { Prober } from './probe.ts';

/**
 * What one transaction's fan-outs leave for its commit: the executions it wrote leased (with the
 * list, as enqueue takes them), and each recorded event with executions, as a flat run of (row,
 * executions, listed) for DecodedEvents.recorded.
 */
interface Fanned {
  prelease: { list: Preleased; tx: Admitted };
  recorded: unknown[];
}

/**
 * eventChannel(event), the text kept from the last event while every field it is made of is the
 * same: module, action, and the content type's uid (an entry's content_type_uid, a content type's
 * own uid), a job's environment. Events come in runs of one kind (the bench's are all
 * `content_types.post.entries.update`); made again, the text was a cons string of three nodes,
 * copied flat when SQLite bound it, per event.
 */
const lastChannel = { module: '', action: '', type: null as string | null | undefined, environment: null as string | null | undefined, text: '' };
function channelOf(event: ChannelEvent): string {
  const c = lastChannel;
  const type = event.module === 'content_type' ? event.uid : event.content_type_uid;
  const environment = event.module === 'job' ? event.environment : null;
  if (c.text !== '' && event.module === c.module && event.action === c.action && type === c.type && environment === c.environment) return c.text;
  c.module = event.module;
  c.action = event.action;
  c.type = type;
  c.environment = environment;
  c.text = eventChannel(event);
  return c.text;
}

/** The header that marks a test event's request. */
export const TEST_HEADER = 'x-herald-test';

export interface DeliveryDeps {
  db: Db;
  config: Config;
  log: Logger;
  webhooks: WebhookIndex;
  /** Operational events (delivery/operational.ts): recorded with outcomes, and the breaker's disables. */
  operational?: Operational;
}

/** The delivery engine as the rest of Herald sees it. */
export interface Delivery {
  /** Creates the executions of an event inside its transaction (see events/record.ts). */
  fanOut: FanOut;
  /** Starts the dispatcher. */
  start(): Promise<void>;
  /** Something became due outside fan-out (a webhook was enabled, say): look now. */
  wake(): void;
  /** Manual retry of one execution, now, whatever its state. */
  retry(webhookUid: string, executionUid: string): Promise<'retrying' | 'in_flight' | 'not_found'>;
  /**
   * Sends a test call to a webhook now and returns what happened; nothing is stored (no event, no
   * execution). Same request as a real delivery (auth, headers, signature), with event `test`.
   */
  test(webhook: Webhook): Promise<{ request: LoggedRequest & { body: string }; record: AttemptRecord }>;
  /**
   * Sends `event` (a test event, src/events/sample.ts) to a webhook now, as a delivery of it would
   * go (its format, body, headers, signature), marked `x-herald-test: 1`; nothing is stored.
   */
  testEvent(webhook: Webhook, event: HeraldEvent): Promise<{ request: LoggedRequest & { body: string }; record: AttemptRecord }>;
  /** Attempts in flight now. */
  inFlight(): number;
  /** Each webhook's adaptive concurrency limit in this process (empty when it does not deliver). */
  concurrencyLimits(): Map<string, number>;
  /** The dispatcher's state (GET /readyz); null when this process does not run it (role api). */
  status(): DispatcherStatus | null;
  /** Subscribes to recorded attempts (after their outcome is on disk). */
  onAttempt(fn: (f: Finished) => void): void;
  /** Listeners of relay webhooks connected to this process (`herald listen`, relay.ts). */
  relay: RelayHub;
  /** Stops claiming; waits for in-flight attempts up to `graceMs`; claims left expire and are redone. */
  stop(graceMs?: number): Promise<void>;
}

export function createDelivery({ db, config, log, webhooks, operational }: DeliveryDeps): Delivery {
  const policy = createTargetPolicy(config.allowPrivateTargets);
  // HTTP connections per origin up to the global cap: several webhooks may share one host, and one
  // of them hanging must not hold connections the others need (each webhook's own cap bounds it).
  // Brokers: one pooled connection per (broker, credentials) (transports/).
  // Relay webhooks (`herald listen`) go over their listener's socket (relay.ts).
  const relay = new RelayHub();
  const transport = withRelay(createTransports({ policy, log, connections: config.maxInFlight, egressProxy: config.egressProxy, senderThreads: config.senderThreads, senderThreadsStartRate: config.senderThreadsStartRate, senderThreadsBusy: config.senderThreadsBusy }), relay);
  const listeners: Array<(f: Finished) => void> = [];
  const dispatcher = new DeliveryDispatcher({
    db,
    transport,
    log,
    timeoutMs: config.deliveryTimeoutMs,
    leaseMarginMs: config.leaseMarginMs,
    retryDelaysMs: config.retryDelaysMs,
    breakerThreshold: config.circuitBreakerThreshold,
    autoSaveWindowMs: config.autoSaveWindowMs,
    maxInFlight: config.maxInFlight,
    maxInFlightPerWebhook: config.maxInFlightPerWebhook,
    maxRenderedBody: config.maxRenderedBody,
    operational,
    probeDelayMs: config.probeDelayMs,
    onDisabled: (stacks) => {
      for (const s of stacks) webhooks.invalidate(s);
      // The breaker may have scheduled a probe sooner than the prober's timer.
      prober?.kick();
    },
    onAttempt: (f) => {
      for (const l of listeners) l(f);
    },
  });
  // The half-open probe of webhooks the breaker disabled (probe.ts); off with probeDelayMs 0.
  const prober =
    config.probeDelayMs > 0
      ? new Prober({
          db,
          log,
          send: (p) => dispatcher.sendAttempt(p.claimed),
          leaseMs: config.deliveryTimeoutMs + config.leaseMarginMs,
          retryDelaysMs: config.retryDelaysMs,
          autoSaveWindowMs: config.autoSaveWindowMs,
          probeMaxDelayMs: config.probeMaxDelayMs,
          operational,
          onRecovered: (apiKey) => {
            webhooks.invalidate(apiKey);
            wakeAll();
          },
        })
      : null;
  /** Creates the executions of `event` for the webhooks it matched, in its transaction. */
  const enqueueMatches = async (tx: Tx, event: HeraldEvent, stored: EventRow, matches: Match[]): Promise<number> => {
    // A webhook disabled in this very transaction is still in this process's index until it
    // commits: it does not get the event saying so (events/operational.ts, loops).
    if (event.module === 'webhook' && event.action === 'disabled') matches = matches.filter((m) => m.webhook.uid !== event.uid);
    if (matches.length === 0) return 0;
    const now = Date.now();
    // Executions on the plain path may be written leased for this process's dispatcher
    // (queue/prelease.ts): they join its list once their transaction committed, never when it
    // rolled back. One list of them per transaction, however many events it records.
    let mine = fannedIn.get(tx);
    if (!mine) {
      const fanned: Fanned = { prelease: { list, tx: { listed: [], perWebhook: new Map() } }, recorded: [] };
      fannedIn.set(tx, (mine = fanned));
      tx.afterCommit(() => {
        // Out of the WeakMap at once: an entry stays until a collection finds its transaction
        // dead, and meanwhile the WeakMap, in the old generation, kept `fanned` (its list and map)
        // alive through scavenges, to be promoted. Latency line at 4,000 events/s: 0.55-0.68 ->
        // 0.27-0.30 KB promoted per event, 6 -> 4 mark-compacts (session 27, h2).
        fannedIn.delete(tx);
        list.add(fanned.prelease.tx.listed, now);
        // The claims of its executions find each event's row kept rather than read it back
        // (decoded.ts); kept once committed only: a seq rolled back is given again to another event.
        const r = fanned.recorded;
        for (let i = 0; i < r.length; i += 3) events.recorded(r[i] as EventRow, r[i + 1] as number, r[i + 2] as number);
      });
    }
    const admitted = mine.prelease.tx;
    const before = admitted.listed.length;
    const n = await enqueue(tx, event, matches, channelOf(event), { now, autoSaveWindowMs: config.autoSaveWindowMs, prelease: mine.prelease });
    // Its row, its executions and how many of them were listed, for the hook above (a closure
    // and a hook per event were ~0.1 KB).
    if (n > 0) mine.recorded.push(stored, n, admitted.listed.length - before);
    // Listed ones wake the dispatcher through the list; a scan is wanted for any other webhook's
    // (a row written pending or queued, or a fold that made a waiting one due).
    if (matches.length > admitted.listed.length - before) tx.afterCommit(wakeAll);
    return n;
  };
  const events = decodedEvents(db);
  const list = preleased(db);
  const fannedIn = new WeakMap<Tx, Fanned>();
  let started = false;
  let unlisten: (() => Promise<void>) | null = null;
  /** Wakes this process's dispatcher and (scale-out) every worker on the database. */
  const wakeAll = () => {
    dispatcher.wake();
    db.notify?.(SIGNALS.executions);
  };

  return {
    fanOut(tx, event, stored) {
      // Runs for every event: no promise of its own while the stack's webhooks are in the index.
      const found = webhooks.match(tx, event);
      return Array.isArray(found) ? enqueueMatches(tx, event, stored, found) : found.then((matches) => enqueueMatches(tx, event, stored, matches));
    },
    async start() {
      // SQLite is one process's store: claims left by a previous run are ours to redo now.
      if (db.dialect === 'sqlite') {
        const released = await releaseClaims(db, Date.now());
        if (released) log.info({ released }, 'redelivering attempts that were in flight when Herald last stopped');
      }
      started = true;
      dispatcher.start();
      prober?.start();
      // Scale-out: executions committed by other processes (API nodes) wake this worker.
      unlisten = (await db.listen?.(SIGNALS.executions, () => dispatcher.wake())) ?? null;
    },
    wake: wakeAll,
    async retry(webhookUid, executionUid) {
      const r = await retryNow(db, webhookUid, executionUid, Date.now());
      if (r === 'retrying') wakeAll();
      return r;
    },
    async test(webhook) {
      const now = Date.now();
      const body = JSON.stringify({
        event: 'test',
        module: 'webhook',
        api_key: webhook.api_key,
        data: { webhook: { uid: webhook.uid, name: webhook.name } },
        triggered_at: new Date(now).toISOString(),
        branch: { uid: webhook.branches[0] ?? 'main', alias: [] },
        seq: 0,
      });
      const req = buildRequest(webhook, sortableId('test'), body, { seq: 0, attempt: 1, event: 'webhook.test' }, now);
      const record = await transport.send(req, config.deliveryTimeoutMs);
      return { request: { ...req.logged, body }, record };
    },
    async testEvent(webhook, event) {
      const now = Date.now();
      const { format, prepared } = await prepareDelivery(db, event, webhook, { retryDelaysMs: config.retryDelaysMs });
      const body = prepared.body();
      const meta = { seq: event.seq, attempt: 1, event: `${event.module}.${event.action}` };
      const req = buildRequest(webhook, sortableId('test'), body, meta, now, { format, prepared });
      // Marked so a receiver can tell it from a real delivery (it signs like one).
      req.headers[TEST_HEADER] = '1';
      req.logged.headers[TEST_HEADER] = '1';
      const record = await transport.send(req, config.deliveryTimeoutMs);
      return { request: { ...req.logged, body }, record };
    },
    inFlight: () => dispatcher.inFlightCount,
    relay,
    concurrencyLimits: () => (started ? dispatcher.concurrencyLimits() : new Map()),
    status: () => (started ? dispatcher.status() : null),
    onAttempt: (fn) => void listeners.push(fn),
    async stop(graceMs) {
      await unlisten?.();
      unlisten = null;
      await prober?.stop();
      const left = started ? await dispatcher.stop(graceMs) : [];
      started = false;
      // Attempts still running past the grace period are cut (close() would wait for them, up to
      // the delivery timeout), then their executions are due again at once, for this process after
      // a restart or another worker now. Had the receiver got one, it gets it again: at least once.
      await transport.close(left.length > 0).catch(() => {});
      if (left.length > 0) {
        const released = await releaseExecutions(db, left, Date.now());
        log.warn({ released, deliveryIds: left }, 'deliveries still in flight at the end of the grace period were cut; they will be sent again');
      }
    },
  };
}
