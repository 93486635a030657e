import type { FastifyInstance, FastifyRequest } from 'fastify';
import { listBranches } from '../../content/branches.ts';
import { environmentIdOf, link, MASTER_ENVIRONMENT } from '../../contentful/entities.ts';
import { collection, simpleList, spaceScope, versionHeader } from '../contentful.ts';
import { createLocaleFrom, deleteLocaleFrom, getLocaleView, listLocaleViews, updateLocaleFrom } from '../../contentful/locales.ts';
import { notFound } from '../../errors.ts';
import type { Herald } from '../../herald.ts';
import { getStack } from '../../stacks/stacks.ts';
import { contentfulDoc, CREATED, NO_CONTENT } from '../schemas.ts';

type Q = Record<string, string | undefined>;

/**
 * The space around the content (spaces and branches are managed through /v3):
 *   GET /spaces/:space                                  the space (stack)
 *   GET /spaces/:space/environments[/:env]              branches, `master` for main
 *   GET /spaces/:space/roles                            none: Herald has no roles
 *   /spaces/:space[/environments/:env]/locales          the stack's locales, Contentful codes:
 *                                                       GET, POST; /:id GET, PUT, DELETE
 */
export default function contentfulEnvironmentRoutes(app: FastifyInstance, h: Herald) {
  app.get<{ Params: { space: string } }>('/spaces/:space', contentfulDoc('/spaces/:space', 'The space (a stack)'), async (req) => {
    const scope = await spaceScope(h, req, req.params.space);
    const stack = (await getStack(h.db, scope.api_key))!;
    return { sys: { type: 'Space', id: scope.api_key, version: 1, createdAt: stack.created_at, updatedAt: stack.updated_at }, name: stack.name };
  });

  const environmentOf = (apiKey: string, b: { uid: string; created_at: string; updated_at: string }) => ({
    sys: {
      type: 'Environment',
      id: environmentIdOf(b.uid),
      version: 1,
      space: link('Space', apiKey),
      status: link('Status', 'ready'),
      createdAt: b.created_at,
      updatedAt: b.updated_at,
      aliases: [],
    },
    name: environmentIdOf(b.uid),
  });

  app.get<{ Params: { space: string }; Querystring: Q }>('/spaces/:space/environments', contentfulDoc('/spaces/:space/environments', "The space's environments (its branches)"), async (req) => {
    const scope = await spaceScope(h, req, req.params.space);
    const { items, total, page } = simpleList(req.query, (await listBranches(h.db, scope)).map((b) => environmentOf(scope.api_key, b)));
    return collection(items, page, total);
  });

  app.get<{ Params: { space: string; env: string } }>('/spaces/:space/environments/:env', contentfulDoc('/spaces/:space/environments/:env', 'One environment'), async (req) => {
    const scope = await spaceScope(h, req, req.params.space, req.params.env);
    const b = (await listBranches(h.db, scope)).find((x) => x.uid === scope.branch);
    if (!b) throw notFound(`Environment ${req.params.env}`);
    return environmentOf(scope.api_key, b);
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

    app.get<One>(`${base}/locales/:id`, contentfulDoc(`${base}/locales/:id`, 'One locale'), async (req) => {
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
