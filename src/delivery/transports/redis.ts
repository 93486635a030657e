import { createClient } from 'redis';
import type { Logger } from 'pino';
import type { TargetPolicy } from '../../net/target.ts';
import { parseTarget, type RedisTarget } from '../../webhooks/targets.ts';
import { resolveChecked, type Resolver } from '../agent.ts';
import type { OutgoingRequest } from '../request.ts';
import { brokerFailure, hostPort, poolKey } from './broker.ts';
import { ConnectionPool } from './pool.ts';
import { failure, within, type Transport } from './transport.ts';

/**
 * Redis Streams through the `redis` client: one connection per (server, database, credentials).
 * Each attempt is one `XADD <stream> [MAXLEN ~ n] * ...`; it succeeds when Redis answers the new
 * entry's id. Refused credentials or a key of another type fail the attempt as `rejected`.
 *
 * Entry fields: `body` = the event body, then the delivery's headers as fields (webhook-id,
 * webhook-timestamp, webhook-signature, x-herald-event, x-herald-seq, x-herald-attempt,
 * content-type, custom headers).
 *
 * Commands are never queued while disconnected (`disableOfflineQueue`) and the client does not
 * reconnect on its own: a down server fails the attempt at once, and the next attempt reconnects.
 */
type Client = ReturnType<typeof createClient>;

export interface RedisTransportOptions {
  policy: TargetPolicy;
  log: Logger;
  /** Connect deadline, ms (Default: 10 s; also bounded by the attempt's deadline). */
  connectTimeoutMs?: number;
  resolve?: Resolver;
}

export function createRedisTransport(o: RedisTransportOptions): Transport {
  const pool = new ConnectionPool<Client>({ close: async (c) => void (await c.close().catch(() => {})) });

  async function open(t: RedisTarget, timeoutMs: number, lost: () => void): Promise<Client> {
    const address = await resolveChecked(t.host, o.policy, o.resolve);
    const client = createClient({
      socket: { host: address, port: t.port, connectTimeout: Math.min(timeoutMs, o.connectTimeoutMs ?? 10_000), reconnectStrategy: false },
      ...(t.username ? { username: t.username } : {}),
      ...(t.password ? { password: t.password } : {}),
      database: t.db,
      disableOfflineQueue: true,
      name: 'herald',
    });
    // Without a listener an error event would throw; a dropped connection is forgotten instead.
    client.on('error', () => lost());
    client.on('end', lost);
    try {
      await client.connect();
    } catch (err) {
      // Already closed after a failed connect (destroy would throw "The client is closed").
      if (client.isOpen) client.destroy();
      throw err;
    }
    o.log.debug({ broker: hostPort(t), db: t.db }, 'redis connection opened');
    return client as Client;
  }

  function xadd(c: Client, t: RedisTarget, req: OutgoingRequest) {
    const fields: Record<string, string> = { body: req.body, ...req.headers };
    return c.xAdd(t.stream, '*', fields, t.maxlen ? { TRIM: { strategy: 'MAXLEN', strategyModifier: '~', threshold: t.maxlen } } : undefined);
  }

  return {
    async send(req, timeoutMs) {
      const started = Date.now();
      const t = parseTarget(req.url);
      if ('problem' in t || t.kind !== 'redis') return failure(started, 'blocked', `target_url ${'problem' in t ? t.problem : 'is not a redis URL'}; nothing was sent`);
      const where = `Redis at ${hostPort(t)}`;
      const key = poolKey('redis', t, String(t.db));
      try {
        await within(
          pool.use(key, (lost) => open(t, timeoutMs, lost), (c) => xadd(c, t, req)),
          timeoutMs,
          'no answer',
        );
        return { outcome: 'success', status_code: null, retry_after_ms: null, reason: null, response: null, started_at: started, duration_ms: Date.now() - started };
      } catch (err) {
        return brokerFailure(started, err, where, (e) => {
          const m = (e as Error)?.message ?? '';
          if (/WRONGPASS|NOAUTH|NOPERM|invalid password|AUTH/i.test(m)) return `refused the credentials (${m})`;
          if (/WRONGTYPE/.test(m)) return `cannot add to "${t.stream}": the key holds another type (${m})`;
          if (/^ERR|^[A-Z]+ /.test(m)) return `refused the command (${m})`;
          return null;
        });
      }
    },
    close: () => pool.closeAll(),
  };
}
