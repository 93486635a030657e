import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { HeraldError } from './errors.ts';
import { checkAllowList } from './net/target.ts';
import { SEMI_SPACE_MAX_MB, SEMI_SPACE_MB } from './ops/launch.js';

/**
 * Every setting of `herald serve`. Each one can be given as a command-line flag, an environment
 * variable, or a key of a JSON config file (`--config herald.json` / HERALD_CONFIG), with ONE
 * precedence order: flag > environment > config file > default. Every value is checked at start; a
 * bad one stops Herald (exit code 2) with a message naming the setting and where it came from.
 *
 * SETTINGS below is the single table: `herald serve --help` and the README's settings table are
 * generated from it (test/ops/config.test.ts checks the README).
 */
export interface Config {
  host: string;
  /** TCP port; 0 picks a free one (tests). */
  port: number;
  dataDir: string;
  /**
   * PostgreSQL connection URL (`postgres://user:pass@host:5432/db`); when set, everything but
   * asset files lives there and several Herald processes can share it. Unset: SQLite under
   * `dataDir`. Holds a password: never log it (see `describeDatabaseUrl`).
   */
  databaseUrl?: string;
  /** Pooled PostgreSQL connections per process (each process also keeps one for LISTEN). */
  databasePoolSize: number;
  /**
   * What this process does: `api` serves HTTP and records events and executions; `worker` delivers
   * them (and answers only /healthz); `all` does both. `api` and `worker` need `databaseUrl`.
   */
  role: Role;
  /** Admin token given by the operator; when unset one is generated on first start. */
  adminToken?: string;
  /** Delays between attempts, ms: the default is the seed's "again after one minute, five attempts in all". */
  retryDelaysMs: number[];
  /** Per-attempt total deadline, ms (headers and body). */
  deliveryTimeoutMs: number;
  /**
   * How long a claim outlives its attempt's deadline, ms: a process that dies holding work gives it
   * up `deliveryTimeoutMs + leaseMarginMs` after claiming it (another worker, or this one restarted
   * on PostgreSQL, sends it again). Shorter: faster take-over; too short: a slow group commit lets a
   * live claim expire and the call is sent twice.
   */
  leaseMarginMs: number;
  /** CIDRs an operator allows as webhook targets despite being private (development, tests). */
  allowPrivateTargets: string[];
  /**
   * An HTTP proxy (`http://[user:pass@]host:port`) every outbound HTTP delivery (and OAuth token
   * request) is tunnelled through with CONNECT, so receivers can allow-list its fixed addresses.
   * The address policy still applies to each final target. May hold a password: never logged.
   */
  egressProxy?: string;
  /** Consecutive failed executions that disable a webhook (circuit breaker). */
  circuitBreakerThreshold: number;
  /**
   * Half-open probe of a webhook the circuit breaker disabled: the first wait before one of its
   * parked executions is tried, ms (default 1 min), doubling after each failed probe up to
   * `probeMaxDelayMs` (1 h). 0 turns probing off (re-enable by hand only).
   */
  probeDelayMs: number;
  probeMaxDelayMs: number;
  /**
   * SMTP server for email to webhooks' notifiers (`smtp://user:pass@host:587`, `smtps://...`;
   * `?from=` sets the sender). Unset: no email is sent. Holds a password: never logged.
   */
  smtpUrl?: string;
  /** Auto-save coalescing window per entity and webhook, ms (Contentful: 20 s "active"). */
  autoSaveWindowMs: number;
  /** In-flight attempts at once, across all webhooks. */
  maxInFlight: number;
  /** In-flight attempts at once for one webhook, so a slow endpoint holds only its own slots. */
  maxInFlightPerWebhook: number;
  /**
   * Worker threads that send HTTP(S) deliveries (connect, write, read and log the response), so
   * the thread that owns the store only claims and records: 0 sends them all from that thread.
   * Attempts with OAuth or a client certificate, and all of them with an egress proxy, stay there.
   */
  senderThreads: number;
  /**
   * Attempts per second at which the sender threads start (a thread costs ~0.35 s of CPU to start
   * and pays for itself after a few thousand attempts): a Herald that delivers now and then sends
   * from the store's thread and never starts them. 0: with the first attempt.
   */
  senderThreadsStartRate: number;
  /**
   * Percent of the store's thread's time busy (its event loop's utilization) above which the
   * started sender threads take the HTTP attempts; until then, and again once that thread and
   * theirs together are less busy, attempts are sent from the store's thread. 0: the threads take
   * every attempt. A thread helps only while the store's thread is what limits the rate.
   */
  senderThreadsBusy: number;
  /** Executions and their attempt logs, and replaced or deleted asset files, are pruned after this many days. */
  logRetentionDays: number;
  /** Largest JSON request body, bytes. */
  bodyLimit: number;
  /** Largest asset upload, bytes. */
  assetLimit: number;
  /**
   * Largest body a Contentful transformation may render, bytes (default 1 MiB): a template of
   * pointers to the payload can multiply it; past this the attempt fails and nothing is sent.
   */
  maxRenderedBody: number;
  /**
   * Management API requests one caller may make per `rateWindowMs` (keyed by token, or by IP
   * address when a request carries none); more get 429 with Retry-After. 0 turns the limit off.
   */
  rateLimit: number;
  /** The rate limit's window, ms. */
  rateWindowMs: number;
  logLevel: string;
  /** `json` (one JSON object a line), `pretty` (for a terminal), or `auto`: pretty when stdout is a TTY. */
  logFormat: LogFormat;
  /** Bearer token that GET /metrics requires; unset: the endpoint is open. */
  metricsToken?: string;
  /** On SIGTERM/SIGINT, how long in-flight requests and attempts may take to finish, ms. */
  shutdownGraceMs: number;
  /**
   * Each of the young generation's two semi-spaces, MiB (V8's --max-semi-space-size; default
   * SEMI_SPACE_MB, src/ops/launch.js). Applied by the `herald` command, which starts node with it;
   * 0 leaves it to V8 (16 on 64-bit), and so does a size given to node itself.
   */
  semiSpaceMb: number;
  /**
   * GET /readyz reports the dispatcher stuck when due work has waited this long (ms) while the
   * dispatcher had free slots and completed no claim round in that time.
   */
  stuckAfterMs: number;
  /** PEM certificate chain file; with `tlsKey`, Herald serves HTTPS instead of HTTP. */
  tlsCert?: string;
  /** PEM private key file of `tlsCert`. */
  tlsKey?: string;
  /**
   * The origin clients reach Herald at (`https://cms.example.com`), written into asset URLs and
   * links. Unset: the origin each request came in on (scheme and Host, see `trustProxy`).
   */
  publicUrl?: string;
  /**
   * Whose `X-Forwarded-Proto`/`-Host`/`-For` headers to believe: `false` (nobody: a client could
   * claim any origin), `true` (every hop: only when Herald is reachable through the proxy alone),
   * or the proxies' addresses/CIDRs.
   */
  trustProxy: boolean | string[];
}

