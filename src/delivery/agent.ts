import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import type { EventEmitter } from 'node:events';
import { isIP, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Agent, buildConnector, Client, Dispatcher, errors, Pool } from 'undici';
import { addressProblem, hostnameProblem, type TargetPolicy } from '../net/target.ts';

/**
 * The HTTP agent every delivery goes through: pooled keep-alive connections per origin, and a
 * connector that applies the target policy to the address actually connected to.
 *
 * - Host names: the socket's own `lookup` resolves every address (dns.lookup, all: true) and
 *   refuses the connection when ANY of them is forbidden, so a name answering both a public and a
 *   private address is refused, and a DNS answer that changed since the webhook was saved
 *   (rebinding) is judged as it is now, by the lookup whose answer the socket uses.
 * - IP literals: node skips `lookup` for them, so the connector checks them before connecting.
 * - After connecting, the socket's remote address is checked once more (defence in depth).
 *
 * A refused connection fails the request with a `BlockedTargetError` (`code` HERALD_BLOCKED_TARGET),
 * which the engine records as `blocked`, not as a network error. Redirects are never followed:
 * undici's `request` does not follow them unless a redirect interceptor is composed, and none is.
 */
export const BLOCKED_TARGET = 'HERALD_BLOCKED_TARGET';

export class BlockedTargetError extends Error {
  readonly code = BLOCKED_TARGET;
  /** Completes "target_url ...", e.g. "is a loopback address (127.0.0.1)". */
  readonly reason: string;
  readonly host: string;

  constructor(host: string, reason: string) {
    super(`Herald refused to connect to ${host}: it ${reason}`);
    this.name = 'BlockedTargetError';
    this.host = host;
    this.reason = reason;
  }
}

/** Resolves a host name to all its addresses; dns.lookup by default (the system resolver). */
export type Resolver = (hostname: string, opts: { family?: number; hints?: number }) => Promise<LookupAddress[]>;

export interface DeliveryAgentOptions {
  /** Most connections per origin (Default: 64). */
  connections?: number;
  /**
   * Connections per origin opened as requests need them; beyond, only while the receiver is slow
   * (OriginPool). Default: min(FAST_CONNECTIONS = 64, connections).
   */
  fastConnections?: number;
  /** Idle keep-alive connections close after this many ms (Default: 10_000). */
  keepAliveTimeoutMs?: number;
  /** TCP (and TLS) connect deadline, ms (Default: 10_000). */
  connectTimeoutMs?: number;
  /**
   * Replaces the system resolver (tests: a name answering what the test needs). The policy check
   * runs on its answer exactly as on the system's.
   */
  resolve?: Resolver;
  /** TLS options for https targets: a client certificate and key (mutual TLS), CAs to trust instead of the system's. */
  tls?: { cert?: string; key?: string; ca?: string };
  /**
   * An HTTP proxy (`http://[user:pass@]host:port`) every connection is tunnelled through with
   * CONNECT. The target's name is resolved and checked here, and the tunnel asks for the checked
   * address, so the proxy cannot be steered to an address the policy refuses.
   */
  proxy?: string;
}

const systemResolver: Resolver = (hostname, opts) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { family: opts.family ?? 0, hints: opts.hints, all: true }, (err, addresses) =>
      err ? reject(err) : resolve(addresses),
    );
  });

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for net.connect / tls.connect: resolves every address of `hostname` and fails with a
 * BlockedTargetError when any is forbidden. Answers in the shape node asked for (`all` or one).
 */
