import type { FastifyInstance } from 'fastify';
import { byCaller } from '../auth.ts';
import { HeraldError, invalid, notFound } from '../../errors.ts';
import type { Herald } from '../../herald.ts';
import { ListQuery, presentList } from '../list.ts';
import { bltUid } from '../../ids.ts';
import { checkFormatOptions, formatNames } from '../../delivery/formats/index.ts';
import { createTargetPolicy } from '../../net/target.ts';
import { presentWebhook } from '../../webhooks/present.ts';
import { currentSecret, liveSecrets, newSigningSecret, MAX_GRACE_HOURS, rotateSecrets, signingSecretProblem } from '../../webhooks/signing-secrets.ts';
import { validateWebhook } from '../../webhooks/validate.ts';
import type { Webhook } from '../../webhooks/webhook.ts';
import { doc, Body, Field, CREATED, Envelope, Params, TAGS } from '../schemas.ts';

const WEBHOOK = Params({ uid: 'the webhook uid' });
const ROTATE = Body({
  grace_period_hours: Field('a number: hours the old secret keeps signing (default 24)'),
  signing_secret: Field('the new secret, whsec_... (default: generated)'),
});

/**
 * Webhook definitions (Contentstack CMA shapes, as `@contentstack/management` calls them):
 *   POST   /v3/webhooks                      { webhook } -> { notice, webhook } (with signing_secret, once)
 *   GET    /v3/webhooks                      skip, limit, include_count -> { webhooks, count? }
 *   GET    /v3/webhooks/:uid                 -> { webhook }
 *   PUT    /v3/webhooks/:uid                 { webhook } (merged over the stored one) -> { notice, webhook }
 *   DELETE /v3/webhooks/:uid                 -> { notice }
 *   POST   /v3/webhooks/:uid/enable|disable  -> { notice, webhook }
 *   GET    /v3/webhooks/:uid/secret          -> { signing_secret, signing_secrets } (the only route showing them)
 *   POST   /v3/webhooks/:uid/secret/rotate   { grace_period_hours?, signing_secret? } -> the same
 * Changes go through the webhooks service (webhooks/service.ts): after commit, matching sees them,
 * and enabling a webhook wakes the dispatcher.
 */
