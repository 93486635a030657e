import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { startHerald, type TestHerald } from '../helpers/herald.ts';

/** How Herald serves its web app: one page, its bundle, and nothing in the way of the API. */
describe('serving the web app', () => {
  let h: TestHerald;
  before(async () => {
    h = await startHerald();
  });
  after(async () => {
    await h?.close();
  });

  it('serves the page at / with a policy that allows only its own script, styles and API calls', async () => {
    const res = await fetch(h.url + '/');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /^text\/html/);
    const csp = res.headers.get('content-security-policy')!;
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /connect-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    const html = await res.text();
    assert.match(html, /<script type="module" src="\/app\/app.js"><\/script>/);
    assert.match(html, /<link rel="stylesheet" href="\/app\/app.css">/);
  });

  it('serves a small bundle of Preact and the app, and its styles', async () => {
    const js = await fetch(h.url + '/app/app.js');
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type')!, /^text\/javascript/);
    const code = await js.text();
    assert.match(code, /Webhook Called At/);
    assert.ok(code.length < 250_000, `the bundle is ${code.length} bytes`);
    const css = await fetch(h.url + '/app/app.css');
    assert.equal(css.status, 200);
    assert.match(css.headers.get('content-type')!, /^text\/css/);
    assert.match(await css.text(), /:focus-visible/);
  });

  it('answers a repeat request with 304 and compresses for clients that accept gzip', async () => {
    const first = await fetch(h.url + '/app/app.js');
    const etag = first.headers.get('etag')!;
    assert.ok(etag);
    const again = await fetch(h.url + '/app/app.js', { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    const raw = await new Promise<{ encoding: string | undefined; body: Buffer }>((resolve, reject) => {
      import('node:http').then(({ get }) =>
        get(h.url + '/app/app.js', { headers: { 'accept-encoding': 'gzip' } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => resolve({ encoding: res.headers['content-encoding'], body: Buffer.concat(chunks) }));
        }).on('error', reject),
      );
    });
    assert.equal(raw.encoding, 'gzip');
    assert.equal(gunzipSync(raw.body).toString(), await first.text());
  });

  it('leaves /v3 and /healthz to the API', async () => {
    const health = await fetch(h.url + '/healthz');
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok' });
    const api = await fetch(h.url + '/v3/webhooks');
    assert.equal(api.status, 401);
    assert.match(api.headers.get('content-type')!, /application\/json/);
    const missing = await fetch(h.url + '/app/other.js');
    assert.equal(missing.status, 404);
    assert.match(missing.headers.get('content-type')!, /application\/json/);
  });
});