export function guardedLookup(policy: TargetPolicy, resolve: Resolver = systemResolver) {
  return function lookup(hostname: string, options: LookupOptions | number | LookupCallback, callback?: LookupCallback) {
    const cb = (typeof options === 'function' ? options : callback)!;
    const opts: LookupOptions = typeof options === 'object' ? options : { family: typeof options === 'number' ? options : 0 };
    const named = hostnameProblem(hostname);
    if (named) return process.nextTick(cb, new BlockedTargetError(hostname, named), '');
    resolve(hostname, { family: typeof opts.family === 'number' ? opts.family : 0, hints: opts.hints }).then(
      (addresses) => {
        if (addresses.length === 0) {
          const err: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
          err.code = 'ENOTFOUND';
          return cb(err, '');
        }
        for (const a of addresses) {
          const problem = addressProblem(a.address, policy);
          if (problem) return cb(new BlockedTargetError(hostname, `resolves to an address that ${problem}`), '');
        }
        if (opts.all) cb(null, addresses);
        else cb(null, addresses[0]!.address, addresses[0]!.family);
      },
      (err: NodeJS.ErrnoException) => cb(err, ''),
    );
  };
}

export function createDeliveryAgent(policy: TargetPolicy, opts: DeliveryAgentOptions = {}): Agent {
  const tls = opts.tls ? { ...(opts.tls.cert ? { cert: opts.tls.cert, key: opts.tls.key } : {}), ...(opts.tls.ca ? { ca: opts.tls.ca } : {}) } : {};
  if (opts.proxy) return proxiedAgent(policy, opts, tls);
  const connector = buildConnector({
    timeout: opts.connectTimeoutMs ?? 10_000,
    lookup: guardedLookup(policy, opts.resolve),
    ...tls,
  } as buildConnector.BuildOptions);

  const connect: buildConnector.connector = (options, callback) => {
    const host = options.hostname.replace(/^\[(.*)\]$/, '$1');
    if (isIP(host)) {
      const problem = addressProblem(host, policy);
      if (problem) {
        process.nextTick(callback, new BlockedTargetError(host, problem), null);
        return;
      }
    }
    connector(options, (err, socket) => {
      if (err || !socket) return callback(err ?? new Error('no socket'), null);
      const remote = (socket as Socket).remoteAddress;
      const problem = remote ? addressProblem(remote, policy) : 'has no remote address';
      if (problem) {
        socket.destroy();
        return callback(new BlockedTargetError(host, `connected to an address that ${problem}`), null);
      }
      callback(null, socket);
    });
  };

  return originAgent(opts, connect);
}

/**
 * An undici Agent whose per-origin dispatcher is an OriginPool (below) rather than undici's Pool:
 * at most `opts.connections` connections per origin (beyond `fastConnections` only to a slow
 * receiver), each closed after `keepAliveTimeoutMs` idle, opened with `connect` (the policy's
 * connector).
 */
function originAgent(opts: DeliveryAgentOptions, connect: buildConnector.connector): Agent {
  // 0: no cap, as undici's Pool reads it.
  const cap = opts.connections === 0 ? Infinity : (opts.connections ?? 64);
  const client: Client.Options = { keepAliveTimeout: opts.keepAliveTimeoutMs ?? 10_000, connect };
  const fast = Math.min(cap, opts.fastConnections ?? FAST_CONNECTIONS);
  return new Agent({ factory: (origin) => new OriginPool(origin, cap, fast, client) });
}

type Waiting = [Dispatcher.DispatchOptions, Dispatcher.DispatchHandler];

/**
 * Connections per origin that requests get as they need them. Beyond these, a request waits for
 * one to come free unless the receiver is slow (OriginPool.answered). Measured (session 29, bench
 * fan-out 10, 4 alternated pairs): 224 connections to one fast receiver cost ~12% more CPU per
 * delivery than 64 with the same attempts in flight (bench:send: 10-15% more on the send path
 * alone); 64 to one receiver carry 3,200+ answers/s at 20 ms each, and any rate at less.
 */
const FAST_CONNECTIONS = 64;
/** An answer this long (ms) or longer, not spent waiting on this process, is the receiver's slowness. */
const SLOW_ANSWER_MS = 20;
/**
 * Connections opened beyond FAST_CONNECTIONS close again, one at most this often (ms), once the
 * receiver is fast again (under a tenth of recent answers slow): a pool that grew in a slow spell
 * does not keep its extra connections busy forever with a backlog, and one that goes between slow
 * and fast does not close and reopen them every turn.
 */
