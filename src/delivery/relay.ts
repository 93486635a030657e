import type { WebSocket } from 'ws';
import { sortableId } from '../ids.ts';
import { outcomeOfStatus, parseRetryAfter, type Outcome } from './policy.ts';
import type { OutgoingRequest } from './request.ts';
import { loggedResponse, MAX_LOGGED_RESPONSE_BYTES, scrubResponse, type AttemptRecord } from './send.ts';
import { RELAY_TARGET } from '../webhooks/relay-target.ts';
import type { Transport } from './transports/index.ts';

/**
 * The relay transport (`herald listen`): a webhook whose target is `relay:` is delivered over the
 * WebSocket a listener opened to Herald, not over HTTP. Herald never connects to the developer's
 * machine: the listener connects out (GET /v3/webhooks/listen), receives each attempt as a frame
 * with the exact method, headers and body Herald would have sent, makes the request to its local
 * URL, and answers with the local receiver's status, headers and body, which become the attempt's
 * outcome in the activity log. The private-address rules are untouched: no address is connected to.
 *
 * Frames (JSON text, one object each):
 *   Herald -> listener  { type: 'hello', webhook: { uid, name, channels } }
 *                       { type: 'delivery', id, method, headers, body }
 *   listener -> Herald  { type: 'response', id, status, headers, body, encoding? ('base64') }
 *                       { type: 'error', id, outcome: 'refused' | 'timeout' | 'dns' | 'network', message }
 *
 * With no listener connected, an attempt fails at once (outcome `refused`, "no herald listen is
 * connected") and is retried on the usual schedule, counting towards the circuit breaker like any
 * failure: relay webhooks are for development, and a stale one should not pile up deliveries.
 * Listeners are held per process: on PostgreSQL with several delivering processes, an attempt
 * claimed by a process the listener is not connected to fails the same way and is retried (see
 * the README: connect the listener to the one process that delivers, or run one `all` process).
 */
export { RELAY_TARGET };

/** Whether a request goes over the relay rather than HTTP. */
export function isRelayTarget(url: string): boolean {
  return url === RELAY_TARGET;
}

/**
 * `transport`, with relay targets sent over their listener (by the request's webhook) instead. The
 * relay is no kind of destination the target policy knows: it connects to no address.
 */
export function withRelay(transport: Transport, relay: RelayHub): Transport {
  return {
    send: (req, timeoutMs) => (isRelayTarget(req.url) ? relay.send(req.webhook_uid ?? '', req, timeoutMs) : transport.send(req, timeoutMs)),
    close: (force) => transport.close(force),
  };
}

/** Largest frame a listener may send, bytes: a response body is cut to the log's cap by the listener. */
export const MAX_FRAME_BYTES = 4 * MAX_LOGGED_RESPONSE_BYTES + 64 * 1024;

const ERROR_OUTCOMES: ReadonlySet<Outcome> = new Set(['refused', 'timeout', 'dns', 'network']);

interface Waiting {
  resolve(r: AttemptRecord): void;
  timer: NodeJS.Timeout;
  started: number;
  secrets: readonly string[];
}

interface Listener {
  ws: WebSocket;
  waiting: Map<string, Waiting>;
}

export class RelayHub {
  private byWebhook = new Map<string, Listener[]>();
  /** Round robin among several listeners of one webhook. */
  private turn = 0;

