import { scrubSecrets } from '../../webhooks/headers.ts';
import { kindOf, type TargetKind } from '../../webhooks/targets.ts';
import type { OutgoingRequest } from '../request.ts';
import type { AttemptRecord } from '../send.ts';

/**
 * A transport carries one attempt to a destination of its kind (src/webhooks/targets.ts): HTTP, or
 * a broker (RabbitMQ, NATS JetStream, Redis Streams). The engine calls `send` the same way for
 * every kind; the request's URL chooses the transport.
 *
 * Every transport keeps the guarantees HTTP deliveries have: `send` never throws (every failure is
 * an outcome with a reason, and the engine retries it on the schedule); the address policy applies
 * to the host actually connected to; connections are pooled and reopened when they drop; secrets
 * never appear in a reason.
 */
export interface Transport {
  /** One attempt of `req` within `timeoutMs` (connecting included). Never throws. */
  send(req: OutgoingRequest, timeoutMs: number): Promise<AttemptRecord>;
  /** Closes pooled connections; `force`: without waiting for work in flight. */
  close(force?: boolean): Promise<void>;
}

/**
 * On a record sent from another thread (threaded.ts): how long that thread's event loop sat idle
 * during the attempt, ms. The adaptive limit counts an attempt's duration as the receiver's only
 * as long as the loops handling it were idle (concurrency.ts `idleMs`): the sending thread's
 * delays (other attempts, being descheduled on a busy machine) are Herald's, not the receiver's.
 * A property of the record, not a WeakMap by record: an insert per attempt grew the WeakMap's
 * table between collections (dead records' entries go only when a collection clears them), and
 * its tables were most of what the main thread promoted with a sender thread (session 28, h2).
 */
const SENDER_IDLE = Symbol('sender thread idle ms');

/** Records `ms` as the sending thread's idle time over `record`'s attempt. */
export function setSenderIdle(record: AttemptRecord, ms: number): void {
  (record as AttemptRecord & { [SENDER_IDLE]?: number })[SENDER_IDLE] = ms;
}

/** The sending thread's idle ms over `record`'s attempt; Infinity when it was sent from this thread. */
export function senderIdleMs(record: AttemptRecord): number {
  return (record as AttemptRecord & { [SENDER_IDLE]?: number })[SENDER_IDLE] ?? Infinity;
}

/** A record of a failed attempt that never reached the point of a response. */
export function failure(started: number, outcome: AttemptRecord['outcome'], reason: string): AttemptRecord {
  return { outcome, status_code: null, retry_after_ms: null, reason, response: null, started_at: started, duration_ms: Date.now() - started };
}

/** The transports by kind, as one Transport: routes each request by its URL's scheme. */
export function routeByKind(transports: Partial<Record<TargetKind, Transport>>): Transport {
  /** A library's error text may quote what it was given; secrets never leave in a reason. */
  const scrubbed = (record: AttemptRecord, secrets: readonly string[]) => {
    if (record.reason) record.reason = scrubSecrets(record.reason, secrets);
    return record;
  };
  return {
    // Not async: a request with no secrets gets the transport's own promise, not one more around it.
    send(req, timeoutMs) {
      try {
        const started = Date.now();
        const kind = kindOf(req.url);
        const t = kind ? transports[kind] : undefined;
        if (!t) return Promise.resolve(failure(started, 'blocked', `no transport for ${kind ?? 'this'} URL scheme; nothing was sent`));
        const secrets = req.secrets;
        return secrets?.length ? t.send(req, timeoutMs).then((record) => scrubbed(record, secrets)) : t.send(req, timeoutMs);
      } catch (err) {
        return Promise.reject(err);
      }
    },
    async close(force) {
      await Promise.all(Object.values(transports).map((t) => t!.close(force).catch(() => {})));
    },
  };
}

/** Settles with `p`, or rejects with a TimeoutError after `ms` (the work itself is not cancelled). */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new Error(`${what}: no answer within ${ms} ms`);
      err.name = 'TimeoutError';
      reject(err);
    }, ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
