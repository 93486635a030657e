/**
 * Who is calling. The admin token (header `authtoken`, like a Contentstack user token) may create
 * stacks and act on every stack; a management token (header `authorization`, bare or as
 * `Bearer <token>` for Contentful clients) acts on its own stack only. Checked by auth/access.ts;
 * the domain folders only read it.
 */
export type Caller =
  | { kind: 'admin'; actor: 'admin'; name?: 'admin' }
  /** `name`: the token's name, carried by the events it causes (payloads' `actor`). */
  | { kind: 'token'; api_key: string; token_uid: string; actor: string; name?: string };

/** The stack and branch a request acts on, once access to it was checked. */
export interface StackScope {
  api_key: string;
  branch: string;
  caller: Caller;
}
