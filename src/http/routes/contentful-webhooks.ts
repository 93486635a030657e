import type { FastifyInstance } from 'fastify';
import { byCaller } from '../auth.ts';
import { callDetails, callOverview } from '../../contentful/calls.ts';
import { link } from '../../contentful/entities.ts';
import { versionMismatch } from '../../contentful/errors.ts';
import { collection, CONTENTFUL_ID, objectBody, paging, pagingOnly, simpleList, spaceScope, versionHeader, noQuery } from '../contentful.ts';
import { getSpaceSettings, maxRetriesProblem, notSet, setRetryPolicy, setSigningSecret, signingSecretProblem } from '../../contentful/settings.ts';
import { contentfulWebhookId, fromContentful, inContentfulTerms, presentDefinition, scopedWebhookUid, storedUidsOf } from '../../contentful/webhooks.ts';
import { attemptHealth, getAttempt, listAttempts } from '../../delivery/log.ts';
import { createTargetPolicy } from '../../net/target.ts';
import { invalid, notFound } from '../../errors.ts';
import type { Herald } from '../../herald.ts';
import { bltUid } from '../../ids.ts';
import { branchUids } from '../../content/branches.ts';
import type { Queryable } from '../../store/db.ts';
import type { WebhookChange } from '../../webhooks/service.ts';
import { validateWebhook, type ParseContext } from '../../webhooks/validate.ts';
import type { Webhook } from '../../webhooks/webhook.ts';
import { contentfulDoc, CREATED, NO_CONTENT } from '../schemas.ts';

type Space = { Params: { space: string }; Querystring: Record<string, string | undefined> };
type One = { Params: { space: string; id: string }; Querystring: Record<string, string | undefined> };
type Call = { Params: { space: string; id: string; call: string } };

/**
 * Webhooks in the Contentful dialect (Content Management API paths, as `contentful-management`'s
 * plain client calls them):
 *   POST   /spaces/:space/webhook_definitions           create (format contentful) -> 201
 *   GET    /spaces/:space/webhook_definitions           skip, limit -> { sys, total, skip, limit, items }
 *   GET    /spaces/:space/webhook_definitions/:id
 *   PUT    /spaces/:space/webhook_definitions/:id       X-Contentful-Version (stale: 409); an unknown id without a version creates it
 *   DELETE /spaces/:space/webhook_definitions/:id       -> 204
 *   GET    /spaces/:space/webhooks/:id/calls            each attempt, newest first
 *   GET    /spaces/:space/webhooks/:id/calls/:call      one attempt with its request and response
 *   GET    /spaces/:space/webhooks/:id/health           { calls: { total, healthy } }
 *   PUT|GET|DELETE /spaces/:space/webhook_settings/signing_secret   { value } (64 characters), shown redacted
 *   PUT|GET|DELETE /spaces/:space/webhook_settings/retry_policy     { maxRetries }
 * Every definition is the same Webhook record /v3/webhooks shows (one activity log); definitions
 * created here are Contentful-format and cover every branch (environment) the space has.
 */
