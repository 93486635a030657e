/**
 * Multipart bodies outside the asset routes: only those routes read multipart forms (src/http/app.ts
 * gives them @fastify/multipart in a context of their own); every other route takes such a body
 * unread and answers as for a missing body, as when the plugin's parser served every route.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ADMIN_TOKEN, startHerald, type TestHerald } from '../helpers/herald.ts';

const BOUNDARY = '----herald-test';
const form = (field: string) =>
  `--${BOUNDARY}\r\ncontent-disposition: form-data; name="${field}"; filename="x.txt"\r\ncontent-type: text/plain\r\n\r\nhello\r\n--${BOUNDARY}--\r\n`;

describe('a multipart body sent to a route that takes JSON', () => {
  let h: TestHerald;
  let headers: Record<string, string>;
  before(async () => {
    h = await startHerald();
    const s = await h.newStack('multipart');
    headers = { api_key: s.api_key, authtoken: ADMIN_TOKEN };
    const ct = await h.request('POST', '/v3/content_types', { headers, body: { content_type: { title: 'Post', uid: 'post', schema: [{ uid: 'title', data_type: 'text', display_name: 'Title' }] } } });
    assert.equal(ct.status, 201, JSON.stringify(ct.body));
  });
  after(() => h.close());

  const post = (path: string, field: string) =>
    fetch(h.url + path, { method: 'POST', headers: { ...headers, 'content-type': `multipart/form-data; boundary=${BOUNDARY}` }, body: form(field) });

  it('is answered as a missing body (422 naming the envelope), not 415, and the connection serves the next request', async () => {
    const entry = await post('/v3/content_types/post/entries', 'entry');
    assert.equal(entry.status, 422);
    assert.equal(entry.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(await entry.text(), '{"error_message":"entry is required: send { \\"entry\\": { ... } } as JSON","error_code":119,"errors":{"entry":["is required: send { \\"entry\\": { ... } } as JSON"]},"code":"validation_failed"}');
    const webhook = await post('/v3/webhooks', 'webhook');
    assert.equal(webhook.status, 422);
    assert.equal(await webhook.text(), '{"error_message":"webhook is required: send { \\"webhook\\": { ... } }","error_code":119,"errors":{"webhook":["is required"]},"code":"validation_failed"}');
    assert.equal((await h.request('GET', '/v3/content_types/post/entries', { headers })).status, 200);
  });

  it('is still read as a form by the asset routes', async () => {
    const asset = await post('/v3/assets', 'asset[upload]');
    assert.equal(asset.status, 201, await asset.clone().text());
    const body = (await asset.json()) as { asset: { filename: string; file_size: number } };
    assert.equal(body.asset.filename, 'x.txt');
    assert.equal(Number(body.asset.file_size), 5);
  });
});
