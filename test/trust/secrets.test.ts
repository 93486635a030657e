/**
 * Secrets stay secret (issue 9, acceptance 4; hostile-input.md case 32). The test sets a basic auth
 * password, secret header values (marked, and recognised by name), a signing secret (and rotates
 * it), a Contentful space signing secret and a management token; runs deliveries that succeed, fail,
 * retry and are retried by hand; then reads every API response it can (every GET route the server
 * registers, with this stack's ids, and every write response along the way) and every line the
 * server logged at trace level, and finds none of the secrets, except where they are shown on
 * purpose: the management token in its creation response, signing secrets in the webhook's
 * creation response, GET .../secret and the rotation response.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { ADMIN_TOKEN, type TestHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { emit, executions, until } from '../helpers/engine.ts';
import { pino } from 'pino';
import { redacting } from '../../src/ops/log.ts';
import { fillRoute, routeKey, startHeraldWithRoutes, type Route } from './helpers/routes.ts';
import { seedStack, type SeededStack } from './helpers/stack.ts';

const rand = (n = 12) => randomBytes(n).toString('hex');

const PASSWORD = `pw-${rand()}`;
const SECRET_HEADER = `hdr-${rand()}`;
const NAMED_SECRET_HEADER = `key-${rand()}`;
const SIGNING = 'whsec_' + randomBytes(32).toString('base64');
const SPACE_SECRET = rand(32); // 64 characters (Contentful's format)

interface Seen {
  what: string;
  text: string;
}

describe('secrets never come back once set (case 32)', () => {
  let h: TestHerald;
  let routes: Route[];
  const logLines: string[] = [];
  const processOutput: string[] = [];
  const seen: Seen[] = [];
  let token = '';
  let rotated = '';
  let s: SeededStack;
  const receivers: Array<{ close(): Promise<void> }> = [];
  const restore: Array<() => void> = [];

  /** A request whose whole response (status, headers, body) is kept for the scan. */
  async function call(method: string, path: string, opts: { body?: unknown; headers?: Record<string, string> } = {}) {
    const r = await h.request(method, path, opts);
    const headers: string[] = [];
    r.headers.forEach((value, name) => headers.push(`${name}: ${value}`));
    seen.push({ what: `${method} ${path}`, text: `${r.status} ${headers.join('\n')} ${typeof r.body === 'string' ? r.body : JSON.stringify(r.body)}` });
    return r;
  }

  const stackHeaders = () => ({ api_key: s.api_key, authorization: token });

  before(async () => {
    // Anything written to this process's stdout or stderr (outside the logger) is scanned too.
    for (const stream of [process.stdout, process.stderr]) {
      const write = stream.write.bind(stream);
      stream.write = ((chunk: unknown, ...rest: unknown[]) => {
        processOutput.push(String(chunk));
        return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
      }) as typeof stream.write;
      restore.push(() => (stream.write = write));
    }
    const sink = new Writable({
      write(chunk, _enc, done) {
        logLines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    });
    ({ h, routes } = await startHeraldWithRoutes({ logLevel: 'trace', logTo: sink, retryDelaysMs: [100] }));
  });
  after(async () => {
    for (const r of restore) r();
    await Promise.all(receivers.map((r) => r.close()));
    await h.close();
  });

  it('runs deliveries and reads every response and log line without meeting a secret', async () => {
    // --- set the secrets -------------------------------------------------------------------
    const stack = await call('POST', '/v3/stacks', { headers: { authtoken: ADMIN_TOKEN }, body: { stack: { name: 'Secretive' } } });
    const apiKey = stack.body.stack.api_key as string;
    const created = await call('POST', '/v3/stacks/management_tokens', { headers: { authtoken: ADMIN_TOKEN, api_key: apiKey }, body: { token: { name: 'ci' } } });
    token = created.body.token.token;
    const tokenCreation = seen.length - 1;

    let failing = 0;
    const rx = await startReceiver((_req, res) => {
      if (failing-- > 0) res.statusCode = 500;
      res.end('thanks');
    });
    receivers.push(rx);
    s = await seedStack(h, 'Secretive', rx.url, { api_key: apiKey, token });

    const hook = await call('POST', '/v3/webhooks', {
      headers: stackHeaders(),
      body: {
        webhook: {
          name: 'with secrets',
          channels: ['*.*'],
          signing_secret: SIGNING,
          destinations: [
            {
              target_url: rx.url + '/hook',
              http_basic_auth: 'herald',
              http_basic_password: PASSWORD,
              custom_header: [
                { header_name: 'X-Receiver-Key', value: SECRET_HEADER, secret: true },
                { header_name: 'X-Api-Key', value: NAMED_SECRET_HEADER },
                { header_name: 'X-Team', value: 'web' },
              ],
            },
          ],
        },
      },
    });
    assert.equal(hook.status, 201);
    const hookCreation = seen.length - 1;
    const uid = hook.body.webhook.uid as string;
    const space = await call('PUT', `/spaces/${apiKey}/webhook_settings/signing_secret`, { headers: { authorization: `Bearer ${token}` }, body: { value: SPACE_SECRET } });
    assert.equal(space.status, 200, JSON.stringify(space.body));

    // --- deliveries: a failure and its automatic retry, a success, a manual retry -------------
    failing = 2; // the first call to each webhook fails, so automatic retries follow
    await emit(h, s, { uid: s.entry });
    await until(async () => (await executions(h, s, uid)).some((x) => x.state === 'succeeded' && x.attempts === 2), 10_000, 'retried delivery');
    const done = (await executions(h, s, uid)).find((x) => x.state === 'succeeded')!;
    const retry = await call('POST', `/v3/webhooks/${uid}/retry`, { headers: stackHeaders(), body: { execution_uid: done.uid } });
    assert.equal(retry.status, 200);
    await until(async () => (await executions(h, s, uid)).find((x) => x.uid === done.uid)?.attempts === 3, 10_000, 'manual retry');
    // Rotation: the new secret is shown by the rotation, then signs alongside the old one.
    const rotation = await call('POST', `/v3/webhooks/${uid}/secret/rotate`, { headers: stackHeaders(), body: {} });
    rotated = rotation.body.signing_secret;
    const rotationResponse = seen.length - 1;
    await emit(h, s, { uid: s.entry, action: 'publish' });
    await until(async () => (await executions(h, s, uid)).length === 2 && (await executions(h, s, uid)).every((x) => x.state === 'succeeded'), 10_000, 'second delivery');
    assert.ok(rx.received.length >= 4);
    // The receiver got the real values: the masking is only in what Herald shows and logs.
    const got = rx.received.find((r) => r.url === '/hook')!;
    assert.equal(got.headers.authorization, 'Basic ' + Buffer.from(`herald:${PASSWORD}`).toString('base64'));
    assert.equal(got.headers['x-receiver-key'], SECRET_HEADER);
    assert.equal(got.headers['x-api-key'], NAMED_SECRET_HEADER);

    // --- writes that carry the secrets back, or get them wrong ---------------------------------
    const fetched = await call('GET', `/v3/webhooks/${uid}`, { headers: stackHeaders() });
    await call('PUT', `/v3/webhooks/${uid}`, { headers: stackHeaders(), body: { webhook: fetched.body.webhook } });
    await call('POST', `/v3/webhooks/${uid}/disable`, { headers: stackHeaders() });
    await call('POST', `/v3/webhooks/${uid}/enable`, { headers: stackHeaders() });
    const refusals = [
      { destinations: [{ target_url: rx.url, http_basic_auth: 'herald', http_basic_password: PASSWORD + '\n' }] },
      { destinations: [{ target_url: rx.url, http_basic_password: PASSWORD }] },
      { destinations: [{ target_url: rx.url, custom_header: [{ header_name: 'X-Receiver-Key', value: SECRET_HEADER + '\r\n', secret: true }] }] },
      { destinations: [{ target_url: `http://herald:${PASSWORD}@hooks.example.com/` }] },
      { signing_secret: SIGNING + '!' },
    ];
    for (const webhook of refusals) {
      const r = await call('PUT', `/v3/webhooks/${uid}`, { headers: stackHeaders(), body: { webhook } });
      assert.equal(r.status, 422, JSON.stringify(r.body));
    }
    assert.equal((await call('GET', '/v3/webhooks', { headers: { api_key: s.api_key, authorization: token + 'x' } })).status, 401);
    assert.equal((await call('GET', '/v3/webhooks', { headers: { api_key: s.api_key, authtoken: ADMIN_TOKEN + 'x' } })).status, 401);

    // --- read everything there is to read -------------------------------------------------------
    const latest = (await executions(h, s, uid))[0];
    const ids = { ...s, webhook: uid, execution: latest.uid, attempt: latest.request_details[0].uid };
    let reads = 0;
    for (const r of routes) {
      if (r.method !== 'GET') continue;
      const path = fillRoute(r.url, ids);
      assert.ok(path, `${routeKey(r)} is not covered by fillRoute`);
      const headers = r.url.startsWith('/spaces/') ? { authorization: `Bearer ${token}` } : stackHeaders();
      for (const q of r.url.endsWith('/executions') ? ['', '?state=succeeded', '?limit=100'] : ['']) {
        await call('GET', path + q, { headers });
        reads++;
      }
    }
    assert.ok(reads > 30, `read ${reads} routes`);
    for (const x of await executions(h, s, uid)) await call('GET', `/v3/webhooks/${x.uid}/logs`, { headers: stackHeaders() });
    await call('GET', '/v3/stacks', { headers: { authtoken: ADMIN_TOKEN } });
    await call('GET', `/spaces/${s.api_key}/webhooks/${uid}/calls`, { headers: { authorization: `Bearer ${token}` } });
    for (const a of latest.request_details) await call('GET', `/spaces/${s.api_key}/webhooks/${uid}/calls/${a.uid}`, { headers: { authorization: `Bearer ${token}` } });

    // --- the scan --------------------------------------------------------------------------------
    const secretRoute = seen.findIndex((x) => x.what === `GET /v3/webhooks/${uid}/secret`);
    assert.ok(secretRoute >= 0, 'GET .../secret was read');
    const everywhereBut = (...allowed: number[]) => seen.filter((_, i) => !allowed.includes(i));
    const secrets: Array<[string, string, Seen[]]> = [
      ['basic auth password', PASSWORD, seen],
      ['basic auth header', Buffer.from(`herald:${PASSWORD}`).toString('base64'), seen],
      ['secret header value', SECRET_HEADER, seen],
      ['header value secret by its name', NAMED_SECRET_HEADER, seen],
      ['Contentful space signing secret', SPACE_SECRET, seen],
      ['admin token', ADMIN_TOKEN, seen],
      ['management token', token, everywhereBut(tokenCreation)],
      ['signing secret', SIGNING, everywhereBut(hookCreation, secretRoute, rotationResponse)],
      ['signing key', SIGNING.slice('whsec_'.length), everywhereBut(hookCreation, secretRoute, rotationResponse)],
      ['rotated signing secret', rotated, everywhereBut(secretRoute, rotationResponse)],
    ];
    const leaks: string[] = [];
    for (const [name, value, responses] of secrets) {
      for (const r of responses) if (r.text.includes(value)) leaks.push(`${name} in the response to ${r.what}: ${r.text.slice(0, 300)}`);
      for (const line of logLines) if (line.includes(value)) leaks.push(`${name} in a log line: ${line.slice(0, 300)}`);
      for (const out of processOutput) if (out.includes(value)) leaks.push(`${name} in process output: ${out.slice(0, 300)}`);
    }
    assert.deepEqual(leaks, []);

    // The scan saw what it should: the places that show a secret on purpose do show it, the log
    // recorded requests and attempts, and masked values keep at most their last 4 characters.
    assert.ok(seen[tokenCreation]!.text.includes(token));
    assert.ok(seen[hookCreation]!.text.includes(SIGNING));
    assert.ok(seen[secretRoute]!.text.includes(rotated) && seen[secretRoute]!.text.includes(SIGNING));
    assert.ok(logLines.some((l) => /"msg":"request"/.test(l)), 'request lines were logged');
    assert.ok(logLines.some((l) => /"msg":"attempt"/.test(l)), 'attempt lines were logged');
    assert.ok(seen.length > 60, `scanned ${seen.length} responses`);
    const shown = fetched.body.webhook.destinations[0];
    assert.equal(shown.http_basic_password, '****' + PASSWORD.slice(-4));
    assert.deepEqual(
      shown.custom_header.map((x: { value: string }) => x.value),
      ['****' + SECRET_HEADER.slice(-4), '****' + NAMED_SECRET_HEADER.slice(-4), 'web'],
    );
    const loggedRequest = latest.request_details[0].request;
    assert.equal(loggedRequest.headers.authorization, 'Basic ****');
    assert.equal(loggedRequest.headers['x-receiver-key'], '****' + SECRET_HEADER.slice(-4));
    assert.equal(loggedRequest.headers['x-api-key'], '****' + NAMED_SECRET_HEADER.slice(-4));
  });

  it("Herald's logger prints [redacted] for credential headers, also one object down and in child loggers", () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _e, done) => (lines.push(String(chunk)), done()) });
    const log = redacting(pino({ level: 'trace' }, sink)).child({ reqId: 'r1' });
    log.trace({ busboyOptions: { headers: { authorization: 'tok-secret-1', 'content-type': 'multipart/form-data' } } }, 'busboy');
    log.info({ headers: { authtoken: 'tok-secret-2', cookie: 'sid=tok-secret-3', api_key: 'blt1' } }, 'request');
    const text = lines.join('');
    for (const secret of ['tok-secret-1', 'tok-secret-2', 'tok-secret-3']) assert.ok(!text.includes(secret), secret);
    assert.match(text, /"authorization":"\[redacted\]"/);
    assert.match(text, /"api_key":"blt1"/, 'other headers are logged as they are');
    assert.match(text, /"multipart\/form-data"/);
  });
});