  /** A listener of `webhookUid` connected; returns what to call when it goes. */
  attach(webhookUid: string, ws: WebSocket): () => void {
    const l: Listener = { ws, waiting: new Map() };
    this.byWebhook.set(webhookUid, [...(this.byWebhook.get(webhookUid) ?? []), l]);
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      let frame: { type?: unknown; id?: unknown; [k: string]: unknown };
      try {
        frame = JSON.parse(String(data));
      } catch {
        return;
      }
      if (typeof frame?.id !== 'string') return;
      const w = l.waiting.get(frame.id);
      if (!w) return;
      l.waiting.delete(frame.id);
      clearTimeout(w.timer);
      w.resolve(recordOf(frame, w));
    });
    return () => {
      const left = (this.byWebhook.get(webhookUid) ?? []).filter((x) => x !== l);
      if (left.length) this.byWebhook.set(webhookUid, left);
      else this.byWebhook.delete(webhookUid);
      for (const [id, w] of l.waiting) {
        clearTimeout(w.timer);
        w.resolve(failed(w, 'network', 'the herald listen connection closed before the local receiver answered'));
        l.waiting.delete(id);
      }
    };
  }

  /** Listeners connected to this process for `webhookUid`. */
  listeners(webhookUid: string): number {
    return this.byWebhook.get(webhookUid)?.length ?? 0;
  }

  /** One attempt over a listener's socket, within `timeoutMs`. Never throws: every failure is an outcome. */
  send(webhookUid: string, req: OutgoingRequest, timeoutMs: number): Promise<AttemptRecord> {
    const started = Date.now();
    const secrets = req.secrets ?? [];
    const all = this.byWebhook.get(webhookUid) ?? [];
    if (all.length === 0) {
      return Promise.resolve(failed({ started, secrets }, 'refused', 'no herald listen is connected to this relay webhook (on this Herald process)'));
    }
    const l = all[this.turn++ % all.length];
    const id = sortableId('rly');
    return new Promise((resolve) => {
      const w: Waiting = {
        resolve,
        started,
        secrets,
        timer: setTimeout(() => {
          l.waiting.delete(id);
          resolve(failed(w, 'timeout', `no answer from the local receiver through herald listen within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      l.waiting.set(id, w);
      l.ws.send(JSON.stringify({ type: 'delivery', id, method: req.method ?? 'POST', headers: req.headers, body: req.body }), (err) => {
        if (!err || !l.waiting.has(id)) return;
        l.waiting.delete(id);
        clearTimeout(w.timer);
        resolve(failed(w, 'network', `sending to herald listen failed: ${err.message}`));
      });
    });
  }
}

function failed(w: Pick<Waiting, 'started' | 'secrets'>, outcome: Outcome, reason: string): AttemptRecord {
  return { outcome, status_code: null, retry_after_ms: null, reason, response: null, started_at: w.started, duration_ms: Date.now() - w.started };
}

/** A listener's answer as the attempt's record: the local receiver's status, headers and body (capped, secrets masked). */
function recordOf(frame: Record<string, unknown>, w: Waiting): AttemptRecord {
  if (frame.type === 'error') {
    const outcome = ERROR_OUTCOMES.has(frame.outcome as Outcome) ? (frame.outcome as Outcome) : 'network';
    return failed(w, outcome, `local receiver (herald listen): ${String(frame.message ?? outcome).slice(0, 500)}`);
  }
  const status = Number(frame.status);
  if (frame.type !== 'response' || !Number.isInteger(status) || status < 100 || status > 599) return failed(w, 'network', 'herald listen sent an unreadable answer');
  const headers: Record<string, string | string[]> = {};
  if (frame.headers && typeof frame.headers === 'object') {
    for (const [k, v] of Object.entries(frame.headers as Record<string, unknown>)) {
      if (typeof v === 'string') headers[k.toLowerCase()] = v;
      else if (Array.isArray(v)) headers[k.toLowerCase()] = v.map(String);
    }
  }
  const raw = typeof frame.body === 'string' ? Buffer.from(frame.body, frame.encoding === 'base64' ? 'base64' : 'utf8') : Buffer.alloc(0);
  const truncated = raw.length > MAX_LOGGED_RESPONSE_BYTES || frame.truncated === true;
  const outcome = outcomeOfStatus(status);
  return {
    outcome,
    status_code: status,
    retry_after_ms: parseRetryAfter(headers['retry-after'], Date.now()),
    reason: outcome === 'success' ? null : outcome === 'redirect' ? `HTTP ${status} redirect (not followed)` : `HTTP ${status}`,
    response: scrubResponse(loggedResponse(headers, raw.subarray(0, MAX_LOGGED_RESPONSE_BYTES), truncated), w.secrets),
    started_at: w.started,
    duration_ms: Date.now() - w.started,
  };
}