export default function contentfulWebhookRoutes(app: FastifyInstance, h: Herald) {
  const policy = createTargetPolicy(h.config.allowPrivateTargets);

  /** The shared validation, its errors in Contentful's field names. */
  const validate = async (q: Queryable, apiKey: string, body: unknown, ctx: ParseContext) => {
    try {
      return await validateWebhook(q, apiKey, body, ctx);
    } catch (err) {
      throw inContentfulTerms(err);
    }
  };

  const found = (w: Webhook | undefined): Webhook => {
    if (!w) throw notFound('Webhook definition');
    return w;
  };
  /** The space's webhook with this Contentful id (ids are unique per space: contentful/webhooks.ts). */
  async function definition(get: (uid: string) => Promise<Webhook | undefined>, apiKey: string, id: string): Promise<Webhook | undefined> {
    for (const uid of storedUidsOf(apiKey, id)) {
      const w = await get(uid);
      if (w) return w;
    }
    return undefined;
  }

  /** Creates a Contentful-format webhook from a Contentful body, with `uid`. */
  async function create(c: WebhookChange, apiKey: string, uid: string, raw: unknown): Promise<Webhook> {
    const mapped = fromContentful(raw);
    const now = Date.now();
    const def = await validate(c.tx, apiKey, mapped.body, { policy, now });
    const w: Webhook = {
      uid,
      api_key: apiKey,
      ...def,
      // Contentful webhooks fire in every environment unless filtered, those made later too.
      branches: await branchUids(c.tx, apiKey),
      all_branches: true,
      format: 'contentful',
      transformation: mapped.transformation,
      disabled_reason: null,
      created_at: now,
      updated_at: now,
      version: 1,
    };
    await c.create(w);
    return w;
  }

  app.post<Space>('/spaces/:space/webhook_definitions', contentfulDoc('/spaces/:space/webhook_definitions', 'Create a webhook definition', CREATED), async (req, reply) => {
    const scope = await spaceScope(h, req, req.params.space);
    const w = await h.webhooks.change(scope.api_key, (c) => create(c, scope.api_key, bltUid(), req.body));
    reply.status(201);
    return presentDefinition(w);
  });

  app.get<Space>('/spaces/:space/webhook_definitions', contentfulDoc('/spaces/:space/webhook_definitions', 'List webhook definitions (skip, limit; sys.* filters, order, select)'), async (req) => {
    const scope = await spaceScope(h, req, req.params.space);
    const query = (req.query ?? {}) as Record<string, unknown>;
    if (Object.keys(query).some((k) => k !== 'skip' && k !== 'limit')) {
      // contentful-export sends order=sys.createdAt,sys.id: searched over every definition of the space.
      const all = (await h.webhooks.list(scope.api_key, { skip: 0, limit: Number.MAX_SAFE_INTEGER })).map(presentDefinition);
      const { items, total, page } = simpleList(query, all);
      return collection(items, page, total);
    }
    const page = paging(query);
    const items = page.limit === 0 ? [] : await h.webhooks.list(scope.api_key, page);
    return collection(items.map(presentDefinition), page, await h.webhooks.count(scope.api_key));
  });

  app.get<One>('/spaces/:space/webhook_definitions/:id', { ...contentfulDoc('/spaces/:space/webhook_definitions/:id', 'Get a webhook definition'), preHandler: noQuery }, async (req) => {
    const scope = await spaceScope(h, req, req.params.space);
    return presentDefinition(found(await definition((uid) => h.webhooks.get(scope.api_key, uid), scope.api_key, req.params.id)));
  });

  app.put<One>('/spaces/:space/webhook_definitions/:id', contentfulDoc('/spaces/:space/webhook_definitions/:id', 'Update a webhook definition (X-Contentful-Version), or create one with this id'), async (req, reply) => {
    const scope = await spaceScope(h, req, req.params.space);
    const sent = versionHeader(req);
    let created = false;
    const w = await h.webhooks.change(scope.api_key, async (c) => {
      const existing = await definition(c.get, scope.api_key, req.params.id);
      if (!existing) {
        // Contentful's create-with-id: a PUT without a version to an id this space does not use yet.
        if (sent !== null) throw notFound('Webhook definition');
        if (!CONTENTFUL_ID.test(req.params.id)) throw invalid('sys.id', 'must be letters, digits, ".", "-" and "_" (at most 64)');
        created = true;
        return create(c, scope.api_key, scopedWebhookUid(scope.api_key, req.params.id), req.body);
      }
      if (sent !== existing.version) throw versionMismatch('the webhook definition', sent, existing.version);
      const mapped = fromContentful(req.body, existing.destinations[0]);
      const now = Date.now();
      const def = await validate(c.tx, scope.api_key, mapped.body, { policy, existing, now });
      return found(await c.update({ ...existing, ...def, format: existing.format, transformation: mapped.transformation }, now));
    }, byCaller(scope.caller));
    if (created) reply.status(201);
    return presentDefinition(w);
  });

  app.delete<One>('/spaces/:space/webhook_definitions/:id', contentfulDoc('/spaces/:space/webhook_definitions/:id', 'Delete a webhook definition', NO_CONTENT), async (req, reply) => {
    const scope = await spaceScope(h, req, req.params.space);
    const deleted = await h.webhooks.change(scope.api_key, async (c) => {
      const w = await definition(c.get, scope.api_key, req.params.id);
      return w ? c.delete(w.uid) : false;
    });
    if (!deleted) throw notFound('Webhook definition');
    reply.status(204);
  });

  // The activity log: each attempt is a call.
  const webhookOf = async (apiKey: string, id: string) => found(await definition((uid) => h.webhooks.get(apiKey, uid), apiKey, id));

  app.get<One>('/spaces/:space/webhooks/:id/calls', contentfulDoc('/spaces/:space/webhooks/:id/calls', "A webhook's recent calls"), async (req) => {
    const scope = await spaceScope(h, req, req.params.space);
    const w = await webhookOf(scope.api_key, req.params.id);
    const page = pagingOnly(req.query as Record<string, unknown>);
    const { attempts, total } = await listAttempts(h.db, w.uid, page);
    return collection(attempts.map((a) => callOverview(a, w)), page, total);
  });

  app.get<Call>('/spaces/:space/webhooks/:id/calls/:call', { ...contentfulDoc('/spaces/:space/webhooks/:id/calls/:call', 'One call with its request and response'), preHandler: noQuery }, async (req) => {
    const scope = await spaceScope(h, req, req.params.space);
    const w = await webhookOf(scope.api_key, req.params.id);
    const a = await getAttempt(h.db, w.uid, req.params.call);
    if (!a) throw notFound('Webhook call');
    return callDetails(a, w);
  });

  app.get<One>('/spaces/:space/webhooks/:id/health', { ...contentfulDoc('/spaces/:space/webhooks/:id/health', "A webhook's health: calls in all and healthy"), preHandler: noQuery }, async (req) => {
    const scope = await spaceScope(h, req, req.params.space);
    const w = await webhookOf(scope.api_key, req.params.id);
    return { sys: { type: 'Webhook', id: contentfulWebhookId(w), space: link('Space', w.api_key) }, calls: await attemptHealth(h.db, w.uid) };
  });

  // Space settings.
  const settingSys = (type: string, id: string, apiKey: string, createdAt: number, updatedAt: number) => ({
    type,
    id,
    space: link('Space', apiKey),
    createdAt: new Date(createdAt).toISOString(),
    updatedAt: new Date(updatedAt).toISOString(),
  });

  const secretView = async (apiKey: string) => {
    const s = await getSpaceSettings(h.db, apiKey);
    if (!s?.signing_secret) throw notSet('webhook signing secret');
    return {
      sys: settingSys('WebhookSigningSecret', 'signing_secret', apiKey, s.signing_secret_at!, s.signing_secret_at!),
      // Never the secret itself once set: its last 4 characters.
      redactedValue: s.signing_secret.slice(-4),
    };
  };

  app.put<Space>('/spaces/:space/webhook_settings/signing_secret', contentfulDoc('/spaces/:space/webhook_settings/signing_secret', "Set the space's signing secret (64 characters)"), async (req, reply) => {
    const scope = await spaceScope(h, req, req.params.space);
    const body = objectBody(req.body, '{ "value": "<64 characters>" }');
    const problem = signingSecretProblem(body.value);
    if (problem) throw invalid('value', problem);
    await setSigningSecret(h.db, scope.api_key, body.value as string, Date.now());
    reply.header('cache-control', 'no-store');
    return secretView(scope.api_key);
  });

  app.get<Space>('/spaces/:space/webhook_settings/signing_secret', { ...contentfulDoc('/spaces/:space/webhook_settings/signing_secret', "The space's signing secret, redacted"), preHandler: noQuery }, async (req) => {
    const scope = await spaceScope(h, req, req.params.space);
    return secretView(scope.api_key);
  });

  app.delete<Space>('/spaces/:space/webhook_settings/signing_secret', contentfulDoc('/spaces/:space/webhook_settings/signing_secret', "Remove the space's signing secret", NO_CONTENT), async (req, reply) => {
    const scope = await spaceScope(h, req, req.params.space);
    const s = await getSpaceSettings(h.db, scope.api_key);
    if (!s?.signing_secret) throw notSet('webhook signing secret');
    await setSigningSecret(h.db, scope.api_key, null, Date.now());
    reply.status(204);
  });

  const policyView = async (apiKey: string) => {
    const s = await getSpaceSettings(h.db, apiKey);
    if (s?.max_retries === null || s?.max_retries === undefined) throw notSet('webhook retry policy');
    return { sys: settingSys('WebhookRetryPolicy', 'retry_policy', apiKey, s.retry_policy_at!, s.retry_policy_at!), maxRetries: s.max_retries };
  };

  app.put<Space>('/spaces/:space/webhook_settings/retry_policy', contentfulDoc('/spaces/:space/webhook_settings/retry_policy', "Set the space's retry policy (maxRetries)"), async (req) => {
    const scope = await spaceScope(h, req, req.params.space);
    const body = objectBody(req.body, '{ "maxRetries": 2 }');
    const problem = maxRetriesProblem(body.maxRetries);
    if (problem) throw invalid('maxRetries', problem);
    await setRetryPolicy(h.db, scope.api_key, body.maxRetries as number, Date.now());
    return policyView(scope.api_key);
  });

  app.get<Space>('/spaces/:space/webhook_settings/retry_policy', { ...contentfulDoc('/spaces/:space/webhook_settings/retry_policy', "The space's retry policy"), preHandler: noQuery }, async (req) => {
    const scope = await spaceScope(h, req, req.params.space);
    return policyView(scope.api_key);
  });

  app.delete<Space>('/spaces/:space/webhook_settings/retry_policy', contentfulDoc('/spaces/:space/webhook_settings/retry_policy', "Remove the space's retry policy (back to Herald's)", NO_CONTENT), async (req, reply) => {
    const scope = await spaceScope(h, req, req.params.space);
    await policyView(scope.api_key);
    await setRetryPolicy(h.db, scope.api_key, null, Date.now());
    reply.status(204);
  });

}