const SHRINK_EVERY_MS = 10;

/** Answers read in this many turns of the loop or more (`turns`) were not waiting on a busy loop. */
const RECEIVER_TURNS = 5;

/** A moment a wait began: a request's hand-over, or requests starting to wait for a connection. */
interface Mark {
  /** performance.now(), ms. */
  since: number;
  /** `turns` then. */
  turn: number;
  /** The event loop's idle ms then (performance.nodeTiming.idleTime). */
  idle: number;
}

/** A client's state: free (on the stack), or since when it carries a request. */
interface Slot extends Mark {
  free: boolean;
}

/**
 * Turns of the event loop in which some connection came free: one setImmediate per such turn,
 * scheduled by the first answer of the turn (so an idle loop never spins).
 */
let turns = 0;
let turnCounted = false;
const countTurn = () => {
  turns++;
  turnCounted = false;
};

function mark(m: Mark) {
  m.since = performance.now();
  m.turn = turns;
  m.idle = performance.nodeTiming.idleTime;
}

function handOver(slot: Slot) {
  slot.free = false;
  mark(slot);
}

/**
 * Whether a wait that began at `m` and lasted until `now` was the receiver's, not this process's:
 * answers of other requests were read in RECEIVER_TURNS turns or more meanwhile (so nothing here
 * waited for a busy loop to come to it), or the loop sat idle for half the wait or more.
 */
function receiverKept(m: Mark, now: number): boolean {
  return turns - m.turn >= RECEIVER_TURNS || performance.nodeTiming.idleTime - m.idle >= (now - m.since) / 2;
}

/**
 * One origin's connections: undici Clients (one connection each, pipelining 1), the free ones on
 * a stack. undici's Pool finds a free connection by scanning its clients from the first: with
 * Herald's 64-256 in flight per origin that scan was ~5% of the main thread at fan-out 10
 * (session 17's profile). Here taking a free one is a pop; the most recently freed goes first,
 * so connections beyond what the load needs stay idle and close after the keep-alive timeout.
 *
 * How many: up to `fast` connections open as requests need them. Beyond, a request waits for a
 * connection to come free, unless most recent answers were the receiver's slowness (`answered`),
 * or no connection came free for SLOW_ANSWER_MS while requests waited (`unanswered`): then
 * waiting requests get new connections, up to `cap`. Once the receiver is fast again, the extra
 * connections close as they come free (SHRINK_EVERY_MS). A fast receiver is fed as well by
 * fewer connections, and each connection costs CPU per request here and at the receiver (more
 * sockets to poll, more parser and socket state to keep hot); a receiver that takes 20+ ms per
 * answer needs as many connections as the requests it should work on at once (Little's law:
 * 2,500 answers/s at 20 ms each is 50 connections).
 *
 * What Pool does and this keeps: a request with no free connection and the cap reached waits
 * (first come, first sent) for the next one freed; a client whose connection failed
 * (`connectionError`) is dropped and later requests get a new one; the clients' connect,
 * disconnect and connectionError events are re-emitted with this pool among the targets (the
 * Agent closes an origin's pool when its last connection went); close() waits for the waiting
 * requests to be sent and answered, destroy() fails them.
 */
class OriginPool extends Dispatcher {
  /** Every client, and whether it is free (on `free`) or since when it carries a request. */
  private readonly clients = new Map<Client, Slot>();
  /** The share of recent answers that were the receiver's slowness (`answered`), 0-1. */
  private slow = 0;
  /** performance.now() when a connection last came free, and when one beyond `fast` was last closed, ms. */
  private freedAt = 0;
  private shrunkAt = 0;
  /** While requests wait: a timer that looks whether any connection came free meanwhile (`unanswered`). */
  private watch: NodeJS.Timeout | null = null;
  private readonly watched: Mark = { since: 0, turn: 0, idle: 0 };
  private readonly free: Client[] = [];
  private readonly waiting: Waiting[] = [];
  /** The first not yet sent in `waiting` (shifted in place, compacted when it empties). */
  private head = 0;
  /** A dispatch returned false: 'drain' is emitted when one is free again (the Dispatcher contract). */
  private needDrain = false;
  private closing: Promise<void> | null = null;
  /** Resolves `closing` once no request waits. */
  private emptied: (() => void) | null = null;
  private gone = false;

