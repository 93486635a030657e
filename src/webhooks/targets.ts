import { mask } from '../auth/secrets.ts';

/**
 * Destination kinds: a webhook's `target_url` scheme chooses where its deliveries go, and the URL's
 * query holds that kind's options. Pure parsing and presentation; the transports that send
 * (src/delivery/transports/) read what `parseTarget` returns, so the API's 422 and the sender agree.
 *
 *   http(s)://host/path                                        an HTTP POST (the default kind)
 *   amqp://user:pass@host:5672/vhost?exchange=X&routing_key=Y  RabbitMQ (AMQP 0-9-1), publisher confirms
 *   nats://user:pass@host:4222?subject=S                      NATS JetStream, an acknowledged publish
 *   redis://user:pass@host:6379/0?stream=KEY&maxlen=N         Redis Streams, XADD (MAXLEN ~ N when given)
 *
 * Credentials in a broker URL are secrets: the password (or a NATS token, written as the user part
 * alone) is shown masked (`presentTargetUrl`) and stays with its origin (scheme, host, port), as a
 * basic auth password does.
 */

export type TargetKind = 'http' | 'amqp' | 'nats' | 'redis';

/** Connection part every broker kind shares. `host` is normalised (as an http URL's would be). */
export interface BrokerAddress {
  host: string;
  port: number;
  /** Decoded; '' when absent. */
  username: string;
  /** Decoded; '' when absent. For NATS a user part without a password is a token (see `token`). */
  password: string;
}

export interface AmqpTarget extends BrokerAddress {
  kind: 'amqp';
  /** Virtual host; `/` when the URL has no path (RabbitMQ's default). */
  vhost: string;
  /** Exchange to publish to; '' is the default exchange (routing key = queue name). */
  exchange: string;
  routing_key: string;
}

export interface NatsTarget extends BrokerAddress {
  kind: 'nats';
  /** A token (nats://TOKEN@host), when the user part has no password. */
  token: string;
  subject: string;
}

export interface RedisTarget extends BrokerAddress {
  kind: 'redis';
  /** Database number (the URL's path), default 0. */
  db: number;
  stream: string;
  /** Approximate cap on the stream's length (XADD MAXLEN ~), null: no trimming. */
  maxlen: number | null;
}

export interface HttpTarget {
  kind: 'http';
}

export type Target = HttpTarget | AmqpTarget | NatsTarget | RedisTarget;

/** Default port of each broker scheme. */
export const DEFAULT_PORTS = { amqp: 5672, nats: 4222, redis: 6379 } as const;

/** Options each kind reads from the query; anything else is refused naming it. */
export const KIND_OPTIONS = {
  amqp: ['exchange', 'routing_key'],
  nats: ['subject'],
  redis: ['stream', 'maxlen'],
} as const;

export const BROKER_SCHEMES = ['amqp:', 'nats:', 'redis:'] as const;

/** The kind of a URL by its scheme, or null for a scheme Herald has no transport for. */
export function kindOf(url: string): TargetKind | null {
  // Every delivery asks: the common case without a regular expression.
  if (url.startsWith('https://') || url.startsWith('http://')) return 'http';
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'http' || scheme === 'https') return 'http';
  if (scheme === 'amqp' || scheme === 'nats' || scheme === 'redis') return scheme;
  return null;
}

/** Longest exchange, routing key, subject or stream name, bytes (AMQP's shortstr limit). */
const MAX_NAME_BYTES = 255;

/**
 * A broker URL parsed into its target, or the problem with it worded to complete
 * "target_url ..." (e.g. `has an unknown option "foo" for amqp (known: exchange, routing_key)`).
 * Problems never quote the URL's credentials. An http(s) URL parses to `{ kind: 'http' }`; the
 * address policy (src/net/target.ts) checks hosts of every kind.
 */
