/** Routes import authentication from here; it lives in auth/access.ts (no dependency on fastify). */
export type { Caller, StackScope } from '../auth/caller.ts';
export { authenticate, requireAdmin, scopeTo, stackScope } from '../auth/access.ts';