  constructor(
    private readonly origin: string | URL,
    private readonly cap: number,
    private readonly fast: number,
    private readonly options: Client.Options,
  ) {
    super();
  }

  get destroyed(): boolean {
    return this.gone;
  }

  get closed(): boolean {
    return this.closing !== null;
  }

  dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    if (this.gone || this.closing) {
      handler.onError?.(this.gone ? new errors.ClientDestroyedError() : new errors.ClientClosedError());
      return false;
    }
    const client = this.take();
    if (!client) {
      this.waiting.push([opts, handler]);
      if (this.watch === null && this.clients.size < this.cap) this.watchWaiting();
      this.needDrain = true;
      return false;
    }
    if (client.dispatch(opts, handler)) this.release(client);
    return !(this.needDrain = this.free.length === 0 && this.clients.size >= this.cap);
  }

  /** A free client, or a new one while under the cap; null at the cap with none free. */
  private take(): Client | null {
    const client = this.free.pop();
    if (client) {
      handOver(this.clients.get(client)!);
      return client;
    }
    if (this.clients.size >= this.fast && !(this.slow > 0.5 && this.clients.size < this.cap)) return null;
    const made = new Client(this.origin, this.options);
    made
      .on('drain', () => this.drained(made))
      .on('connect', (origin, targets) => this.emit('connect', origin, [this, ...targets]))
      .on('disconnect', (origin, targets, err) => this.emit('disconnect', origin, [this, ...targets], err))
      .on('connectionError', (origin, targets, err) => {
        // Dropped, as Pool does (undici#3895): its queued requests have failed; a new client takes the next.
        this.drop(made);
        this.emit('connectionError', origin, [this, ...targets], err);
        this.sendWaiting();
      });
    const slot: Slot = { free: false, since: 0, turn: 0, idle: 0 };
    handOver(slot);
    this.clients.set(made, slot);
    return made;
  }

  private release(client: Client) {
    const slot = this.clients.get(client);
    if (slot && !slot.free) {
      slot.free = true;
      this.free.push(client);
    }
  }

  private drop(client: Client) {
    if (this.clients.get(client)?.free) this.free.splice(this.free.lastIndexOf(client), 1);
    this.clients.delete(client);
  }

  /** A client can take a request again: the oldest waiting one, else it is free. */
  private drained(client: Client) {
    const slot = this.clients.get(client);
    if (slot === undefined) return;
    if (!slot.free) {
      this.answered(slot);
      if (this.slow < 0.1 && this.clients.size > this.fast && this.freedAt - this.shrunkAt >= SHRINK_EVERY_MS) {
        // Grown for a receiver that is fast again: back towards `fast`, one connection at a time.
        this.shrunkAt = this.freedAt;
        this.drop(client);
        void client.close().catch(() => {});
        return;
      }
    }
    // Free already (its last dispatch said so) and requests wait: it takes them off the stack.
    else if (this.head < this.waiting.length) this.free.splice(this.free.lastIndexOf(client), 1);
    // More wait than this connection takes, and the receiver is what is slow: more connections.
    if (this.slow > 0.5 && this.head + 1 < this.waiting.length && this.clients.size < this.cap) this.sendWaiting(1);
    while (this.head < this.waiting.length) {
      const [opts, handler] = this.next();
      handOver(slot);
      if (!client.dispatch(opts, handler)) return;
    }
    this.release(client);
    if (this.needDrain) {
      this.needDrain = false;
      // Typed with the origin alone; Agent's listener reads the targets too (as Pool emits them).
      (this as EventEmitter).emit('drain', this.origin, [this]);
    }
  }

  /** Waiting requests onto new clients (room under the cap after a drop), but the last `keep`. */
  private sendWaiting(keep = 0) {
    while (this.head + keep < this.waiting.length) {
      const client = this.take();
      if (!client) return;
      const [opts, handler] = this.next();
      if (client.dispatch(opts, handler)) this.release(client);
    }
  }

  /**
   * A request's answer came (its connection is free again). It was the receiver's slowness when it
   * took SLOW_ANSWER_MS or longer and this process was not what kept it (receiverKept). A garbage
   * collection pause makes every answer in flight late, but they are read in the next turns.
   * undici frees a connection a turn or two after its answer, so an answer ready at once takes
   * 2-3 turns.
   * Measured (bench, 64 connections): to a fast receiver from a busy loop, answers take 2-10 ms
   * over 1-5 turns (fan-out lines, none counted slow); to the loop line's 20 ms receiver, 20-50 ms
   * over 3-10+ turns (most counted slow).
   */
  private answered(slot: Slot) {
    if (!turnCounted) {
      turnCounted = true;
      setImmediate(countTurn);
    }
    const now = performance.now();
    const took = now - slot.since;
    this.freedAt = now;
    const slow = took >= SLOW_ANSWER_MS && receiverKept(slot, now);
    // A moving share over about the last 64 answers: a burst of slow ones (connections opening
    // on a loaded machine) is not enough.
    this.slow += ((slow ? 1 : 0) - this.slow) / 64;
  }

  private watchWaiting() {
    mark(this.watched);
    this.watch = setTimeout(this.unanswered, SLOW_ANSWER_MS);
  }

  /**
   * Requests waited SLOW_ANSWER_MS and no connection came free meanwhile, this process not being
   * what kept the answers (as in `answered`): every connection is held by requests the receiver is
   * slow to answer, e.g. a webhook whose receiver hangs, on a host other webhooks share. Counts as
   * slow answers would, and the waiting requests get connections of their own (up to the cap)
   * rather than wait for those requests' deadlines.
   */
  private readonly unanswered = () => {
    this.watch = null;
    if (this.head === this.waiting.length || this.gone || this.clients.size >= this.cap) return;
    if (this.freedAt < this.watched.since && receiverKept(this.watched, performance.now())) {
      this.slow = 1;
      this.sendWaiting();
    }
    if (this.head < this.waiting.length && this.clients.size < this.cap) this.watchWaiting();
  };

  private next(): Waiting {
    const item = this.waiting[this.head]!;
    this.waiting[this.head++] = undefined as never;
    if (this.head === this.waiting.length) {
      this.waiting.length = 0;
      this.head = 0;
      this.emptied?.();
    }
    return item;
  }

  close(): Promise<void>;
  close(callback: () => void): void;
  close(callback?: () => void): Promise<void> | void {
    this.closing ??= new Promise<void>((resolve) => {
      if (this.head === this.waiting.length) resolve();
      else this.emptied = resolve;
    }).then(() => Promise.all([...this.clients.keys()].map((c) => c.close())).then(() => {}));
    if (!callback) return this.closing;
    void this.closing.then(callback, callback);
  }

  destroy(): Promise<void>;
  destroy(err: Error | null): Promise<void>;
  destroy(callback: () => void): void;
  destroy(err: Error | null, callback: () => void): void;
  destroy(a?: Error | null | (() => void), b?: () => void): Promise<void> | void {
    const callback = typeof a === 'function' ? a : b;
    const err = (typeof a === 'function' ? null : a) ?? new errors.ClientDestroyedError();
    this.gone = true;
    if (this.watch) clearTimeout(this.watch);
    while (this.head < this.waiting.length) this.next()[1].onError?.(err);
    const done = Promise.all([...this.clients.keys()].map((c) => c.destroy(err))).then(() => {});
    if (!callback) return done;
    void done.then(callback, callback);
  }
}

