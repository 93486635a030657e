import type { IncomingHttpHeaders } from 'node:http';
import { HeraldError } from '../errors.ts';
import type { Db, Queryable } from '../store/db.ts';
import { branchExists } from '../content/branches.ts';
import { stackKnown } from '../stacks/stacks.ts';
import { findManagementToken } from '../stacks/tokens.ts';
import type { Caller, StackScope } from './caller.ts';
import { hashPresentedToken, sameHash } from './secrets.ts';

/**
 * Who a request's credentials name, and which stack and branch it may act on. Reads the request's
 * headers only (any object with Node's header shape: a fastify request is one), so the composition
 * root and the domain never depend on the HTTP framework; http/auth.ts re-exports these for routes.
 */
export interface WithHeaders {
  headers: IncomingHttpHeaders;
}

function header(req: WithHeaders, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export async function authenticate(req: WithHeaders, db: Queryable, adminHash: string): Promise<Caller> {
  const authtoken = header(req, 'authtoken');
  if (authtoken) {
    if (sameHash(hashPresentedToken(authtoken), adminHash)) return { kind: 'admin', actor: 'admin' };
    throw new HeraldError('unauthorized', 'The authtoken is not valid.');
  }
  let token = header(req, 'authorization');
  if (token) {
    token = token.replace(/^Bearer\s+/i, '').trim();
    if (sameHash(hashPresentedToken(token), adminHash)) return { kind: 'admin', actor: 'admin' };
    const row = await findManagementToken(db, hashPresentedToken(token));
    if (row) {
      return { kind: 'token', api_key: row.api_key, token_uid: row.uid, actor: row.uid, name: row.name };
    }
    throw new HeraldError('unauthorized', 'The management token is not valid or has expired.');
  }
  throw new HeraldError('unauthorized', 'Authentication is required: send a management token in `authorization`.');
}

export function requireAdmin(caller: Caller): void {
  if (caller.kind !== 'admin') throw new HeraldError('forbidden', 'Only the admin token may do this.');
}

/**
 * Checks the caller may act on stack `apiKey` and branch `branch`. A token of another stack, an
 * unknown stack and an unknown branch all get the same 404: existence does not leak.
 */
export async function scopeTo(db: Db, caller: Caller, apiKey: string | undefined, branch = 'main'): Promise<StackScope> {
  if (!apiKey) {
    throw new HeraldError('validation_failed', 'The api_key header is required.', { errors: { api_key: ['is required'] } });
  }
  if (caller.kind === 'token' && caller.api_key !== apiKey) throw new HeraldError('not_found', 'Stack was not found.');
  if (!(await stackKnown(db, apiKey))) throw new HeraldError('not_found', 'Stack was not found.');
  if (branch !== 'main') {
    if (!(await branchExists(db, apiKey, branch))) throw new HeraldError('not_found', `Branch ${branch} was not found.`);
  }
  return { api_key: apiKey, branch, caller };
}

/** The stack scope of a Contentstack-dialect request: headers `api_key` and `branch`. */
export async function stackScope(req: WithHeaders, db: Db, adminHash: string): Promise<StackScope> {
  const caller = await authenticate(req, db, adminHash);
  return scopeTo(db, caller, header(req, 'api_key'), header(req, 'branch') || 'main');
}
