import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { HTTP, type CloudEventV1 } from 'cloudevents';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { assertPayloadsMatchSchemas } from '../helpers/payload-schemas.ts';
import { startReceiver, type Received } from '../helpers/receiver.ts';
import { until } from '../helpers/engine.ts';

/**
 * CloudEvents 1.0 webhooks (format "cloudevents"): what receivers get is read by the official
 * `cloudevents` SDK's HTTP parser in both modes, carries Herald's own payload as data, is signed
 * like every delivery, and validates against the event catalog.
 */
describe('CloudEvents webhooks (format "cloudevents")', () => {
  let h: TestHerald;
  let api_key: string;
  let token: string;
  const rx = {} as Record<'binary' | 'structured' | 'plain', Awaited<ReturnType<typeof startReceiver>>>;
  const hooks = {} as Record<'binary' | 'structured' | 'plain', { uid: string; signing_secret: string; format_options?: unknown }>;
  const headers = () => ({ api_key, authorization: token });
  const ok = async (method: string, path: string, body?: unknown, status = 200) => {
    const r = await h.request(method, path, { headers: headers(), ...(body === undefined ? {} : { body }) });
    assert.equal(r.status, status, `${method} ${path}: ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const hook = async (name: string, url: string, over: Record<string, unknown>) =>
    (await ok('POST', '/v3/webhooks', { webhook: { name, destinations: [{ target_url: url }], channels: ['content_types.entries.create', 'content_types.entries.update', 'content_types.entries.publish', 'assets.delete'], ...over } }, 201)).webhook;

  before(async () => {
    h = await startHerald();
    ({ api_key, token } = await h.newStack('CloudEvents site'));
    for (const k of ['binary', 'structured', 'plain'] as const) rx[k] = await startReceiver();
    await ok('POST', '/v3/content_types', { content_type: { title: 'Post', uid: 'post', schema: [{ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true }, { uid: 'rating', display_name: 'Rating', data_type: 'number' }] } }, 201);
    await ok('POST', '/v3/environments', { environment: { name: 'production' } }, 201);
    hooks.binary = await hook('ce binary', rx.binary.url + '/ce', { format: 'cloudevents' });
    hooks.structured = await hook('ce structured', rx.structured.url + '/ce', { format: 'cloudevents', format_options: { mode: 'structured' } });
    hooks.plain = await hook('plain', rx.plain.url, {});
  });
  after(async () => {
    await h.close();
    for (const r of Object.values(rx)) await r.close();
  });

  test('the cloudevents SDK parses every delivery, in both modes; the data is the Contentstack-format body, signed as usual', async () => {
    assert.deepEqual(hooks.binary.format_options, { mode: 'binary' }, 'the default mode is stored and shown');
    assert.deepEqual(hooks.structured.format_options, { mode: 'structured' });
    const entry = (await ok('POST', '/v3/content_types/post/entries', { entry: { title: 'Hello', rating: 3 } }, 201)).entry.uid;
    await ok('PUT', `/v3/content_types/post/entries/${entry}`, { entry: { title: 'Hello again' } });
    await ok('POST', `/v3/content_types/post/entries/${entry}/publish`, { entry: { environments: ['production'], locales: ['en-us'] } });
    for (const r of Object.values(rx)) await r.waitFor(3);

    const plainBySeq = new Map(rx.plain.received.map((r) => [r.headers['x-herald-seq'], r]));
    for (const mode of ['binary', 'structured'] as const) {
      const verifier = new StandardWebhook(hooks[mode].signing_secret);
      const types: string[] = [];
      for (const got of rx[mode].received) {
        assert.equal(got.method, 'POST');
        // The official SDK's HTTP binding reads the message (and validates the event: it throws otherwise).
        const ce = HTTP.toEvent({ headers: got.headers, body: got.body }) as CloudEventV1<any>;
        assert.equal(ce.specversion, '1.0');
        assert.equal(ce.id, got.headers['x-herald-seq'], 'the id is the event sequence number');
        assert.equal(ce.source, `/stacks/${api_key}/branches/main`);
        assert.equal(ce.subject, `content_types/post/entries/${entry}`);
        assert.equal(ce.datacontenttype, 'application/json');
        assert.ok(!Number.isNaN(Date.parse(String(ce.time))));
        types.push(ce.type);
        // The data is exactly what a Contentstack-format webhook got for the same event.
        const plain = plainBySeq.get(got.headers['x-herald-seq']);
        assert.ok(plain);
        assert.deepEqual(ce.data, plain.json);
        if (mode === 'binary') {
          assert.equal(got.headers['content-type'], 'application/json');
          assert.equal(got.headers['ce-specversion'], '1.0');
          assert.equal(got.body, plain.body, 'binary mode: the body is the data byte for byte');
        } else {
          assert.equal(got.headers['content-type'], 'application/cloudevents+json');
          assert.equal(got.headers['ce-specversion'], undefined, 'structured mode sends no ce-* headers');
          assert.equal(got.json.data.event, plain.json.event);
        }
        // Standard Webhooks signatures, as on every delivery.
        assert.doesNotThrow(() => verifier.verify(got.body, got.headers as Record<string, string>));
      }
      assert.deepEqual(types, ['herald.entry.create', 'herald.entry.update', 'herald.entry.publish']);
    }
    const checked = await assertPayloadsMatchSchemas(h, headers(), [...rx.binary.received, ...rx.structured.received]);
    assert.equal(checked, 6);

    // The activity log shows the body each attempt sent, rebuilt byte for byte, with its ce-* headers.
    for (const mode of ['binary', 'structured'] as const) {
      const list = (await until(async () => {
        const x = (await ok('GET', `/v3/webhooks/${hooks[mode].uid}/executions?limit=10`)).webhooks as any[];
        return x.length === 3 && x.every((e) => e.state === 'succeeded') ? x : null;
      }, 10_000, 'three succeeded executions'))!;
      const bySeq = new Map(rx[mode].received.map((r: Received) => [Number(r.headers['x-herald-seq']), r]));
      for (const x of list) {
        const req = x.request_details[0].request;
        assert.equal(req.format, 'cloudevents');
        const got = bySeq.get(Number(x.seq))!;
        assert.equal(req.body, got.body);
        if (mode === 'binary') assert.equal(req.headers['ce-type'], got.headers['ce-type']);
      }
    }
  });

  test('a test event goes out as a CloudEvent too, and a concise payload is the concise data', async () => {
    await ok('PUT', `/v3/webhooks/${hooks.structured.uid}`, { webhook: { concise_payload: true } });
    const before = rx.structured.received.length;
    const t = await ok('POST', `/v3/webhooks/${hooks.structured.uid}/test`, { channel: 'content_types.post.entries.publish' });
    assert.equal(t.test.outcome, 'success', JSON.stringify(t.test));
    await rx.structured.waitFor(before + 1);
    const got = rx.structured.received[before];
    assert.equal(got.headers['x-herald-test'], '1');
    const ce = HTTP.toEvent({ headers: got.headers, body: got.body }) as CloudEventV1<any>;
    assert.equal(ce.type, 'herald.entry.publish');
    assert.match(ce.id, /^test-/);
    assert.equal(ce.data.data.entry.rating, undefined, 'concise: no content fields');
    assert.ok(ce.data.data.entry.uid);
    assert.equal(t.test.request.body, got.body);
    assert.deepEqual((await ok('GET', `/v3/webhooks/${hooks.structured.uid}`)).webhook.format_options, { mode: 'structured' }, 'an update leaves the mode as it was');
  });

  test('format_options are checked by the format: a bad mode, an unknown option, options of a format that has none', async () => {
    const bad = async (over: Record<string, unknown>, field: string, re: RegExp) => {
      const r = await h.request('POST', '/v3/webhooks', { headers: headers(), body: { webhook: { name: 'x', destinations: [{ target_url: rx.plain.url }], channels: ['*.*'], ...over } } });
      assert.equal(r.status, 422, JSON.stringify(r.body));
      assert.match(r.body.errors[field][0], re);
    };
    await bad({ format: 'cloudevents', format_options: { mode: 'batch' } }, 'format_options.mode', /"binary" or "structured"/);
    await bad({ format: 'cloudevents', format_options: { partition: 'x' } }, 'format_options.partition', /not an option/);
    await bad({ format: 'cloudevents', format_options: 'structured' }, 'format_options', /must be an object/);
    await bad({ format_options: { mode: 'structured' } }, 'format_options', /contentstack format takes no options/);
    // Moving a webhook to another format drops the options of the one it left.
    const moved = await ok('PUT', `/v3/webhooks/${hooks.binary.uid}`, { webhook: { format: 'contentstack' } });
    assert.equal(moved.webhook.format_options, undefined);
    await ok('PUT', `/v3/webhooks/${hooks.binary.uid}`, { webhook: { format: 'cloudevents' } });
  });

  test('the event catalog and the AsyncAPI document list both modes', async () => {
    const one = await ok('GET', '/v3/webhooks/schemas?format=cloudevents&content_type=post&event=entry.publish');
    assert.deepEqual(one.schemas.map((s: any) => [s.mode, s.content_type_header]), [
      ['binary', 'application/json'],
      ['structured', 'application/cloudevents+json'],
    ]);
    assert.ok(one.schemas[0].headers.required.includes('ce-type'));
    assert.equal(one.schemas[1].schema.properties.type.const, 'herald.entry.publish');
    const docu = await ok('GET', '/v3/asyncapi.json');
    const channel = docu.channels['content_types.post.entries.publish'];
    assert.deepEqual(Object.keys(channel.messages).sort(), ['cloudevents.binary', 'cloudevents.structured', 'contentful', 'contentstack']);
    const ref = channel.messages['cloudevents.binary'].$ref.split('/').pop();
    assert.equal(docu.components.messages[ref].headers.properties['ce-specversion'].const, '1.0');
  });
});
