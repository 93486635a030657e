import type { FastifyInstance, FastifyRequest } from 'fastify';
import { environmentIdOf, link, MASTER_ENVIRONMENT } from '../../contentful/entities.ts';
import { collection, headerValue, simpleList, spaceScope, versionHeader, noQuery } from '../contentful.ts';
import { createEnvironmentCopy, deleteEnvironmentOf, environmentOfScope, listEnvironments, newEnvironmentId, putEnvironment, type EnvironmentOf } from '../../contentful/environments.ts';
import { createLocaleFrom, deleteLocaleFrom, getLocaleView, listLocaleViews, updateLocaleFrom } from '../../contentful/locales.ts';
import { notFound } from '../../errors.ts';
import type { Herald } from '../../herald.ts';
import { getStack } from '../../stacks/stacks.ts';
import { contentfulDoc, CREATED, NO_CONTENT } from '../schemas.ts';

type Q = Record<string, string | undefined>;

/**
 * The space around the content (spaces are managed through /v3; branches through /v3 too):
 *   GET /spaces/:space                                  the space (stack)
 *   GET /spaces/:space/environments[/:env]              branches, `master` for main
 *   PUT /spaces/:space/environments/:env                a new environment ({ name }): a copy of
 *                                                       the one X-Contentful-Source-Environment
 *                                                       names (`master` when absent), publish
 *                                                       state too; with X-Contentful-Version, a
 *                                                       rename of an existing one
 *   POST /spaces/:space/environments                    the same, its id picked by Herald
 *   DELETE /spaces/:space/environments/:env             the environment and its content
 *   GET /spaces/:space/roles                            none: Herald has no roles
 *   /spaces/:space[/environments/:env]/locales          the stack's locales, Contentful codes:
 *                                                       GET, POST; /:id GET, PUT, DELETE
 */
