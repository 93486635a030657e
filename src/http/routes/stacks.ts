import type { FastifyInstance } from 'fastify';
import { hashToken, mask, newToken } from '../../auth/secrets.ts';
import { invalid, notFound } from '../../errors.ts';
import type { Herald } from '../../herald.ts';
import { bltUid } from '../../ids.ts';
import { json } from '../../store/db.ts';
import { requireAdmin } from '../auth.ts';
import { doc, CREATED, Envelope, Params, TAGS } from '../schemas.ts';

/**
 * Stacks and management tokens (Contentstack CMA shapes).
 * POST /v3/stacks (admin) creates a stack with branch `main` and its master locale.
 */
export default function stackRoutes(app: FastifyInstance, h: Herald) {
  app.post('/v3/stacks', doc(TAGS.stacks, 'Create a stack (admin token)', { body: Envelope('stack', 'name, description, master_locale'), success: CREATED }), async (req, reply) => {
    const caller = await h.caller(req);
    requireAdmin(caller);
    const body = (req.body ?? {}) as { stack?: { name?: unknown; description?: unknown; master_locale?: unknown } };
    const input = body.stack;
    if (!input || typeof input !== 'object') throw invalid('stack', 'is required');
    if (typeof input.name !== 'string' || input.name.trim() === '') throw invalid('stack.name', 'is required');
    const masterLocale = input.master_locale === undefined ? 'en-us' : input.master_locale;
    if (typeof masterLocale !== 'string' || !/^[a-z]{2,3}(-[a-z0-9]{2,8})*$/i.test(masterLocale)) {
      throw invalid('stack.master_locale', 'must be a locale code such as en-us');
    }
    const now = Date.now();
    const apiKey = bltUid();
    const stack = {
      uid: apiKey,
      api_key: apiKey,
      name: input.name.trim(),
      description: typeof input.description === 'string' ? input.description : '',
      master_locale: masterLocale.toLowerCase(),
      created_at: new Date(now).toISOString(),
      updated_at: new Date(now).toISOString(),
      owner_uid: caller.actor,
    };
    await h.db.tx(async (tx) => {
      await tx.run('INSERT INTO stacks (api_key, name, doc, created_at, updated_at) VALUES (?, ?, ?, ?, ?)', [
        apiKey,
        stack.name,
        JSON.stringify(stack),
        now,
        now,
      ]);
      const branch = { uid: 'main', source: '', alias: [], created_at: stack.created_at, updated_at: stack.created_at };
      await tx.run('INSERT INTO branches (api_key, uid, source, doc, created_at) VALUES (?, ?, NULL, ?, ?)', [apiKey, 'main', JSON.stringify(branch), now]);
      const locale = { uid: bltUid(), code: stack.master_locale, name: stack.master_locale, fallback_locale: null, created_at: stack.created_at, updated_at: stack.created_at };
      await tx.run('INSERT INTO locales (api_key, code, uid, doc, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)', [
        apiKey,
        locale.code,
        locale.uid,
        JSON.stringify(locale),
        now,
        now,
      ]);
    });
    reply.status(201);
    return { notice: 'Stack created successfully.', stack };
  });

  // GET /v3/stacks: with an api_key header, that stack; without, every stack the caller can see.
  app.get('/v3/stacks', doc(TAGS.stacks, 'The stack of the api_key header, or every stack the caller can see'), async (req) => {
    const caller = await h.caller(req);
    const apiKey = req.headers.api_key as string | undefined;
    if (apiKey) {
      const scope = await h.scope(req);
      const row = await h.db.get<{ doc: string }>('SELECT doc FROM stacks WHERE api_key = ?', [scope.api_key]);
      return { stack: json(row!.doc) };
    }
    const rows =
      caller.kind === 'admin'
        ? await h.db.all<{ doc: string }>('SELECT doc FROM stacks ORDER BY created_at')
        : await h.db.all<{ doc: string }>('SELECT doc FROM stacks WHERE api_key = ?', [caller.api_key]);
    return { stacks: rows.map((r) => json(r.doc)) };
  });

  // Management tokens: created by the admin for a stack, shown once, stored hashed.
  app.post('/v3/stacks/management_tokens', doc(TAGS.stacks, 'Create a management token for the stack (admin token); shown once', { body: Envelope('token', 'name, description, expires_on, scope', { required: false }), success: CREATED }), async (req, reply) => {
    const scope = await h.scope(req);
    requireAdmin(scope.caller);
    const body = (req.body ?? {}) as { token?: { name?: unknown; description?: unknown; expires_on?: unknown; scope?: unknown } };
    const input = body.token ?? {};
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
      stack: scope.api_key,
    };
    await h.db.run(
      'INSERT INTO management_tokens (uid, api_key, name, token_hash, token_last4, doc, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      [doc.uid, scope.api_key, doc.name, hashToken(token), token.slice(-4), JSON.stringify(doc), now, expiresAt],
    );
    reply.status(201);
    // The only response that ever contains the token.
    return { notice: 'Management Token created successfully.', token: { ...doc, token } };
  });

  app.get('/v3/stacks/management_tokens', doc(TAGS.stacks, "The stack's management tokens, masked"), async (req) => {
    const scope = await h.scope(req);
    const rows = await h.db.all<{ doc: string; token_last4: string }>(
      'SELECT doc, token_last4 FROM management_tokens WHERE api_key = ? ORDER BY created_at',
      [scope.api_key],
    );
    return { tokens: rows.map((r) => ({ ...json<object>(r.doc), token: mask('x'.repeat(12) + r.token_last4) })) };
  });

  app.delete<{ Params: { uid: string } }>('/v3/stacks/management_tokens/:uid', doc(TAGS.stacks, 'Delete a management token (admin token)', { params: Params({ uid: 'the token uid' }) }), async (req) => {
    const scope = await h.scope(req);
    requireAdmin(scope.caller);
    const { changes } = await h.db.run('DELETE FROM management_tokens WHERE uid = ? AND api_key = ?', [req.params.uid, scope.api_key]);
    if (changes === 0) throw notFound('Management token');
    return { notice: 'Management Token deleted successfully.' };
  });
}

