import type { FastifyInstance } from 'fastify';
import { notFound } from '../../errors.ts';
import type { Herald } from '../../herald.ts';
import { createStack, getStack, listStacks } from '../../stacks/stacks.ts';
import { createManagementToken, deleteManagementToken, listManagementTokens } from '../../stacks/tokens.ts';
import { requireAdmin } from '../auth.ts';
import { doc, CREATED, Envelope, Params, TAGS } from '../schemas.ts';

/**
 * Stacks and management tokens (Contentstack CMA shapes; src/stacks/).
 * POST /v3/stacks (admin) creates a stack with branch `main` and its master locale.
 */
export default function stackRoutes(app: FastifyInstance, h: Herald) {
  app.post('/v3/stacks', doc(TAGS.stacks, 'Create a stack (admin token)', { body: Envelope('stack', 'name, description, master_locale'), success: CREATED }), async (req, reply) => {
    const caller = await h.caller(req);
    requireAdmin(caller);
    const stack = await createStack(h.db, req.body, caller);
    reply.status(201);
    return { notice: 'Stack created successfully.', stack };
  });

  // GET /v3/stacks: with an api_key header, that stack; without, every stack the caller can see.
  app.get('/v3/stacks', doc(TAGS.stacks, 'The stack of the api_key header, or every stack the caller can see'), async (req) => {
    const caller = await h.caller(req);
    const apiKey = req.headers.api_key as string | undefined;
    if (apiKey) {
      const scope = await h.scope(req);
      return { stack: await getStack(h.db, scope.api_key) };
    }
    return { stacks: await listStacks(h.db, caller) };
  });

  // Management tokens: created by the admin for a stack, shown once, stored hashed.
  app.post('/v3/stacks/management_tokens', doc(TAGS.stacks, 'Create a management token for the stack (admin token); shown once', { body: Envelope('token', 'name, description, expires_on, scope', { required: false }), success: CREATED }), async (req, reply) => {
    const scope = await h.scope(req);
    requireAdmin(scope.caller);
    const token = await createManagementToken(h.db, scope.api_key, req.body);
    reply.status(201);
    // The only response that ever contains the token.
    return { notice: 'Management Token created successfully.', token };
  });

  app.get('/v3/stacks/management_tokens', doc(TAGS.stacks, "The stack's management tokens, masked"), async (req) => {
    const scope = await h.scope(req);
    return { tokens: await listManagementTokens(h.db, scope.api_key) };
  });

  app.delete<{ Params: { uid: string } }>('/v3/stacks/management_tokens/:uid', doc(TAGS.stacks, 'Delete a management token (admin token)', { params: Params({ uid: 'the token uid' }) }), async (req) => {
    const scope = await h.scope(req);
    requireAdmin(scope.caller);
    if (!(await deleteManagementToken(h.db, scope.api_key, req.params.uid))) throw notFound('Management token');
    return { notice: 'Management Token deleted successfully.' };
  });
}
