import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Herald } from '../../herald.ts';
import { checkReadiness } from '../../ops/readiness.ts';
import { TAGS } from '../schemas.ts';

const Health = Type.Object({ status: Type.Literal('ok'), role: Type.Optional(Type.String()) });
const Ready = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('not ready')]),
  reasons: Type.Array(Type.String(), { description: 'why not, one sentence per failed check' }),
  checks: Type.Object({ store: Type.String(), dispatcher: Type.String(), disk: Type.Optional(Type.String({ description: 'ok, or full: the data dir has no space left for writes' })) }),
});

/**
 * GET /healthz: liveness, a constant answer that touches nothing (restart the process if it fails).
 * GET /readyz: readiness, 200 when the store answers, the dispatcher is not stuck and the data dir
 * has space for writes, else 503 with
 * the reasons (take the process out of rotation). Neither is rate-limited or authenticated: they
 * reveal no data.
 */
export default function healthRoutes(app: FastifyInstance, h: Herald) {
  app.get(
    '/healthz',
    { config: { rateLimit: false }, schema: { summary: 'Liveness: the process is up', tags: [TAGS.operations], response: { 200: Health } } },
    async () => ({ status: 'ok' as const, ...(h.config.role === 'all' ? {} : { role: h.config.role }) }),
  );
  app.get(
    '/readyz',
    {
      config: { rateLimit: false },
      schema: {
        summary: 'Readiness: the store answers and the dispatcher is not stuck',
        tags: [TAGS.operations],
        response: { 200: Ready, 503: Ready },
      },
    },
    async (_req, reply) => {
      const r = await checkReadiness(h.db, h.delivery.status(), h.config.stuckAfterMs, Date.now(), h.config.role === 'worker' ? null : h.config.dataDir);
      reply.status(r.ready ? 200 : 503).header('cache-control', 'no-store');
      return { status: r.ready ? ('ready' as const) : ('not ready' as const), reasons: r.reasons, checks: r.checks };
    },
  );
}
