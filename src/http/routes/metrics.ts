import type { FastifyInstance } from 'fastify';
import { HeraldError } from '../../errors.ts';
import type { Herald } from '../../herald.ts';
import { createMetrics } from '../../ops/metrics.ts';
import { sameHash, hashToken } from '../../auth/secrets.ts';
import { doc, TAGS } from '../schemas.ts';

/**
 * GET /metrics: Prometheus text format. When `metricsToken` is set, scrapers must send
 * `Authorization: Bearer <token>`; otherwise the endpoint is open (bind Herald to a private address).
 */
export default function metricsRoutes(app: FastifyInstance, h: Herald) {
  const metrics = createMetrics({ db: h.db, events: h.events, delivery: h.delivery });
  const tokenHash = h.config.metricsToken ? hashToken(h.config.metricsToken) : null;
  app.get('/metrics', doc(TAGS.operations, 'Prometheus metrics (text format)', { success: { status: 200, description: 'Prometheus text exposition format', contentType: 'text/plain' } }), async (req, reply) => {
    if (tokenHash) {
      const given = String(req.headers.authorization ?? '').replace(/^Bearer\s+/i, '');
      if (!given || !sameHash(hashToken(given), tokenHash)) throw new HeraldError('unauthorized', 'The metrics endpoint needs its bearer token.');
    }
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
