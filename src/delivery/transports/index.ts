import type { Logger } from 'pino';
import type { TargetPolicy } from '../../net/target.ts';
import { createAmqpTransport } from './amqp.ts';
import { createHttpTransport } from './http.ts';
import { createNatsTransport } from './nats.ts';
import { createRedisTransport } from './redis.ts';
import { routeByKind, type Transport } from './transport.ts';

export type { Transport } from './transport.ts';

export interface TransportsOptions {
  policy: TargetPolicy;
  log: Logger;
  /** Most HTTP connections per origin (config.maxInFlight). */
  connections: number;
  /** HTTP CONNECT proxy for HTTP deliveries (config.egressProxy). */
  egressProxy?: string;
}

/** Every destination kind's transport, routed by the target URL's scheme. */
export function createTransports(o: TransportsOptions): Transport {
  return routeByKind({
    http: createHttpTransport({ policy: o.policy, connections: o.connections, egressProxy: o.egressProxy }),
    amqp: createAmqpTransport({ policy: o.policy, log: o.log }),
    nats: createNatsTransport({ policy: o.policy, log: o.log }),
    redis: createRedisTransport({ policy: o.policy, log: o.log }),
  });
}
