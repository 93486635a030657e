import type { FastifyInstance } from 'fastify';
import { createEnvironment, deleteEnvironment, getEnvironment, listEnvironments, updateEnvironment } from '../../content/environments.ts';
import { bodyField } from '../../content/field-errors.ts';
import { notFound } from '../../errors.ts';
import type { Herald } from '../../herald.ts';
import { ListQuery, presentList } from '../list.ts';
import { doc, CREATED, Envelope, Params, TAGS } from '../schemas.ts';

const NAME = Params({ name: 'the environment name' });

/** Publishing environments (Contentstack CMA `/v3/environments`, addressed by name). */
export default function environmentRoutes(app: FastifyInstance, h: Herald) {
  app.post('/v3/environments', doc(TAGS.environments, 'Create an environment', { body: Envelope('environment', 'name, urls: [{ locale, url }]'), success: CREATED }), async (req, reply) => {
    const scope = await h.scope(req);
    const environment = await createEnvironment(h.db, scope, bodyField(req.body, 'environment'));
    reply.status(201);
    return { notice: 'Environment created successfully.', environment };
  });

  app.get<{ Querystring: Record<string, string | undefined> }>('/v3/environments', doc(TAGS.environments, 'List environments', { querystring: ListQuery() }), async (req) => {
    const scope = await h.scope(req);
    return presentList('environments', await listEnvironments(h.db, scope.api_key), req.query);
  });

  app.get<{ Params: { name: string } }>('/v3/environments/:name', doc(TAGS.environments, 'Get an environment', { params: NAME }), async (req) => {
    const scope = await h.scope(req);
    const environment = await getEnvironment(h.db, scope.api_key, req.params.name);
    if (!environment) throw notFound(`Environment ${req.params.name}`);
    return { environment };
  });

  app.put<{ Params: { name: string } }>('/v3/environments/:name', doc(TAGS.environments, 'Update an environment', { params: NAME, body: Envelope('environment', 'the fields to change') }), async (req) => {
    const scope = await h.scope(req);
    const environment = await updateEnvironment(h.db, scope, req.params.name, bodyField(req.body, 'environment'));
    return { notice: 'Environment updated successfully.', environment };
  });

  app.delete<{ Params: { name: string } }>('/v3/environments/:name', doc(TAGS.environments, 'Delete an environment', { params: NAME }), async (req) => {
    const scope = await h.scope(req);
    await deleteEnvironment(h.db, scope, req.params.name);
    return { notice: 'Environment deleted successfully.' };
  });
}
