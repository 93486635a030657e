import type { Logger } from 'pino';
import type { TargetPolicy } from '../../net/target.ts';
import { createAmqpTransport } from './amqp.ts';
import { createHttpTransport } from './http.ts';
import { createNatsTransport } from './nats.ts';
import { createRedisTransport } from './redis.ts';
import { createThreadedHttpTransport } from './threaded.ts';
import { routeByKind, type Transport } from './transport.ts';

export type { Transport } from './transport.ts';

export interface TransportsOptions {
  policy: TargetPolicy;
  log: Logger;
  /** Most HTTP connections per origin (config.maxInFlight). */
  connections: number;
  /** HTTP CONNECT proxy for HTTP deliveries (config.egressProxy). */
  egressProxy?: string;
  /**
   * Threads that send plain HTTP(S) attempts (config.senderThreads, threaded.ts); 0: all on this
   * thread. With an egress proxy every HTTP attempt stays on this thread.
   */
  senderThreads?: number;
  /** HTTP attempts per second that start the sender threads (config.senderThreadsStartRate; 0: the first). */
  senderThreadsStartRate?: number;
  /** Percent of this thread's time busy above which the started threads take the attempts (config.senderThreadsBusy; 0: always). */
  senderThreadsBusy?: number;
}

/** Every destination kind's transport, routed by the target URL's scheme. */
export function createTransports(o: TransportsOptions): Transport {
  const inProcess = createHttpTransport({ policy: o.policy, connections: o.connections, egressProxy: o.egressProxy });
  const threads = o.egressProxy ? 0 : (o.senderThreads ?? 0);
  return routeByKind({
    http: threads > 0 ? createThreadedHttpTransport({ policy: o.policy, threads, startRate: o.senderThreadsStartRate ?? 0, busy: (o.senderThreadsBusy ?? 0) / 100, connections: o.connections, fallback: inProcess, log: o.log }) : inProcess,
    amqp: createAmqpTransport({ policy: o.policy, log: o.log }),
    nats: createNatsTransport({ policy: o.policy, log: o.log }),
    redis: createRedisTransport({ policy: o.policy, log: o.log }),
  });
}
