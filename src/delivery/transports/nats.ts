import { connect, headers as natsHeaders, type NatsConnection, type JetStreamClient } from 'nats';
import type { Logger } from 'pino';
import type { TargetPolicy } from '../../net/target.ts';
import { parseTarget, type NatsTarget } from '../../webhooks/targets.ts';
import { resolveChecked, type Resolver } from '../agent.ts';
import type { OutgoingRequest } from '../request.ts';
import { brokerFailure, hostPort, poolKey } from './broker.ts';
import { ConnectionPool } from './pool.ts';
import { failure, within, type Transport } from './transport.ts';

/**
 * NATS JetStream through the `nats` client: one connection per (server, credentials). A message is
 * published to the URL's subject through JetStream and the attempt succeeds when a stream
 * acknowledges it (stored). No stream for the subject (JetStream answers "no responders"), refused
 * credentials, or a stream refusing the message fail the attempt as `rejected`.
 *
 * Message: payload = the event body; headers = the delivery's (webhook-id, webhook-timestamp,
 * webhook-signature, x-herald-event, x-herald-seq, x-herald-attempt, content-type, custom headers),
 * and `Nats-Msg-Id` = the delivery id, so a stream drops a retry it already stored (within its
 * duplicate window) and acknowledges it as a duplicate: a success.
 *
 * The client does not reconnect on its own here (the pool reconnects on the next attempt) and does
 * not follow the cluster's advertised servers: only the URL's host, checked by the address policy,
 * is ever connected to.
 */
interface Conn {
  nc: NatsConnection;
  js: JetStreamClient;
}

export interface NatsTransportOptions {
  policy: TargetPolicy;
  log: Logger;
  /** Connect deadline, ms (Default: 10 s; also bounded by the attempt's deadline). */
  connectTimeoutMs?: number;
  resolve?: Resolver;
}

/** NATS error codes as the outcomes HTTP uses (so "connection refused" reads the same for every kind). */
function normalise(err: unknown): unknown {
  const code = (err as { code?: string })?.code;
  const as = (c: string, name?: string) => Object.assign(new Error((err as Error).message), { code: c, ...(name ? { name } : {}) });
  if (code === 'CONNECTION_REFUSED') return as('ECONNREFUSED');
  if (code === 'CONNECTION_TIMEOUT') return as('ETIMEDOUT', 'TimeoutError');
  // A request cut by a dropped connection also says TIMEOUT, at once: say what is known.
  if (code === 'TIMEOUT') return Object.assign(new Error('no acknowledgement from JetStream (timed out, or the connection dropped)'), { code: 'ETIMEDOUT', name: 'TimeoutError' });
  return err;
}

export function createNatsTransport(o: NatsTransportOptions): Transport {
  const pool = new ConnectionPool<Conn>({ close: (c) => c.nc.close().catch(() => {}) });

  async function open(t: NatsTarget, timeoutMs: number, lost: () => void): Promise<Conn> {
    const address = await resolveChecked(t.host, o.policy, o.resolve);
    const timeout = Math.min(timeoutMs, o.connectTimeoutMs ?? 10_000);
    const nc = await connect({
      servers: hostPort({ host: address, port: t.port }),
      ...(t.token ? { token: t.token } : t.username ? { user: t.username, pass: t.password } : {}),
      name: 'herald',
      timeout,
      reconnect: false,
      ignoreClusterUpdates: true,
      noRandomize: true,
    });
    nc.closed().then(lost, lost);
    o.log.debug({ broker: hostPort(t) }, 'nats connection opened');
    return { nc, js: nc.jetstream() };
  }

  async function publish(c: Conn, t: NatsTarget, req: OutgoingRequest, timeoutMs: number) {
    const h = natsHeaders();
    for (const [k, v] of Object.entries(req.headers)) h.set(k, v);
    const id = req.headers['webhook-id'];
    return c.js.publish(t.subject, Buffer.from(req.body), { headers: h, ...(id ? { msgID: id } : {}), timeout: Math.max(1, timeoutMs) });
  }

  return {
    async send(req, timeoutMs) {
      const started = Date.now();
      const t = parseTarget(req.url);
      if ('problem' in t || t.kind !== 'nats') return failure(started, 'blocked', `target_url ${'problem' in t ? t.problem : 'is not a nats URL'}; nothing was sent`);
      const where = `NATS at ${hostPort(t)}`;
      const key = poolKey('nats', { ...t, password: t.token || t.password });
      try {
        await within(
          pool.use(key, (lost) => open(t, timeoutMs, lost), (c) => publish(c, t, req, timeoutMs - (Date.now() - started))),
          timeoutMs,
          'no acknowledgement',
        );
        return { outcome: 'success', status_code: null, retry_after_ms: null, reason: null, response: null, started_at: started, duration_ms: Date.now() - started };
      } catch (err) {
        return brokerFailure(started, normalise(err), where, (e) => {
          const code = (e as { code?: string })?.code ?? '';
          const m = (e as Error)?.message ?? '';
          if (code === '503') return `no JetStream stream takes subject "${t.subject}" (no responders); add a stream for it`;
          if (code === 'AUTHORIZATION_VIOLATION' || code === 'BAD_AUTHENTICATION' || /authoriz|authentic/i.test(m)) return `refused the credentials (${m})`;
          if (/^\d{3}$/.test(code) || (e as { api_error?: unknown })?.api_error) return `JetStream refused the message (${m})`;
          return null;
        });
      }
    },
    close: () => pool.closeAll(),
  };
}
