import type { HeraldEvent } from '../../events/event.ts';
import { contentstackBody } from './contentstack.ts';
import type { CatalogKind, CatalogPayload, DeliveryFormat, FormatRequest, PreparedDelivery } from './format.ts';
import { isoTime } from './iso-time.ts';

/**
 * CloudEvents 1.0 over HTTP (https://github.com/cloudevents/spec, HTTP protocol binding), the
 * format of webhooks with `format: "cloudevents"`. The event's data is Herald's own payload (the
 * Contentstack format's body, concise when the webhook says so), in one of two modes, chosen per
 * webhook with `format_options: { mode }`:
 *
 * - `binary` (the default): the body is the data as is (`Content-Type: application/json`), the
 *   event's attributes travel as `ce-*` headers;
 * - `structured`: the body is the whole event as JSON (`Content-Type: application/cloudevents+json`),
 *   attributes beside `data`.
 *
 * Attributes: `id` is the event's sequence number (the same event sent to two webhooks, or again
 * by a replay, has the same id; `webhook-id` tells deliveries apart), `source`
 * `/stacks/{api_key}/branches/{branch}`, `type` `herald.{module}.{action}` (herald.entry.publish),
 * `subject` the entity's path (content_types/blog/entries/blt..., assets/blt..., content_types/blog),
 * `time` when the change was recorded, `datacontenttype` application/json. Herald's signature headers
 * (Standard Webhooks) are sent as with every format.
 */

export const CLOUDEVENTS_MODES = ['binary', 'structured'] as const;
export type CloudEventsMode = (typeof CLOUDEVENTS_MODES)[number];
export const STRUCTURED_CONTENT_TYPE = 'application/cloudevents+json';

/** The event's context attributes (everything but data), in the order the spec lists them. */
export function cloudEventAttributes(event: HeraldEvent): Record<string, string> {
  return {
    specversion: '1.0',
    // Test events (POST /v3/webhooks/{uid}/test) are recorded nowhere and have seq 0.
    id: event.seq > 0 ? String(event.seq) : `test-${event.created_at}`,
    source: `/stacks/${event.api_key}/branches/${event.branch}`,
    type: `herald.${event.module}.${event.action}`,
    subject: subjectOf(event),
    time: isoTime(event.created_at),
    datacontenttype: 'application/json',
  };
}

function subjectOf(event: HeraldEvent): string {
  if (event.module === 'entry') return `content_types/${event.content_type_uid}/entries/${event.uid}`;
  if (event.module === 'asset') return `assets/${event.uid}`;
  if (event.module === 'job') return `jobs/${event.uid}`;
  return `content_types/${event.uid}`;
}

/** The body in a mode: the data (binary), or the event as JSON (structured). */
export function cloudEventBody(event: HeraldEvent, mode: CloudEventsMode, concise: boolean): string {
  // The same bytes as JSON.stringify(data) and JSON.stringify({ ...attributes, data }), the data
  // serialised once (contentstackBody).
  const data = contentstackBody(event, { concise });
  if (mode === 'binary') return data;
  return `${JSON.stringify(cloudEventAttributes(event)).slice(0, -1)},"data":${data}}`;
}

/**
 * A header value as the HTTP binding carries it: characters outside printable ASCII, `"` and `%`
 * percent-encoded (UTF-8). Attribute values here are mostly uids, so this rarely changes anything.
 */
