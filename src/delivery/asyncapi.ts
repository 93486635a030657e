import type { CatalogEntry } from './catalog.ts';

/**
 * The event catalog as an AsyncAPI 3.0 document (GET /v3/asyncapi.json): one channel per kind of
 * event (its Contentstack channel is the address), one `receive` operation per channel (a webhook
 * receiver receives), and per channel a message for each payload format, with its JSON Schema,
 * headers and example. Pure.
 */

/** AsyncAPI ids (channels, operations, messages) are made of these characters. */
const id = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, '_');

/** Headers every delivery carries (src/delivery/request.ts), as a schema. */
const HEADERS = {
  type: 'object',
  properties: {
    'webhook-id': { type: 'string', description: 'the delivery id, the same on every retry (drop duplicates by it)' },
    'webhook-timestamp': { type: 'string', description: 'unix seconds, signed with the body' },
    'webhook-signature': { type: 'string', description: 'Standard Webhooks signatures (v1,<base64>), one per active secret' },
    'x-herald-event': { type: 'string', description: 'module.action, e.g. entry.publish' },
    'x-herald-seq': { type: 'string', description: "the event's sequence number" },
    'x-herald-attempt': { type: 'string', description: 'the attempt number, from 1' },
    'x-herald-test': { type: 'string', description: '1 on test events (POST /v3/webhooks/{uid}/test), absent otherwise' },
  },
  required: ['webhook-id', 'webhook-timestamp', 'x-herald-event', 'x-herald-seq', 'x-herald-attempt'],
};
/** A payload schema as an AsyncAPI Schema Object: draft-07 minus its `$schema` declaration. */
function payload(schema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = schema;
  return rest;
}

/** `titles`: how each format is named in message titles (the formats' `title`; default: the format's name). */
export function asyncApiDocument(catalog: readonly CatalogEntry[], stack: { api_key: string; name: string }, titles: Readonly<Record<string, string>> = {}): Record<string, unknown> {
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  const byChannel = new Map<string, CatalogEntry[]>();
  for (const e of catalog) {
    const key = e.channel;
    byChannel.set(key, [...(byChannel.get(key) ?? []), e]);
  }
  for (const [address, entries] of byChannel) {
    const channelId = id(address);
    const channelMessages: Record<string, unknown> = {};
    for (const e of entries) {
      const variant = e.mode ? `${e.format}.${e.mode}` : e.format;
      const messageId = id(`${address}.${variant}`);
      const headers = HEADERS;
      messages[messageId] = {
        name: `${e.event}.${variant}`,
        title: `${e.event}${e.content_type ? ` (${e.content_type})` : ''} in the ${titles[e.format] ?? e.format} format${e.mode ? `, ${e.mode} mode` : ''}`,
        summary: e.topic ? `Topic ${e.topic}` : `Channel ${e.channel}`,
        contentType: e.content_type_header,
        headers: e.headers
          ? { ...headers, properties: { ...headers.properties, ...e.headers.properties }, required: [...headers.required, ...e.headers.required] }
          : headers,
        payload: payload(e.schema),
        examples: [{ name: 'example', payload: e.example }],
      };
      channelMessages[id(variant)] = { $ref: `#/components/messages/${messageId}` };
    }
    channels[channelId] = {
      address,
      title: address,
      description: `The ${entries[0].event} events${entries[0].content_type ? ` of content type ${entries[0].content_type}` : ''}: subscribe with the channel ${address}${entries[0].topic?.startsWith('ContentManagement.') ? ` or the topic ${entries[0].topic.replace(/^ContentManagement\./, '')}` : ''}.`,
      messages: channelMessages,
    };
    operations[id(`receive.${address}`)] = {
      action: 'receive',
      title: `Receive ${address}`,
      channel: { $ref: `#/channels/${channelId}` },
      messages: Object.keys(channelMessages).map((f) => ({ $ref: `#/channels/${channelId}/messages/${f}` })),
    };
  }
  return {
    asyncapi: '3.0.0',
    info: {
      title: `Herald webhooks of ${stack.name}`,
      version: '1.0.0',
      description:
        `The events Herald delivers to webhooks of stack ${stack.api_key}: one channel per kind of event, a message per payload format ` +
        '(Contentstack; Contentful for webhooks with format "contentful"; CloudEvents 1.0 in binary or structured mode for format "cloudevents"). Deliveries are HTTP POSTs to each webhook\'s own URL, signed per Standard Webhooks. ' +
        'The same schemas are at GET /v3/webhooks/schemas.',
    },
    defaultContentType: 'application/json',
    channels,
    operations,
    components: { messages },
  };
}
