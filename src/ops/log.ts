import { pino, type DestinationStream, type Logger } from 'pino';
import type { Config } from '../config.ts';
import { describeDatabaseUrl } from '../config.ts';
import { REDACTED_PATHS } from '../http/redact.ts';

/**
 * Herald's logger: pino, one JSON object a line (fields: level, time, msg, and `reqId` on every
 * line about a request, `deliveryId` on every line about a delivery), or a short readable line in
 * a terminal.
 *
 * Secrets are never written: code never passes them to the logger, and redaction is the safety net
 * for what slips through (a plugin logging request headers, a config object logged whole). It
 * covers credential headers at any request-like object, and fields that hold secrets by name.
 */

/** Field names that hold secrets wherever they appear (top level, or one or two objects down). */
const SECRET_FIELDS = [
  'password',
  'http_basic_password',
  'httpBasicPassword',
  'adminToken',
  'metricsToken',
  'token',
  'secret',
  'signing_secret',
  'signing_secrets',
  'databaseUrl',
  'smtpUrl',
  'egressProxy',
  'client_secret',
  'client_key',
  'bearer_token',
];

/** pino `redact` paths: credential headers (src/http/redact.ts) and secret fields. */
export const REDACT_PATHS = [...REDACTED_PATHS, ...SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`])];

/** The censor: a database URL keeps everything but its password (useful when debugging); the rest is hidden. */
export function censor(value: unknown, path: string[]): unknown {
  if (path[path.length - 1] === 'databaseUrl' && typeof value === 'string') return describeDatabaseUrl(value);
  return '[redacted]';
}

const REDACT = { paths: REDACT_PATHS, censor };

/** Whether log lines are written for a person (pretty) or a machine (JSON). */
export function isPretty(format: Config['logFormat'], isTTY: boolean | undefined): boolean {
  return format === 'pretty' || (format === 'auto' && Boolean(isTTY));
}

/** The process's logger, to stdout, with redaction; pretty per `logFormat`. */
export function createLogger(config: Pick<Config, 'logLevel' | 'logFormat'>, out: NodeJS.WritableStream & { isTTY?: boolean } = process.stdout): Logger {
  const options = { level: config.logLevel, redact: REDACT };
  if (isPretty(config.logFormat, out.isTTY)) return pino(options, prettyStream(out, Boolean(out.isTTY)));
  return out === process.stdout ? pino(options) : pino(options, out);
}

/**
 * A logger given from outside (tests, embedding programs) with the same redaction as Herald's own.
 * (pino applies the innermost child's redaction, so every logger Herald derives must come from this.)
 */
export function redacting(log: Logger): Logger {
  return log.child({}, { redact: REDACT });
}

const { chindingsSym } = pino.symbols;

/**
 * `log.child({ reqId })`, the logger of one request, made without pino's redaction pass over the
 * binding: with wildcard paths (`*.password`) pino runs every binding's value through the whole
 * redaction (~7 us a call on a quiet machine, ~20 us under load, for each request), and a string
 * has nothing to redact, so the line carries the same `"reqId":"..."` (a child's bindings are kept
 * as the JSON text pino appends to each of its lines, pino.symbols.chindingsSym).
 */
export function requestLogger(log: Logger, reqId: string): Logger {
  const child = log.child({}) as Logger & { [chindingsSym]: string };
  child[chindingsSym] += `,"reqId":${JSON.stringify(reqId)}`;
  return child;
}

/** A pino destination that writes each line as `formatPretty` renders it. */
export function prettyStream(out: NodeJS.WritableStream, colors = false): DestinationStream {
  return { write: (line: string) => void out.write(formatPretty(line, colors)) };
}

const LEVELS: Record<number, [name: string, color: string]> = {
  10: ['TRACE', '\x1b[90m'],
  20: ['DEBUG', '\x1b[36m'],
  30: ['INFO ', '\x1b[32m'],
  40: ['WARN ', '\x1b[33m'],
  50: ['ERROR', '\x1b[31m'],
  60: ['FATAL', '\x1b[35m'],
};
/** Fields every line has, shown in their own places rather than as key=value. */
const OWN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'err']);

/**
 * One JSON log line as a person reads it: `12:04:05.123 INFO  request reqId=... status=200 ms=3`,
 * then an error's stack on the lines below. A line that is not JSON is returned as it is.
 */
export function formatPretty(line: string, colors = false): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line);
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const time = typeof o.time === 'number' ? new Date(o.time).toISOString().slice(11, 23) : '';
  const [name, color] = LEVELS[o.level as number] ?? [String(o.level).toUpperCase().padEnd(5), ''];
  const level = colors && color ? `${color}${name}\x1b[0m` : name;
  const fields = Object.entries(o)
    .filter(([k]) => !OWN.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/[\s"=]/.test(v) && v !== '' ? v : JSON.stringify(v)}`);
  let text = [time, level, o.msg ?? '', ...fields].filter((x) => x !== '').join(' ');
  const err = o.err as { type?: string; message?: string; stack?: string } | undefined;
  if (err) text += `\n    ${(err.stack ?? `${err.type ?? 'Error'}: ${err.message ?? ''}`).replace(/\n/g, '\n    ')}`;
  return `${text}\n`;
}
