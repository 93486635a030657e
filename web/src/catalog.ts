import { parseChannel, type Channel } from '../../src/webhooks/channels.ts';

/** One entry of the event catalog, GET /v3/webhooks/schemas (src/delivery/catalog.ts). */
export interface CatalogEntry {
  format: string;
  mode?: string;
  event: string;
  module: 'entry' | 'asset' | 'content_type' | 'job';
  action: string;
  content_type: string | null;
  channel: string;
  /** Null for job events (no Contentful type). */
  topic: string | null;
  content_type_header: string;
  headers?: { properties: Record<string, unknown>; required: string[] };
  schema: Record<string, unknown>;
  example: any;
}

/**
 * The catalog entries a webhook with these channels receives (in a format and, for CloudEvents, a
 * mode), in catalog order. Matched with the server's own channel grammar (imported, not copied). A
 * channel naming one entity (`content_types.blog.entries.blt1.update`) covers that kind of event,
 * whatever the example's uid. Pure.
 */
export function matchingEntries(catalog: readonly CatalogEntry[], channels: readonly string[], format: string, mode?: string): CatalogEntry[] {
  const parsed = channels.map((c) => ({ text: c, channel: parseChannel(c) })).filter((c): c is { text: string; channel: Channel } => typeof c.channel !== 'string');
  return catalog.filter((e) => {
    if (e.format !== format || (e.mode !== undefined && mode !== undefined && e.mode !== mode)) return false;
    const uid = String(e.example?.data?.entry?.uid ?? e.example?.data?.asset?.uid ?? e.example?.data?.content_type?.uid ?? e.example?.sys?.id ?? '');
    return parsed.some(({ text, channel }) =>
      // The example's uid, or any uid the channel names.
      [uid, ...text.split('.')].some((u) => channel.matches({ module: e.module, action: e.action as never, uid: u, content_type_uid: e.module === 'content_type' ? u : e.content_type })),
    );
  });
}

/** How an entry is named in a list: `entry.publish (blog)`. */
export function entryLabel(e: Pick<CatalogEntry, 'event' | 'content_type'>): string {
  return e.content_type ? `${e.event} (${e.content_type})` : e.event;
}