export function parseTarget(url: string): Target | { problem: string } {
  const kind = kindOf(url);
  if (kind === null) return { problem: 'must use http, https, amqp, nats or redis' };
  if (kind === 'http') return { kind };
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { problem: 'is not a valid URL' };
  }
  if (u.hash) return { problem: `must not have a fragment (#...) for ${kind}` };
  const host = brokerHost(u);
  if (host === null) return { problem: 'has no valid host' };
  if (u.port === '0') return { problem: 'has an invalid port (0)' };
  let username: string;
  let password: string;
  try {
    username = decodeURIComponent(u.username);
    password = decodeURIComponent(u.password);
  } catch {
    return { problem: 'has credentials that are not valid percent-encoding' };
  }
  const address: BrokerAddress = { host, port: u.port ? Number(u.port) : DEFAULT_PORTS[kind], username, password };

  // Options: each known at most once, none unknown.
  const known: readonly string[] = KIND_OPTIONS[kind];
  const unknown = [...new Set([...u.searchParams.keys()].filter((k) => !known.includes(k)))];
  if (unknown.length) {
    const names = unknown.map((k) => JSON.stringify(k)).join(', ');
    return { problem: `has ${unknown.length === 1 ? 'an unknown option' : 'unknown options'} ${names} for ${kind} (known: ${known.join(', ')})` };
  }
  for (const k of known) if (u.searchParams.getAll(k).length > 1) return { problem: `repeats the option "${k}"` };
  const opt = (k: string) => u.searchParams.get(k);

  if (kind === 'amqp') {
    let vhost = '/';
    if (u.pathname && u.pathname !== '/') {
      if (u.pathname.indexOf('/', 1) !== -1) return { problem: 'has a path of more than one segment (the path is the vhost; write / inside it as %2F)' };
      try {
        vhost = decodeURIComponent(u.pathname.slice(1));
      } catch {
        return { problem: 'has a vhost that is not valid percent-encoding' };
      }
    }
    const exchange = opt('exchange') ?? '';
    const routing_key = opt('routing_key') ?? '';
    if (exchange === '' && routing_key === '') return { problem: 'needs exchange or routing_key for amqp (the default exchange routes by routing_key, the queue name)' };
    if (exchange && !/^[A-Za-z0-9_.:-]+$/.test(exchange)) return { problem: 'has an exchange name with characters other than letters, digits, -, _, . and :' };
    for (const [k, v] of [['exchange', exchange], ['routing_key', routing_key]] as const) {
      if (Buffer.byteLength(v) > MAX_NAME_BYTES) return { problem: `has a ${k} longer than ${MAX_NAME_BYTES} bytes` };
    }
    return { kind, ...address, vhost, exchange, routing_key };
  }
  if (kind === 'nats') {
    if (u.pathname && u.pathname !== '/') return { problem: 'must have no path for nats (the subject is the option subject)' };
    const subject = opt('subject') ?? '';
    if (subject === '') return { problem: 'needs the option subject for nats (e.g. ?subject=herald.events)' };
    if (Buffer.byteLength(subject) > MAX_NAME_BYTES) return { problem: `has a subject longer than ${MAX_NAME_BYTES} bytes` };
    // Published subjects are dot-separated tokens without spaces; * and > are subscription wildcards.
    if (!/^[^\s.*>]+(\.[^\s.*>]+)*$/.test(subject)) return { problem: 'has a subject that is not dot-separated tokens without spaces or wildcards (* >)' };
    const token = address.password === '' ? address.username : '';
    return { kind, ...address, username: token ? '' : address.username, token, subject };
  }
  // redis
  let db = 0;
  if (u.pathname && u.pathname !== '/') {
    if (!/^\/\d{1,5}$/.test(u.pathname)) return { problem: 'must have a database number as its path for redis (e.g. redis://host:6379/0)' };
    db = Number(u.pathname.slice(1));
  }
  const stream = opt('stream') ?? '';
  if (stream === '') return { problem: 'needs the option stream for redis (e.g. ?stream=herald:events)' };
  if (Buffer.byteLength(stream) > MAX_NAME_BYTES) return { problem: `has a stream name longer than ${MAX_NAME_BYTES} bytes` };
  let maxlen: number | null = null;
  const m = opt('maxlen');
  if (m !== null) {
    if (!/^[1-9]\d{0,11}$/.test(m)) return { problem: 'has a maxlen that is not a positive whole number' };
    maxlen = Number(m);
  }
  return { kind, ...address, db, stream, maxlen };
}

/**
 * The host of a broker URL as an http URL would normalise it: a non-special scheme keeps its host
 * as written ("opaque"), so `amqp://0x7f.1/` would otherwise escape the address policy's literal
 * check. Null when it is not a valid host. IPv6 literals come back without brackets.
 */
function brokerHost(u: URL): string | null {
  if (!u.host) return null;
  try {
    const h = new URL(`http://${u.host}`).hostname;
    return h === '' ? null : h.replace(/^\[(.*)\]$/, '$1');
  } catch {
    return null;
  }
}

/** The secret a target URL carries in its user part (a password, or a NATS token), '' when none. */
export function urlSecret(url: string): string {
  const kind = kindOf(url);
  if (kind === null || kind === 'http') return '';
  const t = parseTarget(url);
  if ('problem' in t || t.kind === 'http') return '';
  return t.kind === 'nats' && t.token ? t.token : t.password;
}

/**
 * A target URL as the API, the activity log and every message show it: a broker URL's password
 * (or NATS token) replaced by its mask (`****` and at most its last 4 characters). Other URLs come
 * back unchanged (http(s) targets may not carry credentials at all).
 */
export function presentTargetUrl(url: string): string {
  const secret = urlSecret(url);
  if (!secret) return url;
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^@/?#]*)@(.*)$/is.exec(url);
  if (!m) return url;
  const [, scheme, userinfo, rest] = m;
  const colon = userinfo!.indexOf(':');
  const shown = encodeURIComponent(mask(secret) ?? '').replace(/%2A/g, '*');
  return colon === -1 ? `${scheme}${shown}@${rest}` : `${scheme}${userinfo!.slice(0, colon)}:${shown}@${rest}`;
}

/**
 * `url` with its secret replaced by `secret` (as written in a URL: percent-encoded). Used to carry
 * a stored password into a URL sent back masked.
 */
export function withUrlSecret(url: string, secret: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^@/?#]*)@(.*)$/is.exec(url);
  if (!m) return url;
  const [, scheme, userinfo, rest] = m;
  const colon = userinfo!.indexOf(':');
  const enc = encodeURIComponent(secret);
  return colon === -1 ? `${scheme}${enc}@${rest}` : `${scheme}${userinfo!.slice(0, colon)}:${enc}@${rest}`;
}

/**
 * A URL's origin as secrets are bound to it: scheme, host and port (the default port spelled out).
 * WHATWG's `origin` is "null" for non-special schemes (amqp:, nats:, redis:), so it cannot be used
 * for them. The URL itself when unreadable.
 */
export function targetOrigin(url: string): string {
  try {
    const u = new URL(url);
    const kind = kindOf(url);
    if (kind === 'http') return u.origin;
    const t = parseTarget(url);
    if (!('problem' in t) && t.kind !== 'http') return `${t.kind}://${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}`;
    return `${u.protocol}//${u.host}`;
  } catch {
    return url;
  }
}
