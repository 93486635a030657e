import type { Caller } from '../auth/caller.ts';

/** Routes import authentication from here; it lives in auth/access.ts (no dependency on fastify). */
export type { Caller, StackScope } from '../auth/caller.ts';
export { authenticate, requireAdmin, scopeTo, stackScope } from '../auth/access.ts';

/** Who a webhook change is made by, as its operational events name it (webhooks/service.ts `change`). */
export function byCaller(caller: Caller): { actor: string; actor_name: string | null } {
  return { actor: caller.actor, actor_name: caller.kind === 'admin' ? 'admin' : (caller.name ?? null) };
}
