import { hashToken, mask, newToken } from '../auth/secrets.ts';
import { invalid } from '../errors.ts';
import { bltUid } from '../ids.ts';
import { json, type Queryable } from '../store/db.ts';

/**
 * Management tokens: made by the admin for one stack, shown once, stored as a SHA-256 hash with
 * their last four characters (to tell them apart in a list). The `management_tokens` table.
 */

/** Creates a token from a request's `{ token: { name?, description?, expires_on?, scope? } }`; the answer is the only place the token ever shows. */
export async function createManagementToken(q: Queryable, apiKey: string, body: unknown): Promise<Record<string, unknown> & { token: string }> {
  const input = (body as { token?: { name?: unknown; description?: unknown; expires_on?: unknown; scope?: unknown } } | null)?.token ?? {};
  if (typeof input !== 'object') throw invalid('token', 'must be an object');
  const name = input.name === undefined ? 'management token' : input.name;
  if (typeof name !== 'string' || name.trim() === '') throw invalid('token.name', 'must be a non-empty string');
  let expiresAt: number | null = null;
  if (input.expires_on !== undefined && input.expires_on !== null && input.expires_on !== '') {
    expiresAt = Date.parse(String(input.expires_on));
    if (Number.isNaN(expiresAt)) throw invalid('token.expires_on', 'must be an ISO date');
  }
  const token = newToken('cs');
  const now = Date.now();
  const doc = {
    uid: bltUid(),
    name: name.trim(),
    description: typeof input.description === 'string' ? input.description : '',
    scope: Array.isArray(input.scope) ? input.scope : [{ module: 'content_type', acl: { read: true, write: true } }],
    expires_on: expiresAt === null ? null : new Date(expiresAt).toISOString(),
    created_at: new Date(now).toISOString(),
    updated_at: new Date(now).toISOString(),
    stack: apiKey,
  };
  await q.run(
    'INSERT INTO management_tokens (uid, api_key, name, token_hash, token_last4, doc, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    [doc.uid, apiKey, doc.name, hashToken(token), token.slice(-4), JSON.stringify(doc), now, expiresAt],
  );
  return { ...doc, token };
}

/** A stack's tokens, oldest first, each masked but for its last four characters. */
export async function listManagementTokens(q: Queryable, apiKey: string): Promise<Array<Record<string, unknown>>> {
  const rows = await q.all<{ doc: string; token_last4: string }>('SELECT doc, token_last4 FROM management_tokens WHERE api_key = ? ORDER BY created_at', [apiKey]);
  return rows.map((r) => ({ ...json<object>(r.doc), token: mask('x'.repeat(12) + r.token_last4) }));
}

/** Deletes a token of a stack; false when there was none. */
export async function deleteManagementToken(q: Queryable, apiKey: string, uid: string): Promise<boolean> {
  const { changes } = await q.run('DELETE FROM management_tokens WHERE uid = ? AND api_key = ?', [uid, apiKey]);
  return changes > 0;
}

/** The unexpired token with this hash, or undefined. */
export async function findManagementToken(q: Queryable, tokenHash: string, now = Date.now()): Promise<{ uid: string; api_key: string; name: string } | undefined> {
  const row = await q.get<{ uid: string; api_key: string; name: string; expires_at: number | null }>(
    'SELECT uid, api_key, name, expires_at FROM management_tokens WHERE token_hash = ?',
    [tokenHash],
  );
  return row && (row.expires_at === null || Number(row.expires_at) > now) ? { uid: row.uid, api_key: row.api_key, name: row.name } : undefined;
}