/** Sender threads by default: the store's thread keeps a core, the others send (none on one core); more than 4 never measured. */
const AUTO_SENDER_THREADS = Math.max(0, Math.min(4, availableParallelism() - 1));

export const ROLES = ['api', 'worker', 'all'] as const;
export type Role = (typeof ROLES)[number];
export const LOG_FORMATS = ['json', 'pretty', 'auto'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Where a setting's value came from; the message of a bad value names it. */
export type Source = 'flag' | 'env' | 'file' | 'default';

/** One row of the settings table. */
export interface Setting<V> {
  /** Environment variable; the flag is derived from it (HERALD_DATA_DIR -> --data-dir). */
  env: string;
  /** Placeholder of the flag's value in --help (`--port <port>`). */
  arg: string;
  /** What it does, for --help and the README. */
  help: string;
  default: V;
  /** How the default reads in --help and the README (a value the parser accepts, or prose when unset). */
  shown: string;
  /** When set, the flag may be given without a value and then means this text (`--trust-proxy` = `true`). */
  bare?: string;
  /** Parses text (flag, environment, file) into the value; `where` names the source in errors. */
  parse(text: string, where: string): V;
}

/** Parses `500ms`, `20s`, `1m`, `2h`, `1d`, or a bare number of milliseconds. */
export function parseDuration(text: string, setting: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!m) throw configError(setting, `"${text}" is not a duration (e.g. 500ms, 20s, 1m, 2h)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 'ms') as 'ms'];
  return Math.round(Number(m[1]) * unit);
}

/** A duration in the largest unit that divides it: 60000 -> `1m`, 1500 -> `1500ms`. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

function configError(setting: string, problem: string) {
  return new HeraldError('validation_failed', `Invalid setting ${setting}: ${problem}`, {
    errors: { [setting]: [problem] },
  });
}

function int(text: string, setting: string, min: number, max: number): number {
  const n = text.trim() === '' ? NaN : Number(text);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw configError(setting, `"${text}" must be a whole number from ${min} to ${max}`);
  }
  return n;
}

function duration(text: string, setting: string, minMs: number, maxMs: number): number {
  const ms = parseDuration(text, setting);
  if (ms < minMs || ms > maxMs) throw configError(setting, `"${text}" must be from ${formatDuration(minMs)} to ${formatDuration(maxMs)}`);
  return ms;
}

function oneOf<T extends string>(choices: readonly T[], what: string) {
  return (t: string, s: string): T => {
    if (!(choices as readonly string[]).includes(t)) throw configError(s, `"${t}" is not ${what} (${choices.join(', ')})`);
    return t as T;
  };
}

function secretText(t: string, s: string): string {
  // The value itself is never echoed: it is a secret.
  if (t.length < 16) throw configError(s, 'must be at least 16 characters');
  return t;
}

const DAY_MS = 86_400_000;

/**
 * The settings table, in the order --help and the README list them. Units: `...Ms` settings are
 * milliseconds inside Herald and read as durations (`500ms`, `20s`, `1m`, `2h`) outside.
 */
export const SETTINGS: { [K in keyof Config]-?: Setting<Config[K]> } = {
  host: { env: 'HERALD_HOST', arg: 'address', help: 'address to listen on', default: '127.0.0.1', shown: '127.0.0.1', parse: (t) => t },
  port: { env: 'HERALD_PORT', arg: 'port', help: 'port to listen on (0 picks a free one)', default: 4100, shown: '4100', parse: (t, s) => int(t, s, 0, 65535) },
  dataDir: {
    env: 'HERALD_DATA_DIR',
    arg: 'dir',
    help: 'where the SQLite store (herald.db) and asset files live',
    default: './data',
    shown: './data',
    parse: (t, s) => {
      if (t.trim() === '') throw configError(s, 'must not be empty');
      return t;
    },
  },
  databaseUrl: {
    env: 'HERALD_DATABASE_URL',
    arg: 'url',
    help: 'keep everything but asset files in PostgreSQL instead of SQLite, e.g. postgres://user:pass@host:5432/herald',
    default: undefined,
    shown: 'unset (SQLite)',
    parse: (t, s) => {
      let u: URL;
      try {
        u = new URL(t);
      } catch {
        throw configError(s, 'is not a URL (expected postgres://user@host:5432/database)');
      }
      if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
        throw configError(s, `must be a postgres:// URL, not ${u.protocol}//`);
      }
      return t;
    },
  },
  databasePoolSize: {
    env: 'HERALD_DATABASE_POOL_SIZE',
    arg: 'n',
    help: 'pooled PostgreSQL connections per process (plus one for LISTEN)',
    default: 10,
    shown: '10',
    parse: (t, s) => int(t, s, 1, 1000),
  },
  role: {
    env: 'HERALD_ROLE',
    arg: 'role',
    help: 'api (HTTP only), worker (delivery only) or all; api and worker need a database URL',
    default: 'all',
    shown: 'all',
    parse: oneOf(ROLES, 'a role'),
  },
  adminToken: {
    env: 'HERALD_ADMIN_TOKEN',
    arg: 'token',
    help: 'admin token, at least 16 characters (prefer the environment: flags show in the process list)',
    default: undefined,
    shown: 'generated on first start',
    parse: secretText,
  },
  retryDelaysMs: {
    env: 'HERALD_RETRY_DELAYS',
    arg: 'delays',
    help: 'delays between delivery attempts, comma-separated (4 delays: 5 attempts in all)',
    default: [60_000, 60_000, 60_000, 60_000],
    shown: '1m,1m,1m,1m',
    parse: (t, s) => (t.trim() === '' ? [] : t.split(',').map((part) => duration(part, s, 0, 7 * DAY_MS))),
  },
  deliveryTimeoutMs: {
    env: 'HERALD_DELIVERY_TIMEOUT',
    arg: 'duration',
    help: 'total deadline of one delivery attempt (headers and body)',
    default: 30_000,
    shown: '30s',
    parse: (t, s) => duration(t, s, 1, DAY_MS),
  },
  leaseMarginMs: {
    env: 'HERALD_LEASE_MARGIN',
    arg: 'duration',
    help: "how long a claim outlives its attempt's deadline: work held by a process that died is sent again after the delivery timeout plus this",
    default: 30_000,
    shown: '30s',
    parse: (t, s) => duration(t, s, 1_000, DAY_MS),
  },
  allowPrivateTargets: {
    env: 'HERALD_ALLOW_PRIVATE_TARGETS',
    arg: 'cidrs',
    help: 'CIDRs allowed as webhook targets despite being private, e.g. 127.0.0.0/8,::1/128 (cloud metadata stays refused)',
    default: [],
    shown: 'empty',
    parse: (t, s) => checkAllowList(t.split(','), s),
  },
  egressProxy: {
    env: 'HERALD_EGRESS_PROXY',
    arg: 'url',
    help: 'an HTTP proxy every outbound HTTP delivery goes through (CONNECT), e.g. http://proxy.internal:3128; the private-address check still applies to each target',
    default: undefined,
    shown: 'unset (direct)',
    parse: parseEgressProxy,
  },
  circuitBreakerThreshold: {
    env: 'HERALD_CIRCUIT_BREAKER_THRESHOLD',
    arg: 'n',
    help: 'consecutive failed executions that disable a webhook (0: never)',
    default: 10,
    shown: '10',
    parse: (t, s) => int(t, s, 0, 1_000_000),
  },
  probeDelayMs: {
    env: 'HERALD_PROBE_DELAY',
    arg: 'duration',
    help: 'a webhook the circuit breaker disabled is probed with one waiting delivery after this long, doubling after each failed probe (0: no probes)',
    default: 60_000,
    shown: '1m',
    parse: (t, s) => duration(t, s, 0, 7 * DAY_MS),
  },
  probeMaxDelayMs: {
    env: 'HERALD_PROBE_MAX_DELAY',
    arg: 'duration',
    help: 'longest wait between two probes of a disabled webhook',
    default: 3_600_000,
    shown: '1h',
    parse: (t, s) => duration(t, s, 1, 7 * DAY_MS),
  },
  smtpUrl: {
    env: 'HERALD_SMTP_URL',
    arg: 'url',
    help: "SMTP server for email to a webhook's notifiers when Herald disables it, e.g. smtp://user:pass@mail.example.com:587?from=herald@example.com",
    default: undefined,
    shown: 'unset (no email)',
    parse: (t, s) => {
      const problem = smtpUrlProblem(t);
      // The value is not echoed: it may hold a password.
      if (problem) throw configError(s, problem);
      return t;
    },
  },
  autoSaveWindowMs: {
    env: 'HERALD_AUTO_SAVE_WINDOW',
    arg: 'duration',
    help: 'at most one auto_save call per entity and webhook in this window',
    default: 20_000,
    shown: '20s',
    parse: (t, s) => duration(t, s, 0, DAY_MS),
  },
  maxInFlight: { env: 'HERALD_MAX_IN_FLIGHT', arg: 'n', help: 'delivery attempts in flight at once', default: 256, shown: '256', parse: (t, s) => int(t, s, 1, 100_000) },
  maxInFlightPerWebhook: {
    env: 'HERALD_MAX_IN_FLIGHT_PER_WEBHOOK',
    arg: 'n',
    help: 'most delivery attempts in flight at once for one webhook (each adapts below it)',
    default: 128,
    shown: '128',
    parse: (t, s) => int(t, s, 1, 10_000),
  },
  senderThreads: {
    env: 'HERALD_SENDER_THREADS',
    arg: 'n',
    help: 'threads that send HTTP deliveries beside the one that owns the store; 0 sends from that one; auto: one fewer than the cores, at most 4',
    default: 0,
    shown: '0',
    parse: (t, s) => (t === 'auto' ? AUTO_SENDER_THREADS : int(t, s, 0, 64)),
  },
  senderThreadsStartRate: {
    env: 'HERALD_SENDER_THREADS_START_RATE',
    arg: 'n',
    help: 'HTTP attempts per second at which the sender threads start; 0 starts them with the first attempt',
    default: 500,
    shown: '500',
    parse: (t, s) => int(t, s, 0, 1_000_000),
  },
  senderThreadsBusy: {
    env: 'HERALD_SENDER_THREADS_BUSY',
    arg: 'percent',
    help: "percent of the store's thread's time busy above which the started sender threads take HTTP attempts; below it they are sent from that thread; 0: the threads take every attempt",
    default: 90,
    shown: '90',
    parse: (t, s) => int(t, s, 0, 100),
  },
  logRetentionDays: {
    env: 'HERALD_LOG_RETENTION_DAYS',
    arg: 'days',
    help: 'finished executions and their attempt logs, and replaced or deleted asset files, are pruned after this many days',
    default: 30,
    shown: '30',
    parse: (t, s) => int(t, s, 1, 36_500),
  },
  bodyLimit: { env: 'HERALD_BODY_LIMIT', arg: 'bytes', help: 'largest JSON request body, bytes', default: 1024 * 1024, shown: '1048576', parse: (t, s) => int(t, s, 1024, 1024 ** 3) },
  assetLimit: { env: 'HERALD_ASSET_LIMIT', arg: 'bytes', help: 'largest asset upload, bytes', default: 50 * 1024 * 1024, shown: '52428800', parse: (t, s) => int(t, s, 1024, 1024 ** 4) },
  maxRenderedBody: {
    env: 'HERALD_MAX_RENDERED_BODY',
    arg: 'bytes',
    help: 'largest body a Contentful transformation may render, bytes; a bigger render fails the attempt and sends nothing',
    default: 1024 * 1024,
    shown: '1048576',
    parse: (t, s) => int(t, s, 1024, 1024 ** 3),
  },
  rateLimit: {
    env: 'HERALD_RATE_LIMIT',
    arg: 'n',
    help: 'API requests per caller (token, or IP address without one) per window; more get 429 with Retry-After; 0 turns it off',
    // 100 requests/s per caller on average, bursts up to 1000: far above what an editor or a sync
    // script needs (Contentstack allows 10/s), low enough that one client cannot starve the rest.
    default: 1000,
    shown: '1000',
    parse: (t, s) => int(t, s, 0, 1_000_000_000),
  },
  rateWindowMs: { env: 'HERALD_RATE_WINDOW', arg: 'duration', help: "the rate limit's window", default: 10_000, shown: '10s', parse: (t, s) => duration(t, s, 1, DAY_MS) },
  logLevel: { env: 'HERALD_LOG_LEVEL', arg: 'level', help: `log level: ${LOG_LEVELS.join(', ')}`, default: 'info', shown: 'info', parse: oneOf(LOG_LEVELS, 'a log level') },
  logFormat: {
    env: 'HERALD_LOG_FORMAT',
    arg: 'format',
    help: 'json (one object a line), pretty (for reading), or auto: pretty when stdout is a terminal',
    default: 'auto',
    shown: 'auto',
    parse: oneOf(LOG_FORMATS, 'a log format'),
  },
  metricsToken: {
    env: 'HERALD_METRICS_TOKEN',
    arg: 'token',
    help: 'bearer token GET /metrics requires, at least 16 characters; unset: the endpoint is open',
    default: undefined,
    shown: 'unset (open)',
    parse: secretText,
  },
  shutdownGraceMs: {
    env: 'HERALD_SHUTDOWN_GRACE',
    arg: 'duration',
    help: 'on SIGTERM/SIGINT, how long in-flight requests and delivery attempts may take to finish',
    default: 10_000,
    shown: '10s',
    parse: (t, s) => duration(t, s, 0, 3_600_000),
  },
  semiSpaceMb: {
    env: 'HERALD_SEMI_SPACE_MB',
    arg: 'MiB',
    help: "each of V8's two young-generation semi-spaces (the herald command starts node with it); 0, or --max-semi-space-size given to node: V8's own (16)",
    default: SEMI_SPACE_MB,
    shown: String(SEMI_SPACE_MB),
    parse: (t, s) => int(t, s, 0, SEMI_SPACE_MAX_MB),
  },
  stuckAfterMs: {
    env: 'HERALD_STUCK_AFTER',
    arg: 'duration',
    help: 'GET /readyz fails when due deliveries waited this long while the dispatcher had free slots and finished no round',
    default: 60_000,
    shown: '1m',
    parse: (t, s) => duration(t, s, 1000, DAY_MS),
  },
  tlsCert: {
    env: 'HERALD_TLS_CERT',
    arg: 'file',
    help: 'PEM certificate (chain) file: with --tls-key, serve HTTPS instead of HTTP',
    default: undefined,
    shown: 'unset (HTTP)',
    parse: nonEmpty,
  },
  tlsKey: { env: 'HERALD_TLS_KEY', arg: 'file', help: 'PEM private key file of --tls-cert', default: undefined, shown: 'unset', parse: nonEmpty },
  publicUrl: {
    env: 'HERALD_PUBLIC_URL',
    arg: 'url',
    help: 'the origin clients reach Herald at, e.g. https://cms.example.com, written into asset URLs and links; unset: the origin of each request',
    default: undefined,
    shown: 'unset (per request)',
    parse: parsePublicUrl,
  },
  trustProxy: {
    env: 'HERALD_TRUST_PROXY',
    arg: 'proxies',
    help: 'believe X-Forwarded-Proto/-Host/-For from: true (any hop; only when clients reach Herald through the proxy alone), false, or the proxies\' addresses/CIDRs, comma-separated',
    default: false,
    shown: 'false',
    bare: 'true',
    parse: parseTrustProxy,
  },
};

