import type { FastifyInstance } from 'fastify';
import { CMA_TYPE, checkWriteQueries } from '../contentful.ts';
import { HeraldError } from '../../errors.ts';
import type { Herald } from '../../herald.ts';
import { contentfulDoc } from '../schemas.ts';
import { InvalidQuery } from '../../contentful/errors.ts';
import { TWICE_SENT } from '../query-token.ts';

/**
 * What every response under `/spaces/` shares in the Contentful dialect: Contentful's media type
 * (`application/vnd.contentful.management.v1+json`, errors included), and a Contentful-shaped 404
 * for a path Herald does not serve there, and the query check of every management write
 * (checkWriteQueries); a token sent both as a header and as `access_token` is a 400.
 * Registered before the other contentful-* route modules, so both reach theirs.
 */
export default function contentfulSpaceRoutes(app: FastifyInstance, _h: Herald) {
  // A callback hook, not an async one: it runs for every response (Contentstack's too), and an async
  // hook costs a promise and its turn per request.
  app.addHook('onSend', (req, reply, payload, done) => {
    if (req.url.startsWith('/spaces/')) {
      const type = reply.getHeader('content-type');
      if (typeof type === 'string' && type.startsWith('application/json')) reply.header('content-type', CMA_TYPE);
    }
    done(null, payload);
  });

  // A token left in the query was sent twice (src/http/query-token.ts): refused before any route reads.
  app.addHook('onRequest', (req, _reply, done) => {
    if (req.url.startsWith('/spaces/') && Object.hasOwn((req.query ?? {}) as object, 'access_token')) return done(new InvalidQuery('access_token', TWICE_SENT));
    done();
  });

  checkWriteQueries(app);

  app.all('/spaces/*', contentfulDoc('/spaces/*', 'Any other path under /spaces/: a 404 in the Contentful shape', { status: 404, description: 'Not served' }), async (req) => {
    throw new HeraldError('not_found', `Herald's Contentful dialect has no route ${req.method} ${req.url.split('?')[0]}.`);
  });
}
