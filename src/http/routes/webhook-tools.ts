import type { FastifyInstance } from 'fastify';
import { HeraldError, invalid, notFound } from '../../errors.ts';
import type { Herald } from '../../herald.ts';
import { latestEvents } from '../../events/record.ts';
import { DEFAULT_PREVIEW_EVENTS, MAX_PREVIEW_EVENTS, previewWebhook } from '../../delivery/preview.ts';
import { createTargetPolicy } from '../../net/target.ts';
import { getWebhook } from '../../webhooks/store.ts';
import { validateWebhook } from '../../webhooks/validate.ts';
import type { Webhook } from '../../webhooks/webhook.ts';
import { doc, Body, Field, Query, TAGS, Text } from '../schemas.ts';
import { checkFormatOptions, describedFormats, formatNames } from '../../delivery/formats/index.ts';
import { stackAsyncApi, stackCatalog } from '../../delivery/stack-catalog.ts';

const PREVIEW = Body({
  webhook: Field('the webhook as it would be saved: { name, destinations, channels, branches, conditions, concise_payload, format, ... } (required)'),
  last: Field(`how many of the stack's newest events to try, 1 to ${MAX_PREVIEW_EVENTS} (default ${DEFAULT_PREVIEW_EVENTS})`),
  webhook_uid: Field('a saved webhook the given fields change (as PUT merges them): its secrets are used, never shown'),
});

const SCHEMAS = Query({
  format: Text('only this payload format: contentstack, contentful or cloudevents'),
  content_type: Text("only entry events of this content type (asset and content type events are listed too)"),
  event: Text('only this event, module.action (entry.publish, asset.update, content_type.delete)'),
});

/**
 * Tools around webhooks that store nothing:
 *   POST /v3/webhooks/preview   { webhook, last?, webhook_uid? } -> { preview: { total, matched, events } }
 *     a dry run of an unsaved webhook (or of changes to a saved one) over the stack's newest events:
 *     each event matched or not and why (branch, channel, which condition), and the exact request a
 *     match would send (secrets masked).
 *   GET  /v3/webhooks/schemas   format?, content_type?, event? -> { schemas: [{ format, event, channel, topic, schema, example, ... }] }
 *     the event catalog: a JSON Schema and an example of every payload, per format and content type
 *   GET  /v3/asyncapi.json      the same catalog as an AsyncAPI 3.0 document
 */
export default function webhookToolRoutes(app: FastifyInstance, h: Herald) {
  const policy = createTargetPolicy(h.config.allowPrivateTargets);

  app.post('/v3/webhooks/preview', doc(TAGS.webhooks, 'Dry-run a webhook over the newest events: what it would match, why not, and the requests it would send', { body: PREVIEW }), async (req) => {
    const scope = await h.scope(req);
    const body = req.body as Record<string, unknown> | undefined;
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new HeraldError('bad_request', 'The body must be a JSON object: { "webhook": { ... }, "last": 50 }.');
    for (const key of Object.keys(body)) if (!['webhook', 'last', 'webhook_uid'].includes(key)) throw invalid(key, 'is not a known field');
    let last = DEFAULT_PREVIEW_EVENTS;
    if (body.last !== undefined) {
      if (typeof body.last !== 'number' || !Number.isInteger(body.last) || body.last < 1 || body.last > MAX_PREVIEW_EVENTS) {
        throw invalid('last', `must be a whole number from 1 to ${MAX_PREVIEW_EVENTS}`);
      }
      last = body.last;
    }
    let existing: Webhook | undefined;
    if (body.webhook_uid !== undefined) {
      if (typeof body.webhook_uid !== 'string' || body.webhook_uid === '') throw invalid('webhook_uid', 'must be a webhook uid');
      existing = await getWebhook(h.db, body.webhook_uid, scope.api_key);
      if (!existing) throw notFound('Webhook');
    }
    const now = Date.now();
    const def = await validateWebhook(h.db, scope.api_key, { webhook: body.webhook }, { policy, existing, now, formats: formatNames(), formatOptions: checkFormatOptions });
    const webhook: Webhook = existing
      ? { ...existing, ...def }
      : { uid: 'preview', api_key: scope.api_key, ...def, disabled_reason: null, created_at: now, updated_at: now, version: 1 };
    const events = await latestEvents(h.db, scope.api_key, last);
    const items = await previewWebhook(h.db, webhook, events, { retryDelaysMs: h.config.retryDelaysMs, now });
    return {
      preview: {
        total: items.length,
        matched: items.filter((i) => i.matches).length,
        // A disabled webhook is sent nothing, whatever it matches.
        disabled: webhook.disabled,
        events: items,
      },
    };
  });

  app.get<{ Querystring: Record<string, string | undefined> }>('/v3/webhooks/schemas', doc(TAGS.webhooks, "The event catalog: a JSON Schema and an example of every event's payload, per format and content type", { querystring: SCHEMAS }), async (req) => {
    const scope = await h.scope(req);
    const q = req.query;
    const listed = describedFormats().map((f) => f.name);
    if (q.format && !listed.includes(q.format)) throw invalid('format', `must be one of ${listed.join(', ')}`);
    let schemas = await stackCatalog(h.db, scope);
    if (q.content_type && !schemas.some((s) => s.content_type === q.content_type)) throw notFound(`Content type '${q.content_type}'`);
    if (q.event && !schemas.some((s) => s.event === q.event)) throw invalid('event', 'must be module.action, such as entry.publish or asset.update');
    schemas = schemas.filter((s) => (!q.format || s.format === q.format) && (!q.content_type || s.content_type === q.content_type || s.content_type === null) && (!q.event || s.event === q.event));
    return { schemas, count: schemas.length };
  });

  app.get('/v3/asyncapi.json', doc(TAGS.webhooks, "The event catalog as an AsyncAPI 3.0 document (the stack's channels, messages and payload schemas)"), async (req) => {
    const scope = await h.scope(req);
    return stackAsyncApi(h.db, scope);
  });
}