function nonEmpty(t: string, s: string): string {
  if (t.trim() === '') throw configError(s, 'must not be empty');
  return t;
}

/** An http(s) origin without path, query or credentials; kept without a trailing slash. */
function parsePublicUrl(t: string, s: string): string {
  let u: URL;
  try {
    u = new URL(t);
  } catch {
    throw configError(s, `"${t}" is not a URL (expected e.g. https://cms.example.com)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw configError(s, `must be an http or https URL, not ${u.protocol}//`);
  if (u.username || u.password) throw configError(s, 'must not carry credentials');
  if ((u.pathname !== '/' && u.pathname !== '') || u.search || u.hash) throw configError(s, 'must be an origin only (scheme, host and port), without a path, query or fragment');
  return u.origin;
}

/** An http:// proxy URL: scheme, host, port and optional credentials only. */
function parseEgressProxy(t: string, s: string): string {
  let u: URL;
  try {
    u = new URL(t);
  } catch {
    throw configError(s, 'is not a URL (expected e.g. http://proxy.internal:3128)');
  }
  if (u.protocol !== 'http:') throw configError(s, `must be an http:// proxy URL, not ${u.protocol}//`);
  if ((u.pathname !== '/' && u.pathname !== '') || u.search || u.hash) throw configError(s, 'must be the proxy\'s address only (scheme, host, port), without a path, query or fragment');
  return t;
}

/** `true`/`false` (also as a bare flag: true), or comma-separated addresses/CIDRs of the proxies. */
function parseTrustProxy(t: string, s: string): boolean | string[] {
  const v = t.trim().toLowerCase();
  if (v === 'true' || v === '1' || v === 'yes') return true;
  if (v === 'false' || v === '0' || v === 'no' || v === '') return false;
  const list = t.split(',').map((p) => p.trim()).filter(Boolean);
  for (const entry of list) {
    const [addr, bits, extra] = entry.split('/');
    const ok = isIP(addr) !== 0 && extra === undefined && (bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= (isIP(addr) === 4 ? 32 : 128)));
    if (!ok) throw configError(s, `"${entry}" is not true, false, an IP address or a CIDR`);
  }
  return list;
}

export const SETTING_KEYS = Object.keys(SETTINGS) as Array<keyof Config>;

/** The config file: `--config <file>` or this environment variable (a flag wins). */
export const CONFIG_ENV = 'HERALD_CONFIG';

/** A setting's flag, derived from its environment variable: HERALD_DATA_DIR -> `--data-dir`. */
export function flagOf(key: keyof Config): string {
  return `--${SETTINGS[key].env.replace(/^HERALD_/, '').toLowerCase().replace(/_/g, '-')}`;
}

export const DEFAULTS: Config = Object.fromEntries(
  SETTING_KEYS.filter((k) => SETTINGS[k].default !== undefined).map((k) => [k, SETTINGS[k].default]),
) as unknown as Config;

/** Environment variable for each setting. */
export const ENV = Object.fromEntries(SETTING_KEYS.map((k) => [k, SETTINGS[k].env])) as Record<keyof Config, string>;

/** Where each setting of a loaded configuration came from. */
export type Sources = Record<keyof Config, Source>;

export interface ConfigInput {
  /** Flags as the command line gave them (text), by setting key. */
  flags?: Partial<Record<keyof Config, string>>;
  /** Values already typed (tests, programs); they rank as flags. */
  values?: Partial<Config>;
  /** The environment (default: none; the CLI passes process.env). */
  env?: NodeJS.ProcessEnv;
  /** The config file's path; when absent, the environment's HERALD_CONFIG. */
  file?: string;
}

/**
 * Builds the configuration from every source, flag > environment > config file > default, and
 * checks it. Throws a `validation_failed` HeraldError naming the setting and its source.
 */
export function resolveConfig(input: ConfigInput): { config: Config; sources: Sources } {
  const env = input.env ?? {};
  const config = { ...DEFAULTS } as Record<string, unknown>;
  const sources = Object.fromEntries(SETTING_KEYS.map((k) => [k, 'default'])) as Sources;
  const set = (key: keyof Config, value: unknown, source: Source) => {
    config[key] = value;
    sources[key] = source;
  };

  const filePath = input.file ?? (env[CONFIG_ENV] || undefined);
  if (filePath !== undefined) {
    const where = input.file !== undefined ? '--config' : CONFIG_ENV;
    for (const [key, text] of readConfigFile(filePath, where)) set(key, SETTINGS[key].parse(text, `"${key}" in ${filePath}`), 'file');
  }
  for (const key of SETTING_KEYS) {
    const raw = env[SETTINGS[key].env];
    if (raw !== undefined && raw !== '') set(key, SETTINGS[key].parse(raw, SETTINGS[key].env), 'env');
  }
  for (const [key, text] of Object.entries(input.flags ?? {}) as Array<[keyof Config, string | undefined]>) {
    if (text !== undefined) set(key, SETTINGS[key].parse(text, flagOf(key)), 'flag');
  }
  for (const [key, value] of Object.entries(input.values ?? {}) as Array<[keyof Config, unknown]>) {
    if (value !== undefined) set(key, value, 'flag');
  }

  const c = config as unknown as Config;
  c.dataDir = resolve(c.dataDir);
  if (Boolean(c.tlsCert) !== Boolean(c.tlsKey)) {
    const [given, missing] = c.tlsCert ? (['tlsCert', 'tlsKey'] as const) : (['tlsKey', 'tlsCert'] as const);
    throw configError(nameOf(given, sources[given]), `needs ${ENV[missing]} (${flagOf(missing)}) too: HTTPS takes a certificate and its key`);
  }
  if (c.role !== 'all' && !c.databaseUrl) {
    throw configError(
      nameOf('role', sources.role),
      `"${c.role}" needs a database shared by several processes: set ${ENV.databaseUrl} (${flagOf('databaseUrl')}) to a PostgreSQL URL`,
    );
  }
  return { config: c, sources };
}

/** How a bad value's source is named: the flag, the environment variable, or the file key. */
function nameOf(key: keyof Config, source: Source): string {
  if (source === 'flag') return flagOf(key);
  if (source === 'file') return `"${key}" in the config file`;
  return SETTINGS[key].env;
}

/**
 * Reads a JSON config file: an object whose keys are Config keys. Values may be typed (numbers,
 * lists) or text as in the environment (`"1m"`); either is parsed by the setting's own parser.
 */
function readConfigFile(path: string, where: string): Array<[keyof Config, string]> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw configError(where, `cannot read the config file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw configError(where, `the config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw configError(where, `the config file ${path} must hold a JSON object`);
  const out: Array<[keyof Config, string]> = [];
  for (const [key, value] of Object.entries(doc)) {
    const name = `"${key}" in ${path}`;
    if (!Object.hasOwn(SETTINGS, key)) throw configError(name, `is not a setting (settings: ${SETTING_KEYS.join(', ')})`);
    out.push([key as keyof Config, fileValueText(value, name)]);
  }
  return out;
}

/** A file value as the text its parser reads: a number as digits, a list joined by commas. */
function fileValueText(value: unknown, name: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (Array.isArray(value) && value.every((v) => typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)))) return value.join(',');
  throw configError(name, 'must be a string, a number or a list of them');
}

