import type { FastifyInstance } from 'fastify';
import { HeraldError, notFound } from '../../errors.ts';
import type { Herald } from '../../herald.ts';
import { ListQuery, presentList } from '../list.ts';
import { doc, Flag, Params, TAGS } from '../schemas.ts';

/**
 * Contentstack modules Herald does not have. Tools that copy a whole stack (csdx cm:stacks:export
 * and import, the management SDK's scripts) list every module; for these the truthful answer is
 * an empty list in Contentstack's shape (so the tool moves on instead of dying on a 404), and a
 * create is refused with a 422 naming the module (never accepted and dropped).
 *
 * path -> the list's key and the envelope a create would carry.
 */
export const ABSENT_MODULES: Array<{ path: string; list: string; item: string; name: string }> = [
  { path: '/v3/roles', list: 'roles', item: 'role', name: 'roles' },
  { path: '/v3/extensions', list: 'extensions', item: 'extension', name: 'extensions (custom fields, widgets, dashboards)' },
  { path: '/v3/labels', list: 'labels', item: 'label', name: 'labels' },
  { path: '/v3/workflows', list: 'workflows', item: 'workflow', name: 'workflows' },
  { path: '/v3/workflows/publishing_rules', list: 'publishing_rules', item: 'publishing_rule', name: 'publish rules' },
  { path: '/v3/releases', list: 'releases', item: 'release', name: 'releases' },
  { path: '/v3/taxonomies', list: 'taxonomies', item: 'taxonomy', name: 'taxonomies' },
  { path: '/v3/variant_groups', list: 'variant_groups', item: 'variant_group', name: 'variant groups' },
];

/** What the vendors' tools ask of these lists; on an empty list each is honoured by answering it. */
const EMPTY_LIST_FLAGS = {
  include_rules: Flag('roles: include their rules'),
  include_permissions: Flag('roles: include their permissions'),
  include_branch: Flag('include the branch of each item'),
};

export default function absentModuleRoutes(app: FastifyInstance, h: Herald) {
  for (const m of ABSENT_MODULES) {
    app.get<{ Querystring: Record<string, string | undefined> }>(m.path, doc(TAGS.stacks, `List ${m.name}: always empty (Herald has no ${m.name})`, { querystring: ListQuery(EMPTY_LIST_FLAGS) }), async (req) => {
      await h.scope(req);
      return presentList(m.list, [], req.query);
    });
    app.get<{ Params: { uid: string } }>(`${m.path}/:uid`, doc(TAGS.stacks, `Get one of the ${m.name}: always 404 (Herald has none)`, { params: Params({ uid: 'the uid' }) }), async (req) => {
      await h.scope(req);
      throw notFound(`${m.item} ${req.params.uid} (Herald has no ${m.name})`);
    });
    app.post(m.path, doc(TAGS.stacks, `Create one of the ${m.name}: refused (Herald has no ${m.name})`), async (req) => {
      await h.scope(req);
      throw new HeraldError('validation_failed', `Herald has no ${m.name}: a ${m.item} cannot be created. Remove it from what you import.`, {
        errors: { [m.item]: [`is a Contentstack module Herald does not have (${m.name})`] },
      });
    });
  }
}
