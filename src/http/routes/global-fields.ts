import type { FastifyInstance } from 'fastify';
import { bodyField } from '../../content/field-errors.ts';
import {
  createGlobalField,
  deleteGlobalField,
  listGlobalFields,
  requireGlobalField,
  resolveSchema,
  updateGlobalField,
  withoutGlobalFieldSchemas,
  type GlobalFieldDoc,
} from '../../content/global-fields.ts';
import { parseFlag } from '../../content/read-query.ts';
import type { Herald } from '../../herald.ts';
import { ListQuery, presentList } from '../list.ts';
import { doc, CREATED, Envelope, Flag, Query, TAGS, UID } from '../schemas.ts';
import { branchOn, branchOnOne, INCLUDE_BRANCH } from '../include-branch.ts';

/**
 * `include_global_field_schema`: global_field fields nested in a global field carry that global
 * field's schema (Contentstack's nested global fields, api_version 3.2); without it they carry
 * their `reference_to` only.
 */
const GF_READ = { include_global_field_schema: Flag('nested global_field fields carry their schema'), ...INCLUDE_BRANCH };

/** Global fields (Contentstack CMA `/v3/global_fields`); see src/content/global-fields.ts. */
export default function globalFieldRoutes(app: FastifyInstance, h: Herald) {
  /** As the API shows one: nested global fields resolved when asked, from all of the branch's. */
  const present = (all: GlobalFieldDoc[], include: boolean) => {
    const byUid = new Map(all.map((g) => [g.uid, g]));
    return (g: GlobalFieldDoc): GlobalFieldDoc => ({ ...g, schema: include ? resolveSchema(g.schema, byUid, new Set([g.uid])) : withoutGlobalFieldSchemas(g.schema) });
  };

  app.post<{ Querystring: Record<string, string | undefined> }>('/v3/global_fields', doc(TAGS.contentTypes, 'Create a global field', { querystring: Query(INCLUDE_BRANCH), body: Envelope('global_field', 'title, uid, schema: [fields]'), success: CREATED }), async (req, reply) => {
    const scope = await h.scope(req);
    const global_field = branchOnOne(await createGlobalField(h, scope, bodyField(req.body, 'global_field')), req.query, scope.branch);
    reply.status(201);
    return { notice: 'Global Field created successfully.', global_field };
  });

  app.get<{ Querystring: Record<string, string | undefined> }>('/v3/global_fields', doc(TAGS.contentTypes, 'List global fields', { querystring: ListQuery(GF_READ) }), async (req) => {
    const scope = await h.scope(req);
    const all = await listGlobalFields(h.db, scope);
    const include = parseFlag(req.query.include_global_field_schema, 'include_global_field_schema');
    return presentList('global_fields', branchOn(all.map(present(all, include)), req.query, scope.branch), { asc: 'created_at', ...req.query });
  });

  app.get<{ Params: { uid: string }; Querystring: Record<string, string | undefined> }>('/v3/global_fields/:uid', doc(TAGS.contentTypes, 'Get a global field', { params: UID, querystring: Query(GF_READ) }), async (req) => {
    const scope = await h.scope(req);
    const gf = await requireGlobalField(h.db, scope, req.params.uid);
    const include = parseFlag(req.query.include_global_field_schema, 'include_global_field_schema');
    return { global_field: branchOnOne(present(include ? await listGlobalFields(h.db, scope) : [], include)(gf), req.query, scope.branch) };
  });

  app.put<{ Params: { uid: string }; Querystring: Record<string, string | undefined> }>('/v3/global_fields/:uid', doc(TAGS.contentTypes, 'Update a global field (content types embedding it use the new schema at once)', { params: UID, querystring: Query(INCLUDE_BRANCH), body: Envelope('global_field', 'the fields to change') }), async (req) => {
    const scope = await h.scope(req);
    const global_field = branchOnOne(await updateGlobalField(h, scope, req.params.uid, bodyField(req.body, 'global_field')), req.query, scope.branch);
    return { notice: 'Global Field updated successfully.', global_field };
  });

  app.delete<{ Params: { uid: string } }>('/v3/global_fields/:uid', doc(TAGS.contentTypes, 'Delete a global field (refused while a content type or global field embeds it)', { params: UID }), async (req) => {
    const scope = await h.scope(req);
    await deleteGlobalField(h, scope, req.params.uid);
    return { notice: 'Global Field deleted successfully.' };
  });
}
