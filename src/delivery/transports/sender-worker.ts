import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { createTargetPolicy } from '../../net/target.ts';
import { closeDeliveryAgent, createDeliveryAgent } from '../agent.ts';
import { send, type AttemptRecord } from '../send.ts';
import type { SenderThreadData, ToMain, ToSender } from './threaded.ts';

/**
 * A sender thread (threaded.ts): plain HTTP(S) attempts, each sent exactly as the in-process
 * transport sends it (send.ts through a guarded agent.ts agent, so the address policy is applied
 * here, to the address this thread connects to), the deadline enforced by this thread's own timer
 * wheel. Attempts arrive in batches; their records go back in batches, one message per turn of
 * this thread's event loop.
 */
const data = workerData as SenderThreadData;
// Named, for `top -H` and the bench's CPU per thread (Linux; elsewhere there is no such file).
try {
  writeFileSync('/proc/thread-self/comm', 'herald-sender');
} catch {}
const port = parentPort!;
const agent = createDeliveryAgent(createTargetPolicy(data.allow), { connections: data.connections });

let done: Array<[number, AttemptRecord, number]> = [];
let flushing = false;
/** Attempts sent and not yet answered: `close` waits for them. */
let pending = 0;

/** How long this thread's event loop has sat idle, ms (libuv's count; ~0.15 µs a call). */
const loopIdleMs = () => performance.nodeTiming.idleTime;

function answered(id: number, record: AttemptRecord, idleMs: number) {
  pending--;
  done.push([id, record, idleMs]);
  if (flushing) return;
  flushing = true;
  // Every record ready in this turn goes back in one message.
  setImmediate(flush);
}

function flush() {
  flushing = false;
  if (done.length === 0) return;
  const msg: ToMain = { t: 'done', items: done };
  done = [];
  port.postMessage(msg);
}

port.on('message', (m: ToSender) => {
  if (m.t === 'send') {
    // Each distinct body encoded once per message, shared by the attempts that carry it (as the
    // main thread shares an event's bytes across its fan-out: request.ts EncodedBody).
    const bytes: Array<Buffer | undefined> = [];
    for (const [id, url, method, headers, b, chunked, secrets, timeoutMs] of m.items) {
      pending++;
      const body = m.bodies[b]!;
      const bodyBytes = method === 'GET' ? undefined : (bytes[b] ??= Buffer.from(body));
      // This thread's idle time over the attempt goes back with it: the part of the duration that
      // was not this thread's own delay (the adaptive limit's `idleMs`, concurrency.ts).
      const idleBefore = loopIdleMs();
      // send() never throws: every failure is a record.
      void send(agent, { url, method, headers, body, bodyBytes, chunked, secrets }, timeoutMs).then((r) => answered(id, r, loopIdleMs() - idleBefore));
    }
  } else if (m.t === 'close') {
    // Graceful: undici's close waits for the requests in flight, whose records go back first.
    void closeDeliveryAgent(agent, m.force)
      .catch(() => {})
      .then(() => new Promise((r) => setImmediate(r)))
      .then(() => {
        flush();
        port.postMessage({ t: 'closed', unanswered: pending } satisfies ToMain);
      });
  }
});

port.postMessage({ t: 'ready' } satisfies ToMain);
