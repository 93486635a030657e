import type { FastifyInstance } from 'fastify';
import { branchOrigins, createBranch, deleteBranch, getBranch, listBranches } from '../../content/branches.ts';
import { bodyField } from '../../content/field-errors.ts';
import type { Herald } from '../../herald.ts';
import { ListQuery, presentList } from '../list.ts';
import { Type } from '@sinclair/typebox';
import { doc, CREATED, Envelope, Query, TAGS, UID } from '../schemas.ts';

/** Branches (Contentstack CMA `/v3/stacks/branches`). A new branch is a copy of its source. */
export default function branchRoutes(app: FastifyInstance, h: Herald) {
  app.post('/v3/stacks/branches', doc(TAGS.branches, 'Create a branch (a copy of its source)', { body: Envelope('branch', 'uid, source'), success: CREATED }), async (req, reply) => {
    const scope = await h.scope(req);
    const branch = await createBranch(h, scope, bodyField(req.body, 'branch'));
    reply.status(201);
    return { notice: 'Branch created successfully.', branch };
  });

  app.get<{ Querystring: Record<string, string | undefined> }>('/v3/stacks/branches', doc(TAGS.branches, 'List branches', { querystring: ListQuery() }), async (req) => {
    const scope = await h.scope(req);
    // Contentstack's branch list always carries `count`.
    const body = presentList('branches', (await listBranches(h.db, scope)), { include_count: 'true', ...req.query });
    return body;
  });

  // Herald's own, not Contentstack's (whose branch list the vendor tools read, so it carries no key of
  // Herald's): how each branch was made. The backup center reads it to make a branch again as it was
  // made, its copy taking its source's publications or not. Every branch in one answer: a stack has few.
  app.get('/v3/herald/branches', doc(TAGS.branches, "Herald's own record of how each branch was made: uid, source, publications_copied (true: made as a Contentful environment, whose copy took its source's publications; false: made through /v3, or main; null: made before Herald recorded it)"), async (req) => {
    const scope = await h.scope(req);
    return { branches: await branchOrigins(h.db, scope.api_key) };
  });

  app.get<{ Params: { uid: string } }>('/v3/stacks/branches/:uid', doc(TAGS.branches, 'Get a branch', { params: UID }), async (req) => {
    const scope = await h.scope(req);
    return { branch: await getBranch(h.db, scope, req.params.uid) };
  });

  // The management SDK's branch.delete() always sends force=true, Contentstack's confirmation; Herald
  // deletes with or without it, and no other value is taken (a 400 naming force).
  const FORCE = Query({ force: Type.String({ enum: ['true'], description: 'true (what the management SDK sends); the branch is deleted either way' }) });
  app.delete<{ Params: { uid: string } }>('/v3/stacks/branches/:uid', doc(TAGS.branches, 'Delete a branch', { params: UID, querystring: FORCE }), async (req) => {
    const scope = await h.scope(req);
    await deleteBranch(h, scope, req.params.uid);
    return { notice: 'Branch deleted successfully.' };
  });
}