/**
 * Builds the configuration: `flags` (already-typed values from a test or a program) win over the
 * environment, which wins over the config file (HERALD_CONFIG), which wins over the defaults.
 */
export function loadConfig(flags: Partial<Config> = {}, env: NodeJS.ProcessEnv = process.env): Config {
  return resolveConfig({ values: flags, env }).config;
}

/** The database URL without its password, for logs and messages. */
export function describeDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '****';
    return u.toString();
  } catch {
    return 'postgres://(unreadable URL)';
  }
}

/** Parses one flag's text with the same rules as its environment variable. */
export function parseSetting<K extends keyof Config>(key: K, text: string, name = flagOf(key)): Config[K] {
  return SETTINGS[key].parse(text, name) as Config[K];
}

/** The settings as a Markdown table (the README's, checked by test/ops/config.test.ts). */
export function settingsMarkdown(): string {
  const rows = [
    '| flag | environment | file key | default | meaning |',
    '|---|---|---|---|---|',
    `| \`--config\` | \`${CONFIG_ENV}\` | | none | a JSON file of settings by file key, e.g. \`{"port": 4100, "retryDelaysMs": "1m,1m"}\` |`,
  ];
  for (const key of SETTING_KEYS) {
    const s = SETTINGS[key];
    const shown = s.default === undefined || s.shown === 'empty' ? s.shown : `\`${s.shown}\``;
    rows.push(`| \`${flagOf(key)}\` | \`${s.env}\` | \`${key}\` | ${shown} | ${s.help.replace(/\|/g, '\\|')} |`);
  }
  return rows.join('\n');
}

/** The problem with an SMTP URL setting, or null (checked at start, src/config.ts). */
export function smtpUrlProblem(value: string): string | null {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return 'must be a URL such as smtp://user:pass@mail.example.com:587';
  }
  if (u.protocol !== 'smtp:' && u.protocol !== 'smtps:') return 'must start with smtp:// or smtps://';
  if (!u.hostname) return 'must name the mail server host';
  return null;
}
