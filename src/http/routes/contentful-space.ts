import type { FastifyInstance } from 'fastify';
import { CMA_TYPE, checkWriteQueries } from '../contentful.ts';
import { HeraldError } from '../../errors.ts';
import type { Herald } from '../../herald.ts';
import { contentfulDoc } from '../schemas.ts';

/**
 * What every response under `/spaces/` shares in the Contentful dialect: Contentful's media type
 * (`application/vnd.contentful.management.v1+json`, errors included), and a Contentful-shaped 404
 * for a path Herald does not serve there, and the query check of every management write
 * (checkWriteQueries). Registered before the other contentful-* route modules, so both reach theirs.
 */
export default function contentfulSpaceRoutes(app: FastifyInstance, _h: Herald) {
  app.addHook('onSend', async (req, reply, payload) => {
    if (req.url.startsWith('/spaces/')) {
      const type = reply.getHeader('content-type');
      if (typeof type === 'string' && type.startsWith('application/json')) reply.header('content-type', CMA_TYPE);
    }
    return payload;
  });

  checkWriteQueries(app);

  app.all('/spaces/*', contentfulDoc('/spaces/*', 'Any other path under /spaces/: a 404 in the Contentful shape', { status: 404, description: 'Not served' }), async (req) => {
    throw new HeraldError('not_found', `Herald's Contentful dialect has no route ${req.method} ${req.url.split('?')[0]}.`);
  });
}