function headerValue(value: string): string {
  return value.replace(/[^\x20-\x7e]|["%]/gu, (c) => encodeURIComponent(c));
}

function modeOf(options: Record<string, unknown> | null | undefined): CloudEventsMode {
  return options?.mode === 'structured' ? 'structured' : 'binary';
}

const str = { type: 'string' } as const;

/** The `ce-*` headers of binary mode, as the catalog shows them. */
const BINARY_HEADERS = {
  properties: {
    'ce-specversion': { const: '1.0' },
    'ce-id': { type: 'string', description: "the event's sequence number" },
    'ce-source': { type: 'string', description: '/stacks/{api_key}/branches/{branch}' },
    'ce-type': { type: 'string', description: 'herald.{module}.{action}' },
    'ce-subject': { type: 'string', description: "the entity's path, e.g. content_types/blog/entries/blt..." },
    'ce-time': { type: 'string', format: 'date-time' },
  },
  required: ['ce-specversion', 'ce-id', 'ce-source', 'ce-type', 'ce-subject', 'ce-time'],
};

function describe(kind: CatalogKind): CatalogPayload[] {
  // Job events go to Contentstack-format webhooks only (webhooks/validate.ts).
  if (kind.module === 'job') return [];
  const { event } = kind;
  const { $schema, title, ...data } = kind.contentstack.schema;
  const name = `${event.module}.${event.action}${event.module === 'entry' ? ` (${event.content_type_uid})` : ''}`;
  const attributes = cloudEventAttributes(event);
  return [
    {
      mode: 'binary',
      content_type_header: 'application/json',
      headers: BINARY_HEADERS,
      schema: { $schema, title: `${name}, CloudEvents binary mode (the body is the data; attributes in ce-* headers)`, ...data },
      example: kind.contentstack.example,
    },
    {
      mode: 'structured',
      content_type_header: STRUCTURED_CONTENT_TYPE,
      schema: {
        $schema,
        title: `${name}, CloudEvents structured mode`,
        type: 'object',
        properties: {
          specversion: { const: '1.0' },
          id: str,
          source: str,
          type: { const: attributes.type },
          subject: str,
          time: { type: 'string', format: 'date-time' },
          datacontenttype: { const: 'application/json' },
          data,
        },
        required: ['specversion', 'id', 'source', 'type', 'subject', 'time', 'datacontenttype', 'data'],
        additionalProperties: false,
      },
      example: { ...attributes, data: kind.contentstack.example },
    },
  ];
}

/** One attempt as this format prepares it (a class: no closures per attempt, see contentstack.ts). */
class CloudEventsDelivery implements PreparedDelivery {
  readonly bodyKey: string;
  readonly logged: Record<string, unknown>;
  constructor(
    private readonly event: HeraldEvent,
    private readonly mode: CloudEventsMode,
    private readonly concise: boolean,
  ) {
    this.bodyKey = `${mode}:${concise ? 'concise' : 'full'}`;
    this.logged = { concise, mode };
  }
  body(): string {
    return cloudEventBody(this.event, this.mode, this.concise);
  }
  request(): FormatRequest {
    if (this.mode === 'structured') return { method: 'POST', headers: { 'content-type': STRUCTURED_CONTENT_TYPE }, chunked: false };
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    for (const [k, v] of Object.entries(cloudEventAttributes(this.event))) if (k !== 'datacontenttype') headers[`ce-${k}`] = headerValue(v);
    return { method: 'POST', headers, chunked: false };
  }
}

export const cloudeventsFormat: DeliveryFormat = {
  name: 'cloudevents',
  title: 'CloudEvents 1.0',
  // Nothing to read: the body depends on the event, the mode and concise_payload only.
  prepare: (_q, event, webhook) => new CloudEventsDelivery(event, modeOf(webhook.format_options), webhook.concise_payload),
  loggedBody: (event, logged) => cloudEventBody(event, modeOf(logged), logged.concise === true),
  options(given) {
    const problems: Record<string, string> = {};
    for (const key of Object.keys(given)) if (key !== 'mode') problems[key] = 'is not an option of the cloudevents format (it has mode)';
    if (given.mode !== undefined && !(CLOUDEVENTS_MODES as readonly unknown[]).includes(given.mode)) problems.mode = 'must be "binary" or "structured"';
    return Object.keys(problems).length ? { problems } : { options: { mode: (given.mode as CloudEventsMode | undefined) ?? 'binary' } };
  },
  describe,
};