/**
 * The address a broker connection may use for `host`: an IP literal is checked as it is; a name is
 * resolved (every address checked, as `guardedLookup` does for HTTP) and its first address is
 * returned, so the client library connects to exactly the address that was judged (no second
 * lookup it could answer differently). Rejects with a BlockedTargetError or the resolver's error.
 */
export function resolveChecked(host: string, policy: TargetPolicy, resolve: Resolver = systemResolver): Promise<string> {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  if (isIP(bare)) {
    const problem = addressProblem(bare, policy);
    return problem ? Promise.reject(new BlockedTargetError(bare, problem)) : Promise.resolve(bare);
  }
  return new Promise((ok, fail) => {
    guardedLookup(policy, resolve)(bare, { all: true }, (err, addresses) => {
      if (err) return fail(err);
      ok((addresses as LookupAddress[])[0]!.address);
    });
  });
}

/** The egress proxy's answer to CONNECT was not 200. */
export class ProxyRefusedError extends Error {
  readonly code = 'HERALD_PROXY_REFUSED';
  constructor(status: number) {
    super(`the egress proxy answered ${status} to CONNECT`);
    this.name = 'ProxyRefusedError';
  }
}

/**
 * An agent whose connections are tunnels through `opts.proxy` (HTTP CONNECT). undici's ProxyAgent
 * is not used as it is: it asks the proxy for the target's *name*, which the proxy resolves itself,
 * so no address check could hold; and its TLS server name is one per agent. Here the name is
 * resolved and checked first (`resolveChecked`), the tunnel is opened to that address with
 * undici's own CONNECT (a Pool to the proxy), and TLS runs over the tunnel with the target's name
 * as server name (certificate checked against it). The proxy's own address is the operator's
 * choice and is not subject to the policy.
 */
