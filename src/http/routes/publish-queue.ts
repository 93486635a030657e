import type { FastifyInstance } from 'fastify';
import { cancelSchedule, listSchedules } from '../../content/schedule.ts';
import type { Herald } from '../../herald.ts';
import { ListQuery, presentList } from '../list.ts';
import { doc, Params, TAGS } from '../schemas.ts';

/**
 * The publish queue (Contentstack's `/v3/publish-queue`), as far as Herald has one: publishes and
 * unpublishes scheduled for later (`scheduled_at`, src/content/schedule.ts), until they are made.
 * Herald makes every other publish at once, so nothing else ever waits in it (done publishes are in
 * the event log, GET /v3/events, and each entry's `publish_details`).
 */
export default function publishQueueRoutes(app: FastifyInstance, h: Herald) {
  app.get<{ Querystring: Record<string, string | undefined> }>('/v3/publish-queue', doc(TAGS.bulk, 'List the scheduled publishes and unpublishes, soonest first', { querystring: ListQuery() }), async (req) => {
    const scope = await h.scope(req);
    return presentList('queue', await listSchedules(h, scope), req.query);
  });

  // Contentstack cancels with a GET; no HEAD twin, so only a GET changes anything.
  app.get<{ Params: { uid: string } }>(
    '/v3/publish-queue/:uid/unschedule',
    { ...doc(TAGS.bulk, 'Cancel a scheduled publish or unpublish (a 409 once it is being made)', { params: Params({ uid: 'the scheduled change (its uid from the publish answer or the queue)' }) }), exposeHeadRoute: false },
    async (req) => {
      const scope = await h.scope(req);
      await cancelSchedule(h, scope, req.params.uid);
      return { notice: 'The scheduled change was cancelled.' };
    },
  );
}