export default function webhookRoutes(app: FastifyInstance, h: Herald) {
  const policy = createTargetPolicy(h.config.allowPrivateTargets);

  const found = (w: Webhook | undefined): Webhook => {
    if (!w) throw notFound('Webhook');
    return w;
  };

  app.post('/v3/webhooks', doc(TAGS.webhooks, 'Create a webhook (the answer carries its signing secret, once)', { body: Envelope('webhook', 'name, destinations: [{ target_url (http, https, amqp, nats or redis URL), http_basic_auth, http_basic_password, custom_header, authentication_type (None, Basic, OAuth2, Bearer), access_token_url, client_id, client_secret, scope, request_query_parameters, bearer_token, client_certificate, client_key, ca_certificate }], channels, branches, retry_policy, disabled, concise_payload, conditions, format (contentstack, contentful or cloudevents), format_options (cloudevents: { mode: binary or structured }), signing_secret, notifiers (up to 10 email addresses told when Herald disables it), batch: { max_events, window_ms }, debounce_ms, rate_limit: { max, per }'), success: CREATED }), async (req, reply) => {
    const scope = await h.scope(req);
    const now = Date.now();
    const webhook = await h.webhooks.change(scope.api_key, async (c) => {
      const def = await validateWebhook(c.tx, scope.api_key, req.body, { policy, now, formats: formatNames(), formatOptions: checkFormatOptions });
      const w: Webhook = { uid: bltUid(), api_key: scope.api_key, ...def, disabled_reason: null, created_at: now, updated_at: now, version: 1 };
      await c.create(w);
      return w;
    });
    reply.status(201);
    // The only response that carries the signing secret, besides GET .../secret.
    return {
      notice: 'The Webhook was created successfully',
      webhook: { ...presentWebhook(webhook), signing_secret: currentSecret(webhook.signing_secrets) },
    };
  });

  app.get<{ Querystring: Record<string, string | undefined> }>('/v3/webhooks', doc(TAGS.webhooks, 'List webhooks', { querystring: ListQuery() }), async (req) => {
    const scope = await h.scope(req);
    // A stack's webhooks are few: filtered, sorted and paged in memory like the other lists.
    const webhooks = await h.webhooks.list(scope.api_key, { skip: 0, limit: Number.MAX_SAFE_INTEGER });
    return presentList('webhooks', webhooks.map(presentWebhook), req.query);
  });

  app.get<{ Params: { uid: string } }>('/v3/webhooks/:uid', doc(TAGS.webhooks, 'Get a webhook', { params: WEBHOOK }), async (req) => {
    const scope = await h.scope(req);
    return { webhook: presentWebhook(found(await h.webhooks.get(scope.api_key, req.params.uid))) };
  });

  app.put<{ Params: { uid: string } }>('/v3/webhooks/:uid', doc(TAGS.webhooks, 'Update a webhook (the fields given, over the stored ones)', { params: WEBHOOK, body: Envelope('webhook', 'the fields to change') }), async (req) => {
    const scope = await h.scope(req);
    const now = Date.now();
    const webhook = await h.webhooks.change(scope.api_key, async (c) => {
      const existing = found(await c.get(req.params.uid));
      const def = await validateWebhook(c.tx, scope.api_key, req.body, { policy, existing, now, formats: formatNames(), formatOptions: checkFormatOptions });
      return found(await c.update({ ...existing, ...def }, now));
    }, byCaller(scope.caller));
    return { notice: 'The Webhook was updated successfully', webhook: presentWebhook(webhook) };
  });

  app.delete<{ Params: { uid: string } }>('/v3/webhooks/:uid', doc(TAGS.webhooks, 'Delete a webhook', { params: WEBHOOK }), async (req) => {
    const scope = await h.scope(req);
    const deleted = await h.webhooks.change(scope.api_key, (c) => c.delete(req.params.uid));
    if (!deleted) throw notFound('Webhook');
    return { notice: 'The Webhook was deleted successfully' };
  });

  for (const action of ['enable', 'disable'] as const) {
    app.post<{ Params: { uid: string } }>(`/v3/webhooks/:uid/${action}`, doc(TAGS.webhooks, `${action === 'enable' ? 'Enable' : 'Disable'} a webhook`, { params: WEBHOOK }), async (req) => {
      const scope = await h.scope(req);
      // Enabling makes the executions that waited while it was disabled due now.
      const webhook = await h.webhooks.change(scope.api_key, async (c) => found(await c.setDisabled(req.params.uid, action === 'disable', null)), byCaller(scope.caller));
      return { notice: `The Webhook was ${action}d successfully`, webhook: presentWebhook(webhook) };
    });
  }

  const secrets = (w: Webhook) => ({
    signing_secret: currentSecret(w.signing_secrets),
    signing_secrets: liveSecrets(w.signing_secrets, Date.now()).map((s) => ({
      secret: s.secret,
      expires_at: s.expires_at === null ? null : new Date(s.expires_at).toISOString(),
    })),
  });

  app.get<{ Params: { uid: string } }>('/v3/webhooks/:uid/secret', doc(TAGS.webhooks, "A webhook's signing secrets (the only route that shows them)", { params: WEBHOOK }), async (req, reply) => {
    const scope = await h.scope(req);
    reply.header('cache-control', 'no-store');
    return secrets(found(await h.webhooks.get(scope.api_key, req.params.uid)));
  });

  app.post<{ Params: { uid: string } }>('/v3/webhooks/:uid/secret/rotate', doc(TAGS.webhooks, 'Rotate the signing secret: old and new both sign during the grace period', { params: WEBHOOK, body: ROTATE }), async (req, reply) => {
    const scope = await h.scope(req);
    const body = (req.body ?? {}) as { grace_period_hours?: unknown; signing_secret?: unknown };
    if (typeof body !== 'object' || Array.isArray(body)) throw new HeraldError('bad_request', 'The body must be a JSON object.');
    for (const key of Object.keys(body)) if (key !== 'grace_period_hours' && key !== 'signing_secret') throw invalid(key, 'is not a known field');
    let graceHours = 24;
    if (body.grace_period_hours !== undefined) {
      const g = body.grace_period_hours;
      if (typeof g !== 'number' || !Number.isFinite(g) || g < 0 || g > MAX_GRACE_HOURS) {
        throw invalid('grace_period_hours', `must be a number of hours from 0 to ${MAX_GRACE_HOURS}`);
      }
      graceHours = g;
    }
    let next = newSigningSecret();
    if (body.signing_secret !== undefined) {
      const problem = signingSecretProblem(body.signing_secret);
      if (problem) throw invalid('signing_secret', problem);
      next = body.signing_secret as string;
    }
    const now = Date.now();
    const webhook = await h.webhooks.change(scope.api_key, async (c) => {
      const existing = found(await c.get(req.params.uid));
      const signing_secrets = rotateSecrets(existing.signing_secrets, next, now, Math.round(graceHours * 3_600_000));
      return found(await c.update({ ...existing, signing_secrets }, now));
    });
    reply.header('cache-control', 'no-store');
    return { notice: 'The signing secret was rotated successfully', ...secrets(webhook) };
  });
}