function proxiedAgent(policy: TargetPolicy, opts: DeliveryAgentOptions, tls: Record<string, string>): Agent {
  const proxy = new URL(opts.proxy!);
  const headers: Record<string, string> = {};
  if (proxy.username || proxy.password) {
    headers['proxy-authorization'] = 'Basic ' + Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64');
  }
  const timeout = opts.connectTimeoutMs ?? 10_000;
  const tunnels = new Pool(proxy.origin, { connections: opts.connections ?? 64, connect: { timeout } });
  const overTunnel = buildConnector({ timeout, ...tls } as buildConnector.BuildOptions);

  const connect: buildConnector.connector = (options, callback) => {
    const host = options.hostname.replace(/^\[(.*)\]$/, '$1');
    const port = options.port || (options.protocol === 'https:' ? '443' : '80');
    void (async () => {
      const address = await resolveChecked(host, policy, opts.resolve);
      const authority = `${isIP(address) === 6 ? `[${address}]` : address}:${port}`;
      const { socket, statusCode } = await tunnels.connect({ path: authority, headers: { ...headers, host: authority }, signal: AbortSignal.timeout(timeout) });
      if (statusCode !== 200) {
        socket.destroy();
        throw new ProxyRefusedError(statusCode);
      }
      if (options.protocol !== 'https:') return callback(null, socket as Socket);
      // TLS to the target over the tunnel, its certificate checked against the target's name.
      overTunnel({ ...options, hostname: host, servername: options.servername || (isIP(host) ? undefined : host), httpSocket: socket } as never, callback);
    })().catch((err) => callback(err, null));
  };

  const agent = originAgent(opts, connect);
  companions.set(agent, tunnels);
  return agent;
}

/** Dispatchers an agent made for itself (the proxied agent's pool to the proxy), closed with it. */
const companions = new WeakMap<Agent, Pool>();

/** Closes (or, `force`, destroys) an agent made by createDeliveryAgent, with what it opened for itself. */
export async function closeDeliveryAgent(agent: Agent, force = false): Promise<void> {
  await (force ? agent.destroy() : agent.close());
  const extra = companions.get(agent);
  if (extra) await (force ? extra.destroy() : extra.close());
}
