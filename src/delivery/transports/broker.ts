import { createHash } from 'node:crypto';
import { outcomeOfError, type Outcome } from '../policy.ts';
import type { BrokerAddress } from '../../webhooks/targets.ts';
import type { AttemptRecord } from '../send.ts';
import { failure } from './transport.ts';

/** What broker transports share: pool keys, the address as shown, and failures as outcomes. */

/** A pool key for (broker, credentials): the password only as a hash, so keys can be logged safely. */
export function poolKey(kind: string, a: BrokerAddress, ...rest: string[]): string {
  const secret = createHash('sha256').update(a.password).digest('base64url').slice(0, 16);
  return [kind, a.host, a.port, a.username, secret, ...rest].join('|');
}

/** host:port as written in messages (IPv6 in brackets). */
export function hostPort(a: { host: string; port: number }): string {
  return `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
}

/**
 * An error from connecting or publishing as a failed attempt. Network-level failures keep the
 * outcomes HTTP uses (refused, dns, timeout, blocked); anything else the broker said is
 * `rejected` when `rejected(err)` says so, else `network`.
 */
export function brokerFailure(started: number, err: unknown, where: string, rejected: (err: unknown) => string | null): AttemptRecord {
  const e = err as { message?: string; code?: string; name?: string; reason?: string };
  const code = outcomeOfError(err);
  if (code === 'blocked') return failure(started, 'blocked', `target address refused by policy: ${e.message}`);
  if (code === 'refused') return failure(started, 'refused', `${where}: connection refused`);
  if (code === 'dns') return failure(started, 'dns', `${where}: host name could not be resolved (${e.message})`);
  if (code === 'timeout') return failure(started, 'timeout', `${where}: ${e.message ?? 'timed out'}`);
  const said = rejected(err);
  if (said) return failure(started, 'rejected', `${where}: ${said}`);
  const outcome: Outcome = 'network';
  return failure(started, outcome, `${where}: ${e.message ?? String(err)}`);
}
