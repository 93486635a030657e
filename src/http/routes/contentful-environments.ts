import type { FastifyInstance } from 'fastify';
import { listBranches } from '../../content/branches.ts';
import { listLocales, masterLocale } from '../../content/locales.ts';
import { contentfulLocale, environmentIdOf, link, MASTER_ENVIRONMENT } from '../../contentful/entities.ts';
import { collection, paging, spaceScope } from '../../contentful/http.ts';
import { notFound } from '../../errors.ts';
import type { Herald } from '../../herald.ts';
import { json } from '../../store/db.ts';
import { contentfulDoc } from '../schemas.ts';

type Q = Record<string, string | undefined>;

/**
 * What Contentful scripts read before they change content (read-only here; spaces, branches and
 * locales are managed through /v3):
 *   GET /spaces/:space                                  the space (stack)
 *   GET /spaces/:space/environments[/:env]              branches, `master` for main
 *   GET /spaces/:space[/environments/:env]/locales      the stack's locales, Contentful codes
 */
export default function contentfulEnvironmentRoutes(app: FastifyInstance, h: Herald) {
  app.get<{ Params: { space: string } }>('/spaces/:space', contentfulDoc('/spaces/:space', 'The space (a stack)'), async (req) => {
    const scope = await spaceScope(h, req, req.params.space);
    const row = await h.db.get<{ name: string; doc: string; created_at: number; updated_at: number }>('SELECT name, doc, created_at, updated_at FROM stacks WHERE api_key = ?', [scope.api_key]);
    const doc = json<{ created_at?: string; updated_at?: string }>(row!.doc);
    return { sys: { type: 'Space', id: scope.api_key, version: 1, createdAt: doc.created_at, updatedAt: doc.updated_at }, name: row!.name };
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
    const page = paging(req.query);
    const all = await listBranches(h.db, scope);
    return collection(all.slice(page.skip, page.skip + page.limit).map((b) => environmentOf(scope.api_key, b)), page, all.length);
  });

  app.get<{ Params: { space: string; env: string } }>('/spaces/:space/environments/:env', contentfulDoc('/spaces/:space/environments/:env', 'One environment'), async (req) => {
    const scope = await spaceScope(h, req, req.params.space, req.params.env);
    const b = (await listBranches(h.db, scope)).find((x) => x.uid === scope.branch);
    if (!b) throw notFound(`Environment ${req.params.env}`);
    return environmentOf(scope.api_key, b);
  });

  for (const base of ['/spaces/:space/environments/:env', '/spaces/:space']) {
    app.get<{ Params: { space: string; env?: string }; Querystring: Q }>(`${base}/locales`, contentfulDoc(`${base}/locales`, "The space's locales, with Contentful codes"), async (req) => {
      const scope = await spaceScope(h, req, req.params.space, req.params.env ?? MASTER_ENVIRONMENT);
      const page = paging(req.query);
      const master = await masterLocale(h.db, scope.api_key);
      const items = (await listLocales(h.db, scope.api_key)).map((l) => ({
        sys: { type: 'Locale', id: l.uid, version: Number(l._version ?? 1), space: link('Space', scope.api_key), createdAt: l.created_at, updatedAt: l.updated_at },
        name: l.name,
        code: contentfulLocale(l.code),
        fallbackCode: l.fallback_locale ? contentfulLocale(l.fallback_locale) : null,
        default: l.code === master,
        contentManagementApi: true,
        contentDeliveryApi: true,
        optional: l.code !== master,
      }));
      return collection(items.slice(page.skip, page.skip + page.limit), page, items.length);
    });
  }
}
