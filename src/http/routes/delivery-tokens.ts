import type { FastifyInstance } from 'fastify';
import type { Herald } from '../../herald.ts';
import { createDeliveryToken, deleteDeliveryToken, getDeliveryToken, listDeliveryTokens, updateDeliveryToken } from '../../published/tokens.ts';
import { doc, CREATED, Envelope, Params, TAGS } from '../schemas.ts';

type One = { Params: { uid: string } };
const TOKEN = Envelope('token', 'name, description, scope: [{ module: "environment", environments: [names] }, { module: "branch", branches: [uids] }]');

/**
 * Delivery tokens (Contentstack `/v3/stacks/delivery_tokens`, as `stack.deliveryToken()` sends
 * it): managed with the stack's management token or the admin token; shown once, listed masked.
 */
export default function deliveryTokenRoutes(app: FastifyInstance, h: Herald) {
  app.post('/v3/stacks/delivery_tokens', doc(TAGS.delivery, 'Create a delivery token scoped to environments and branches; its value is shown once', { body: TOKEN, success: CREATED }), async (req, reply) => {
    const scope = await h.scope(req);
    const token = await createDeliveryToken(h.db, scope.api_key, scope.caller.actor, req.body);
    reply.status(201);
    return { notice: 'Delivery Token created successfully.', token };
  });

  app.get('/v3/stacks/delivery_tokens', doc(TAGS.delivery, "The stack's delivery tokens, masked"), async (req) => {
    const scope = await h.scope(req);
    return { tokens: await listDeliveryTokens(h.db, scope.api_key) };
  });

  app.get<One>('/v3/stacks/delivery_tokens/:uid', doc(TAGS.delivery, 'A delivery token, masked', { params: Params({ uid: 'the token uid' }) }), async (req) => {
    const scope = await h.scope(req);
    return { token: await getDeliveryToken(h.db, scope.api_key, req.params.uid) };
  });

  app.put<One>('/v3/stacks/delivery_tokens/:uid', doc(TAGS.delivery, "Rename or re-scope a delivery token (its value stays)", { params: Params({ uid: 'the token uid' }), body: TOKEN }), async (req) => {
    const scope = await h.scope(req);
    return { notice: 'Delivery Token updated successfully.', token: await updateDeliveryToken(h.db, scope.api_key, req.params.uid, scope.caller.actor, req.body) };
  });

  app.delete<One>('/v3/stacks/delivery_tokens/:uid', doc(TAGS.delivery, 'Revoke a delivery token', { params: Params({ uid: 'the token uid' }) }), async (req) => {
    const scope = await h.scope(req);
    await deleteDeliveryToken(h.db, scope.api_key, req.params.uid);
    return { notice: 'Delivery Token deleted successfully.' };
  });
}
