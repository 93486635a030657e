import type { ContentfulDelivery } from '../delivery/request.ts';
import type { HeraldEvent } from '../events/event.ts';
import { json, type Queryable } from '../store/db.ts';
import { contentfulTopic } from '../webhooks/channels.ts';
import type { Webhook } from '../webhooks/webhook.ts';
import { retrySchedule } from './settings.ts';

/** What one attempt of a Contentful-format webhook needs from its space (see settings.ts). */
export interface ContentfulAttempt {
  delivery: ContentfulDelivery;
  /** The space's retry policy as a schedule; absent: the engine's. */
  retryDelaysMs?: readonly number[];
}

/**
 * Reads, for one attempt, the space settings a Contentful-format request depends on: the signing
 * secret, the retry policy and the stack's master locale (one indexed read; read per attempt so
 * a changed setting applies to the next call, in every process).
 */
export async function contentfulDelivery(q: Queryable, event: HeraldEvent, webhook: Webhook, schedule: readonly number[]): Promise<ContentfulAttempt> {
  const row = await q.get<{ doc: string; signing_secret: string | null; max_retries: number | null }>(
    'SELECT s.doc, c.signing_secret, c.max_retries FROM stacks s LEFT JOIN contentful_spaces c ON c.api_key = s.api_key WHERE s.api_key = ?',
    [event.api_key],
  );
  const masterLocale = (row ? json<{ master_locale?: string }>(row.doc).master_locale : undefined) ?? 'en-us';
  const maxRetries = row?.max_retries === null || row?.max_retries === undefined ? null : Number(row.max_retries);
  return {
    delivery: {
      body: { url: webhook.destinations[0].target_url, masterLocale, transformation: webhook.transformation ?? null },
      topic: contentfulTopic(event),
      signingSecret: row?.signing_secret ?? null,
    },
    ...(maxRetries === null ? {} : { retryDelaysMs: retrySchedule(schedule, maxRetries) }),
  };
}
