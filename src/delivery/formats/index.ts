import { contentfulFormat } from './contentful.ts';
import { contentstackFormat } from './contentstack.ts';
import { cloudeventsFormat } from './cloudevents.ts';
import { isOperational, type HeraldEvent } from '../../events/event.ts';
import { HeraldError } from '../../errors.ts';
import type { Queryable } from '../../store/db.ts';
import type { Webhook } from '../../webhooks/webhook.ts';
import { BodyTooLarge, type BodyLimits, type DeliveryFormat, type EngineSettings, type PreparedDelivery } from './format.ts';

export { BodyTooLarge } from './format.ts';
export type { BodyLimits, CatalogKind, CatalogPayload, DeliveryFormat, EngineSettings, FormatRequest, PreparedDelivery } from './format.ts';

/**
 * The delivery formats a webhook may name, by name. A new format is one file in this folder and
 * one registerFormat() line below. Registering is process-wide: every process that delivers must
 * register the same formats (a worker meeting a name it does not know fails that attempt).
 */
const formats = new Map<string, DeliveryFormat>();

/** Makes `format` available to webhooks by its name; a second one with the same name replaces the first. */
export function registerFormat(format: DeliveryFormat): void {
  formats.set(format.name, format);
}

/** The format a webhook names, or undefined when none is registered by that name. */
export function deliveryFormat(name: string): DeliveryFormat | undefined {
  return formats.get(name);
}

/** Every registered format's name, for validating a webhook's `format`. */
export function formatNames(): string[] {
  return [...formats.keys()];
}

/**
 * Checks a webhook's `format_options` with its format (webhooks/validate.ts `formatOptions`): null
 * when the format takes no options (or is not registered: the format's own check names that).
 */
export function checkFormatOptions(name: string, given: Record<string, unknown>): ReturnType<NonNullable<DeliveryFormat['options']>> | null {
  return formats.get(name)?.options?.(given) ?? null;
}

/** The registered formats the event catalog lists beside the built-in two (those with `describe`). */
export function describedFormats(): DeliveryFormat[] {
  return [...formats.values()].filter((f) => f.describe);
}

/**
 * An attempt of `webhook` for `event`, prepared by the webhook's format (throws when that format is
 * not registered here). Not a promise when the format prepares without reading (Contentstack's,
 * CloudEvents'): callers await it either way.
 */
export function prepareDelivery(
  q: Queryable,
  event: HeraldEvent,
  webhook: Webhook,
  engine: EngineSettings,
): Prepared | Promise<Prepared> {
  // Operational events (about webhooks, not content) have one shape, Herald's own (Contentstack's
  // envelope), whatever format the webhook's content events take.
  const format = isOperational(event) ? contentstackFormat : formats.get(webhook.format);
  if (!format) throw new HeraldError('internal', `No delivery format "${webhook.format}" is registered in this process.`);
  const prepared = format.prepare(q, event, webhook, engine);
  if (prepared instanceof Promise) return prepared.then((p) => ({ format, prepared: p }));
  // A format that hands the same prepared attempt again (Contentstack's, over a fan-out's attempts
  // of one event) gets the same answer: callers only read it.
  if (lastPrepared !== null && lastPrepared.prepared === prepared && lastPrepared.format === format) return lastPrepared;
  return (lastPrepared = { format, prepared });
}

/** prepareDelivery's last answer (see there). */
let lastPrepared: Prepared | null = null;

/** A delivery format and one attempt as it prepared it. */
export interface Prepared {
  format: DeliveryFormat;
  prepared: PreparedDelivery;
}

/**
 * The first `capBytes` of a body, for showing (activity log, preview), and whether it was cut.
 * `render` is asked to stop at the cap (a transformation can multiply a payload far past what may
 * be sent), so showing a body never costs more than the cap's worth; text spliced into a
 * template's strings may run to 16 times the cap, past which nothing is shown.
 */
export function cappedBody(render: (limits: BodyLimits) => string, capBytes: number): { body: string; truncated: boolean } {
  try {
    const body = render({ maxBytes: capBytes + 1, spliceBytes: 16 * capBytes });
    const truncated = Buffer.byteLength(body) > capBytes;
    return { body: truncated ? Buffer.from(body).subarray(0, capBytes).toString() : body, truncated };
  } catch (err) {
    if (!(err instanceof BodyTooLarge)) throw err;
    // JSON bodies: the prefix is the body's first bytes; a splice that ran over shows nothing.
    return { body: err.limit > capBytes + 1 ? '' : Buffer.from(err.prefix).subarray(0, capBytes).toString(), truncated: true };
  }
}

registerFormat(contentstackFormat);
registerFormat(contentfulFormat);
registerFormat(cloudeventsFormat);
