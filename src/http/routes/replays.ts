import type { FastifyInstance } from 'fastify';
import { notFound } from '../../errors.ts';
import type { Herald } from '../../herald.ts';
import { MAX_REPLAY_EXECUTIONS, MAX_REPLAY_RANGE_MS, parseReplayRequest } from '../../delivery/replay.ts';
import { doc, Body, Field, Params, TAGS } from '../schemas.ts';

const REPLAY = Body({
  from: Field('range start (included): an ISO date or milliseconds since the epoch (required)'),
  to: Field(`range end (included), at most ${MAX_REPLAY_RANGE_MS / 86_400_000} days after from (required)`),
  mode: Field('"failed": send again every execution of the webhook that failed for good in the range; "events": send every event of the range the webhook matches as it is now, as new executions (required)'),
});

/**
 * Replays (src/delivery/replay.ts):
 *   POST /v3/webhooks/:uid/replay          { from, to, mode } -> 202 { notice, job: { uid, state, total, done, ... } }
 *   GET  /v3/webhooks/:uid/replays/:job    -> { job } (its progress: done of total, succeeded, failed)
 */
export default function replayRoutes(app: FastifyInstance, h: Herald) {
  app.post<{ Params: { uid: string } }>('/v3/webhooks/:uid/replay', doc(TAGS.executions, `Replay a range: send failed executions again, or the events of the range as new executions, in order per entity (at most ${MAX_REPLAY_EXECUTIONS} executions); answers a job to follow`, { params: Params({ uid: 'the webhook uid' }), body: REPLAY, success: { status: 202, description: 'Accepted: the job' } }), async (req, reply) => {
    const scope = await h.scope(req);
    const webhook = await h.webhooks.get(scope.api_key, req.params.uid);
    if (!webhook) throw notFound('Webhook');
    const job = await h.replays.start(webhook, parseReplayRequest(req.body));
    reply.status(202);
    return { notice: job.total === 0 ? 'Nothing in that range to replay.' : `Replaying ${job.total} execution${job.total === 1 ? '' : 's'}.`, job };
  });

  app.get<{ Params: { uid: string; job: string } }>('/v3/webhooks/:uid/replays/:job', doc(TAGS.executions, "A replay's progress: done of total, succeeded, failed", { params: Params({ uid: 'the webhook uid', job: 'the job uid (rpl_...)' }) }), async (req) => {
    const scope = await h.scope(req);
    if (!(await h.webhooks.get(scope.api_key, req.params.uid))) throw notFound('Webhook');
    const job = await h.replays.get(req.params.uid, req.params.job);
    if (!job) throw notFound('Replay');
    return { job };
  });
}
