import { createHash } from 'node:crypto';
import type { Agent } from 'undici';
import type { TargetPolicy } from '../../net/target.ts';
import type { Destination } from '../../webhooks/webhook.ts';
import { closeDeliveryAgent, createDeliveryAgent, type Resolver } from '../agent.ts';
import type { OutgoingRequest } from '../request.ts';
import { send, type AttemptRecord } from '../send.ts';
import { TokenCache, TokenError } from './oauth.ts';
import { failure, type Transport } from './transport.ts';

/**
 * HTTP(S) deliveries: a POST (or the format's method) through undici with pooled keep-alive
 * connections per origin, the address policy applied to the address connected to (agent.ts).
 *
 * - Mutual TLS: a destination with a client certificate (or its own CAs) gets an agent of its own
 *   per distinct certificate, key and CA set, shared by every destination that has the same.
 * - OAuth 2.0 client credentials: the token (oauth.ts) is added as `Authorization: Bearer` when
 *   sending; on a 401 a fresh one is asked for once and the attempt is sent once more with it
 *   (the attempt's one record is the second answer; its duration covers both).
 * - Egress proxy: every connection (token requests too) is tunnelled through it (agent.ts).
 */
export interface HttpTransportOptions {
  policy: TargetPolicy;
  /** Most connections per origin (config.maxInFlight). */
  connections: number;
  /** HTTP CONNECT proxy for every outbound connection (config.egressProxy). */
  egressProxy?: string;
  /** Tests: a resolver answering what they need (agent.ts). */
  resolve?: Resolver;
}

export interface HttpTransport extends Transport {
  /** The OAuth token cache (tests read how many tokens were asked for). */
  readonly tokens: TokenCache;
}

export function createHttpTransport(o: HttpTransportOptions): HttpTransport {
  const base = { connections: o.connections, proxy: o.egressProxy, resolve: o.resolve };
  const plain = createDeliveryAgent(o.policy, base);
  /** Agents with TLS client options, by a hash of them. */
  const tlsAgents = new Map<string, Agent>();

  function agentFor(d: Destination | undefined): Agent {
    if (!d?.client_certificate && !d?.ca_certificate) return plain;
    const tls = { cert: d.client_certificate, key: d.client_key, ca: d.ca_certificate };
    const key = createHash('sha256').update(JSON.stringify(tls)).digest('base64url');
    let agent = tlsAgents.get(key);
    if (!agent) {
      // Fewer connections than the shared agent: one destination's certificate, usually one origin.
      agent = createDeliveryAgent(o.policy, { ...base, connections: Math.min(o.connections, 64), tls });
      tlsAgents.set(key, agent);
    }
    return agent;
  }

  const tokens = new TokenCache(() => plain);

  async function withOAuth(agent: Agent, req: OutgoingRequest, d: Destination, timeoutMs: number): Promise<AttemptRecord> {
    const started = Date.now();
    const left = () => Math.max(1, timeoutMs - (Date.now() - started));
    const sendWith = (token: string) =>
      send(agent, { ...req, headers: { ...req.headers, authorization: `Bearer ${token}` }, secrets: [...(req.secrets ?? []), token] }, left());
    let token: string;
    let record: AttemptRecord;
    try {
      token = await tokens.token(d, left());
      record = await sendWith(token);
      if (record.status_code === 401) {
        token = await tokens.refresh(d, token, left());
        record = await sendWith(token);
      }
    } catch (err) {
      if (err instanceof TokenError) return failure(started, err.outcome, err.message);
      throw err;
    }
    return { ...record, started_at: started, duration_ms: Date.now() - started };
  }

  return {
    tokens,
    // Not async: a plain attempt returns send()'s own promise (one fewer per attempt).
    send(req, timeoutMs) {
      try {
        const d = req.destination;
        const agent = agentFor(d);
        if (d?.access_token_url) return withOAuth(agent, req, d, timeoutMs);
        return send(agent, req, timeoutMs);
      } catch (err) {
        return Promise.reject(err);
      }
    },
    async close(force) {
      const all = [plain, ...tlsAgents.values()];
      tlsAgents.clear();
      await Promise.all(all.map((a) => closeDeliveryAgent(a, force).catch(() => {})));
    },
  };
}
