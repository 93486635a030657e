import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { createTargetPolicy } from '../../net/target.ts';
import { closeDeliveryAgent, createDeliveryAgent } from '../agent.ts';
import { send, type AttemptRecord } from '../send.ts';
import { encodeRecord, RequestDecoder, type DecodedRequest, type Flat, type Shape, type ToMain, type ToSender } from './sender-wire.ts';
import type { SenderThreadData } from './threaded.ts';

/**
 * A sender thread (threaded.ts): plain HTTP(S) attempts, each sent exactly as the in-process
 * transport sends it (send.ts through a guarded agent.ts agent, so the address policy is applied
 * here, to the address this thread connects to), the deadline enforced by this thread's own timer
 * wheel. Attempts arrive in batches; their records go back in batches, one message per turn of
 * this thread's event loop; both flat (sender-wire.ts).
 */
const data = workerData as SenderThreadData;
// Named, for `top -H` and the bench's CPU per thread (Linux; elsewhere there is no such file).
try {
  writeFileSync('/proc/thread-self/comm', 'herald-sender');
} catch {}
const port = parentPort!;
const agent = createDeliveryAgent(createTargetPolicy(data.allow), { connections: data.connections });

/** This turn's records, flat (sender-wire.ts encodeRecord). */
let done: Flat = [];
let flushing = false;
/** Attempts sent and not yet answered: `close` waits for them. */
let pending = 0;
const decoder = new RequestDecoder();

/** How long this thread's event loop has sat idle, ms (libuv's count; ~0.15 µs a call). */
const loopIdleMs = () => performance.nodeTiming.idleTime;

function answered(id: number, shape: Shape | null, record: AttemptRecord, idleMs: number) {
  pending--;
  encodeRecord(done, id, idleMs, shape, record);
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

/**
 * The current message's bodies: their bytes one after another (the message's own buffer, handed
 * over by the main thread), where each ends, and each one's view once made (shared by the
 * attempts that carry it, as the main thread shares an event's bytes across its fan-out).
 */
let bodies = new ArrayBuffer(0);
let bodyEnds: number[] = [];
let bytes: Array<Buffer | undefined> = [];

/** Sends one attempt as read from its message (`r` is refilled for the next: what is kept is copied out here). */
function sendOne(r: DecodedRequest) {
  pending++;
  const { id, shape, method, body: b } = r;
  // The body's bytes as the main thread encoded them (request.ts EncodedBody), in place; send()
  // sends them and reads no text (`body` is what it would encode without them).
  const bodyBytes = method === 'GET' ? undefined : (bytes[b] ??= Buffer.from(bodies, b === 0 ? 0 : bodyEnds[b - 1]!, bodyEnds[b]! - (b === 0 ? 0 : bodyEnds[b - 1]!)));
  // This thread's idle time over the attempt goes back with it: the part of the duration that
  // was not this thread's own delay (the adaptive limit's `idleMs`, concurrency.ts).
  const idleBefore = loopIdleMs();
  // The headers as names and values alternating (a shape's), which undici takes as it takes an
  // object (its Request reads either into the same header text); send() passes them on unread.
  const headers = r.headers as Record<string, string>;
  // send() never throws: every failure is a record.
  void send(agent, { url: r.url, method, headers, body: '', bodyBytes, chunked: r.chunked, secrets: r.secrets }, r.timeoutMs).then((rec) => answered(id, shape, rec, loopIdleMs() - idleBefore));
}

port.on('message', (m: ToSender) => {
  if (m.t === 'send') {
    bodies = m.bodies;
    bodyEnds = m.bodyEnds;
    bytes = [];
    decoder.read(m, sendOne);
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
