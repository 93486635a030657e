import { retrySchedule } from '../../contentful/settings.ts';
import { json } from '../../store/db.ts';
import { contentfulTopic } from '../../webhooks/channels.ts';
import { contentfulBody, contentfulRequestParts, type ContentfulBodyOptions } from '../contentful.ts';
import { describeContentful } from './contentful-schema.ts';
import type { DeliveryFormat } from './format.ts';

/**
 * The Contentful delivery format (webhooks made through /spaces/.../webhook_definitions): the
 * entity as Contentful sends it or the webhook's transformation, `X-Contentful-*` headers, the
 * space's request signature and retry policy. The pure parts are in ../contentful.ts.
 *
 * Per attempt it reads the space settings the request depends on: the signing secret, the retry
 * policy and the stack's master locale (one indexed read), so a changed setting applies to the
 * next call, in every process.
 */
export const contentfulFormat: DeliveryFormat = {
  name: 'contentful',
  title: 'Contentful',
  async prepare(q, event, webhook, engine) {
    const row = await q.get<{ doc: string; signing_secret: string | null; max_retries: number | null }>(
      'SELECT s.doc, c.signing_secret, c.max_retries FROM stacks s LEFT JOIN contentful_spaces c ON c.api_key = s.api_key WHERE s.api_key = ?',
      [event.api_key],
    );
    const masterLocale = (row ? json<{ master_locale?: string }>(row.doc).master_locale : undefined) ?? 'en-us';
    const maxRetries = row?.max_retries === null || row?.max_retries === undefined ? null : Number(row.max_retries);
    const options: ContentfulBodyOptions = { url: webhook.destinations[0].target_url, masterLocale, transformation: webhook.transformation ?? null };
    const topic = contentfulTopic(event);
    const signingSecret = row?.signing_secret ?? null;
    return {
      // A transformation makes the body the webhook's own (its template, URL, method).
      bodyKey: options.transformation ? `${webhook.uid}:${webhook.version}` : masterLocale,
      body: (limits) => contentfulBody(event, options, limits?.maxBytes, limits?.spliceBytes),
      request: ({ url, deliveryId, body, now }) => contentfulRequestParts(webhook, url, topic, deliveryId, body, now, signingSecret),
      ...(maxRetries === null ? {} : { retryDelaysMs: retrySchedule(engine.retryDelaysMs, maxRetries) }),
      // As the log stored it before formats had names (concise is unused here, kept for the shape).
      logged: { concise: webhook.concise_payload, contentful: options },
    };
  },
  loggedBody: (event, logged, limits) => contentfulBody(event, logged.contentful as ContentfulBodyOptions, limits?.maxBytes, limits?.spliceBytes),
  describe: describeContentful,
};