export default function contentfulEnvironmentRoutes(app: FastifyInstance, h: Herald) {
  app.get<{ Params: { space: string } }>('/spaces/:space', { ...contentfulDoc('/spaces/:space', 'The space (a stack)'), preHandler: noQuery }, async (req) => {
    const scope = await spaceScope(h, req, req.params.space);
    const stack = (await getStack(h.db, scope.api_key))!;
    return { sys: { type: 'Space', id: scope.api_key, version: 1, createdAt: stack.created_at, updatedAt: stack.updated_at }, name: stack.name };
  });

  const environmentOf = (apiKey: string, { branch: b, name, version, updatedAt }: EnvironmentOf) => ({
    sys: {
      type: 'Environment',
      id: environmentIdOf(b.uid),
      version,
      space: link('Space', apiKey),
      status: link('Status', 'ready'),
      createdAt: b.created_at,
      updatedAt,
      aliases: [],
    },
    name,
  });

  app.get<{ Params: { space: string }; Querystring: Q }>('/spaces/:space/environments', contentfulDoc('/spaces/:space/environments', "The space's environments (its branches)"), async (req) => {
    const scope = await spaceScope(h, req, req.params.space);
    const { items, total, page } = simpleList(req.query, (await listEnvironments(h.db, scope)).map((e) => environmentOf(scope.api_key, e)));
    return collection(items, page, total);
  });

  app.get<{ Params: { space: string; env: string } }>('/spaces/:space/environments/:env', { ...contentfulDoc('/spaces/:space/environments/:env', 'One environment'), preHandler: noQuery }, async (req) => {
    const scope = await spaceScope(h, req, req.params.space, req.params.env);
    const e = await environmentOfScope(h.db, scope);
    if (!e) throw notFound(`Environment ${req.params.env}`);
    return environmentOf(scope.api_key, e);
  });

  const source = (req: FastifyRequest) => headerValue(req, 'x-contentful-source-environment') || MASTER_ENVIRONMENT;

  app.put<{ Params: { space: string; env: string } }>(
    '/spaces/:space/environments/:env',
    contentfulDoc(
      '/spaces/:space/environments/:env',
      'Create an environment ({ name }) as a copy of X-Contentful-Source-Environment (default master): content types with their activation, editor interfaces, tags, entries and assets with their publish state; with X-Contentful-Version (its current version), rename an existing one',
      CREATED,
    ),
    async (req, reply) => {
      const scope = await spaceScope(h, req, req.params.space);
      const { environment, created } = await putEnvironment(h, scope, req.params.env, source(req), versionHeader(req), req.body);
      reply.status(created ? 201 : 200);
      return environmentOf(scope.api_key, environment);
    },
  );

  app.post<{ Params: { space: string } }>(
    '/spaces/:space/environments',
    contentfulDoc('/spaces/:space/environments', 'Create an environment ({ name }) as PUT does, its id picked by Herald (12 lowercase hex digits)', CREATED),
    async (req, reply) => {
      const scope = await spaceScope(h, req, req.params.space);
      const made = await createEnvironmentCopy(h, scope, newEnvironmentId(), source(req), req.body);
      reply.status(201);
      return environmentOf(scope.api_key, made);
    },
  );

  app.delete<{ Params: { space: string; env: string } }>('/spaces/:space/environments/:env', contentfulDoc('/spaces/:space/environments/:env', 'Delete an environment and its content (not master)', NO_CONTENT), async (req, reply) => {
    const scope = await spaceScope(h, req, req.params.space);
    await deleteEnvironmentOf(h, scope, req.params.env);
    reply.status(204);
  });

  // Roles: Herald has none (a management token may do everything in its space), so the list is
  // truthfully empty; contentful-export reads it.
  app.get<{ Params: { space: string }; Querystring: Q }>('/spaces/:space/roles', contentfulDoc('/spaces/:space/roles', "The space's roles: none (management tokens have full access)"), async (req) => {
    await spaceScope(h, req, req.params.space);
    const { items, total, page } = simpleList(req.query, []);
    return collection(items, page, total);
  });

  for (const base of ['/spaces/:space/environments/:env', '/spaces/:space']) {
    type One = { Params: { space: string; env?: string; id: string }; Querystring: Q };
    const scoped = async (req: FastifyRequest<{ Params: { space: string; env?: string } }>) => {
      const env = req.params.env ?? MASTER_ENVIRONMENT;
      const scope = await spaceScope(h, req, req.params.space, env);
      return { scope, ctx: { spaceId: scope.api_key, environmentId: env } };
    };

    app.get<{ Params: { space: string; env?: string }; Querystring: Q }>(`${base}/locales`, contentfulDoc(`${base}/locales`, "The space's locales, with Contentful codes"), async (req) => {
      const { scope, ctx } = await scoped(req);
      const { items, total, page } = simpleList(req.query, await listLocaleViews(h.db, scope, ctx));
      return collection(items, page, total);
    });

    app.post<{ Params: { space: string; env?: string } }>(`${base}/locales`, contentfulDoc(`${base}/locales`, 'Add a locale (code, name, fallbackCode, optional)', CREATED), async (req, reply) => {
      const { scope, ctx } = await scoped(req);
      const made = await createLocaleFrom(h, scope, ctx, req.body);
      reply.status(201);
      return made;
    });

    app.get<One>(`${base}/locales/:id`, { ...contentfulDoc(`${base}/locales/:id`, 'One locale'), preHandler: noQuery }, async (req) => {
      const { scope, ctx } = await scoped(req);
      return getLocaleView(h.db, scope, ctx, req.params.id);
    });

    app.put<One>(`${base}/locales/:id`, contentfulDoc(`${base}/locales/:id`, 'Update a locale (X-Contentful-Version): name, fallbackCode, optional'), async (req) => {
      const { scope, ctx } = await scoped(req);
      return updateLocaleFrom(h, scope, ctx, req.params.id, versionHeader(req), req.body);
    });

    app.delete<One>(`${base}/locales/:id`, contentfulDoc(`${base}/locales/:id`, 'Delete a locale (refused while content lives in it)', NO_CONTENT), async (req, reply) => {
      await deleteLocaleFrom(h, (await scoped(req)).scope, req.params.id);
      reply.status(204);
    });
  }
}
