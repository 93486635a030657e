import amqp from 'amqplib';
import type { Channel, ChannelModel, ConfirmChannel, Message } from 'amqplib';
import type { Logger } from 'pino';
import type { TargetPolicy } from '../../net/target.ts';
import { parseTarget, type AmqpTarget } from '../../webhooks/targets.ts';
import { resolveChecked, type Resolver } from '../agent.ts';
import type { OutgoingRequest } from '../request.ts';
import type { AttemptRecord } from '../send.ts';
import { brokerFailure, hostPort, poolKey } from './broker.ts';
import { ConnectionPool } from './pool.ts';
import { failure, within, type Transport } from './transport.ts';

/**
 * RabbitMQ (AMQP 0-9-1) through amqplib: one connection and one confirm channel per (broker,
 * vhost, credentials). A message is published persistent and `mandatory` to the URL's exchange
 * with its routing key; the attempt succeeds when the broker confirms it (publisher confirms). A
 * message no queue takes (returned as unroutable), a nack, a missing exchange or refused
 * credentials fail the attempt as `rejected`, with the broker's words.
 *
 * Message: body = the event body; properties: content type, `messageId` = the delivery id (the same
 * on every retry), `timestamp`, `type` = the event (`entry.publish`), `appId` herald; headers = the
 * delivery's headers (webhook-id, webhook-timestamp, webhook-signature, x-herald-event,
 * x-herald-seq, x-herald-attempt, the destination's custom headers).
 */
interface Conn {
  model: ChannelModel;
  channel: ConfirmChannel;
  /** Delivery ids of messages the broker returned as unroutable, until their confirm arrives. */
  returned: Set<string>;
  /** Why the channel or connection closed, as the broker said it. */
  closedBecause: string | null;
  /** The broker closed the channel with an error (a missing exchange): the message was refused. */
  channelError: string | null;
}

export interface AmqpTransportOptions {
  policy: TargetPolicy;
  log: Logger;
  /** Connect deadline, ms (Default: 10 s; also bounded by the attempt's deadline). */
  connectTimeoutMs?: number;
  resolve?: Resolver;
}

export function createAmqpTransport(o: AmqpTransportOptions): Transport {
  const pool = new ConnectionPool<Conn>({ close: (c) => c.model.close().catch(() => {}) });

  async function connect(t: AmqpTarget, timeoutMs: number, lost: () => void): Promise<Conn> {
    const address = await resolveChecked(t.host, o.policy, o.resolve);
    const timeout = Math.min(timeoutMs, o.connectTimeoutMs ?? 10_000);
    const model = await within(
      amqp.connect(
        { protocol: 'amqp', hostname: address, port: t.port, username: t.username || 'guest', password: t.username ? t.password : 'guest', vhost: t.vhost, heartbeat: 30 },
        { timeout },
      ),
      timeout,
      'connecting',
    );
    const conn: Conn = { model, channel: null as never, returned: new Set(), closedBecause: null, channelError: null };
    const drop = (why: string) => (err?: Error) => {
      conn.closedBecause ??= err?.message ?? why;
      lost();
    };
    model.on('error', drop('the connection failed'));
    model.on('close', drop('the connection closed'));
    try {
      conn.channel = await model.createConfirmChannel();
    } catch (err) {
      await model.close().catch(() => {});
      throw err;
    }
    conn.channel.on('error', (err: Error) => {
      conn.channelError = err.message;
    });
    // A channel closed by the broker (a missing exchange) is not reopened here: the connection goes
    // with it, and the next attempt starts afresh.
    conn.channel.on('close', () => {
      conn.closedBecause ??= 'the channel closed';
      lost();
      model.close().catch(() => {});
    });
    conn.channel.on('return', (msg: Message) => {
      const id = msg.properties.messageId;
      if (typeof id === 'string') conn.returned.add(id);
    });
    o.log.debug({ broker: hostPort(t), vhost: t.vhost }, 'amqp connection opened');
    return conn;
  }

  function publish(c: Conn, t: AmqpTarget, req: OutgoingRequest): Promise<void> {
    const id = req.headers['webhook-id'] ?? '';
    return new Promise((resolve, reject) => {
      const headers = { ...req.headers };
      delete headers['content-type'];
      try {
        (c.channel as Channel & ConfirmChannel).publish(
          t.exchange,
          t.routing_key,
          Buffer.from(req.body),
          {
            persistent: true,
            mandatory: true,
            contentType: req.headers['content-type'] ?? 'application/json',
            messageId: id,
            timestamp: Number(req.headers['webhook-timestamp']) || Math.floor(Date.now() / 1000),
            type: req.headers['x-herald-event'],
            appId: 'herald',
            headers,
          },
          (err: unknown) => {
            const returned = c.returned.delete(id);
            if (err) reject(err);
            else if (returned) reject(new Unroutable(t));
            else resolve();
          },
        );
      } catch (err) {
        reject(err);
      }
    });
  }

  return {
    async send(req, timeoutMs) {
      const started = Date.now();
      const t = parseTarget(req.url);
      if ('problem' in t || t.kind !== 'amqp') return failure(started, 'blocked', `target_url ${'problem' in t ? t.problem : 'is not an amqp URL'}; nothing was sent`);
      const where = `RabbitMQ at ${hostPort(t)}`;
      const key = poolKey('amqp', t, t.vhost);
      let conn: Conn | null = null;
      try {
        await within(
          pool.use(key, (lost) => connect(t, timeoutMs, lost), (c) => {
            conn = c;
            return publish(c, t, req);
          }),
          timeoutMs,
          'no confirm',
        );
        return { outcome: 'success', status_code: null, retry_after_ms: null, reason: null, response: null, started_at: started, duration_ms: Date.now() - started };
      } catch (err) {
        const c = conn as Conn | null;
        const m = (err as Error)?.message ?? '';
        // The connection dropped before the confirm came: a network failure, not a refusal.
        if (/^channel closed$/i.test(m) && !c?.channelError) {
          return brokerFailure(started, new Error(`the connection closed before the broker confirmed (${c?.closedBecause ?? 'closed'})`), where, () => null);
        }
        return brokerFailure(started, err, where, (e) => {
          if (e instanceof Unroutable) return e.message;
          const msg = (e as Error)?.message ?? '';
          if (/ACCESS.REFUSED|403/.test(msg)) return `refused the credentials or vhost (${msg})`;
          if (msg === 'message nacked') return 'did not accept the message (nack)';
          if (/^channel closed$/i.test(msg)) return `closed the channel: ${c!.channelError}`;
          if (/NOT.FOUND|404/.test(msg)) return msg;
          return null;
        });
      }
    },
    close: () => pool.closeAll(),
  };
}

class Unroutable extends Error {
  constructor(t: AmqpTarget) {
    super(`no queue took the message: exchange "${t.exchange || '(default)'}" has no binding for routing key "${t.routing_key}" (returned unroutable)`);
    this.name = 'Unroutable';
  }
}
