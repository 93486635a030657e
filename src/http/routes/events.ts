import type { FastifyInstance } from 'fastify';
import { invalid } from '../../errors.ts';
import type { Herald } from '../../herald.ts';
import { doc, Query, TAGS, Whole } from '../schemas.ts';

/** Largest page of the event feed. */
const MAX_LIMIT = 1000;

/**
 * GET /v3/events?after=<seq>&limit=<n>: a stack's events in order, for catch-up consumers such as
 * the backup center. `after` is exclusive (0 = from the start); the response's `last_seq` is the
 * cursor for the next page.
 */
export default function eventRoutes(app: FastifyInstance, h: Herald) {
  app.get<{ Querystring: { after?: string; limit?: string } }>('/v3/events', doc(TAGS.events, "A stack's events in order, after a sequence number", { querystring: Query({ after: Whole('the last seq already read; 0 = from the start (default 0)', 0), limit: Whole(`events per page, at most ${MAX_LIMIT} (default 100)`, 1, MAX_LIMIT) }) }), async (req) => {
    const scope = await h.scope(req);
    const after = req.query.after === undefined ? 0 : Number(req.query.after);
    if (!Number.isInteger(after) || after < 0) throw invalid('after', 'must be a whole number >= 0');
    const limit = req.query.limit === undefined ? 100 : Number(req.query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw invalid('limit', `must be a whole number from 1 to ${MAX_LIMIT}`);
    const events = await h.events.list(h.db, scope.api_key, after, limit);
    return { events, last_seq: events.length ? events[events.length - 1].seq : after };
  });
}
