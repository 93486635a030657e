import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import type { Received } from './receiver.ts';

const require = createRequire(import.meta.url);
// ajv and ajv-formats are CommonJS; their default export is the class / plugin.
const Ajv = require('ajv').default as typeof import('ajv').default;
const addFormats = require('ajv-formats').default as typeof import('ajv-formats').default;

/** An Ajv instance for the catalog's draft-07 schemas (formats such as date-time checked). */
export function newAjv(opts: { meta?: boolean; validateSchema?: boolean } = {}) {
  const ajv = new Ajv({ allErrors: true, strict: false, ...opts });
  addFormats(ajv);
  return ajv;
}

/**
 * Checks that every event payload a receiver got validates against its schema from the stack's
 * event catalog (GET /v3/webhooks/schemas): the entry for its format (Contentful when the request
 * has `x-contentful-topic`, CloudEvents binary mode with `ce-specversion`, structured mode with
 * Content-Type application/cloudevents+json), its event (`x-herald-event`) and, for entries, its
 * content type.
 * Sample test calls (`webhook.test`, not an event) are skipped. Returns how many were checked.
 */
export async function assertPayloadsMatchSchemas(
  h: { request(method: string, path: string, opts?: { headers?: Record<string, string> }): Promise<{ status: number; body: any }> },
  headers: Record<string, string>,
  received: readonly Received[],
): Promise<number> {
  const res = await h.request('GET', '/v3/webhooks/schemas', { headers });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const catalog = res.body.schemas as Array<{ format: string; mode?: string; event: string; content_type: string | null; schema: object }>;
  const ajv = newAjv();
  const compiled = new Map<object, ReturnType<typeof ajv.compile>>();
  let checked = 0;
  for (const r of received) {
    const event = String(r.headers['x-herald-event']);
    if (event === 'webhook.test') continue;
    const structured = String(r.headers['content-type']).startsWith('application/cloudevents+json');
    const mode = r.headers['ce-specversion'] ? 'binary' : structured ? 'structured' : undefined;
    const format = r.headers['x-contentful-topic'] ? 'contentful' : mode ? 'cloudevents' : 'contentstack';
    const own = structured ? r.json?.data : r.json;
    const ct = format === 'contentful' ? (r.json?.sys?.contentType?.sys?.id ?? null) : (own?.data?.entry?.content_type_uid ?? null);
    const entry = catalog.find((c) => c.format === format && c.mode === mode && c.event === event && (c.content_type === null || c.content_type === ct));
    assert.ok(entry, `the catalog has a schema for ${format}${mode ? ` (${mode})` : ''} ${event} ${ct ?? ''}`);
    let validate = compiled.get(entry.schema);
    if (!validate) compiled.set(entry.schema, (validate = ajv.compile(entry.schema)));
    assert.ok(validate(r.json), `${format} ${event} payload does not match its schema: ${ajv.errorsText(validate.errors)}\n${r.body.slice(0, 2000)}`);
    checked++;
  }
  return checked;
}
