import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { assertPayloadsMatchSchemas } from '../helpers/payload-schemas.ts';
import { startReceiver } from '../helpers/receiver.ts';

describe('POST /v3/webhooks/{uid}/test with a channel: test events of any kind', () => {
  let h: TestHerald;
  let api_key: string;
  let token: string;
  let rx: Awaited<ReturnType<typeof startReceiver>>;
  let rxCf: Awaited<ReturnType<typeof startReceiver>>;
  let hook: { uid: string; secret: string };
  let cfHook: string;
  let entryUid: string;
  const headers = () => ({ api_key, authorization: token });
  const testCall = (uid: string, body?: unknown) => h.request('POST', `/v3/webhooks/${uid}/test`, { headers: headers(), ...(body === undefined ? {} : { body }) });

  before(async () => {
    h = await startHerald();
    ({ api_key, token } = await h.newStack());
    rx = await startReceiver();
    rxCf = await startReceiver();
    const ct = await h.request('POST', '/v3/content_types', {
      headers: headers(),
      body: {
        content_type: {
          title: 'Post',
          uid: 'post',
          schema: [
            { uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true },
            { uid: 'rating', display_name: 'Rating', data_type: 'number' },
            { uid: 'seo', display_name: 'SEO', data_type: 'group', schema: [{ uid: 'description', display_name: 'Description', data_type: 'text' }] },
          ],
        },
      },
    });
    assert.equal(ct.status, 201, JSON.stringify(ct.body));
    const w = await h.request('POST', '/v3/webhooks', { headers: headers(), body: { webhook: { name: 'updates', destinations: [{ target_url: rx.url }], channels: ['content_types.entries.update'] } } });
    assert.equal(w.status, 201);
    hook = { uid: w.body.webhook.uid, secret: w.body.webhook.signing_secret };
    const c = await h.request('POST', '/v3/webhooks', { headers: headers(), body: { webhook: { name: 'cf', destinations: [{ target_url: rxCf.url }], channels: ['Entry.save'], format: 'contentful' } } });
    assert.equal(c.status, 201);
    cfHook = c.body.webhook.uid;
    const e = await h.request('POST', '/v3/content_types/post/entries', { headers: headers(), body: { entry: { title: 'First', rating: 3 } } });
    assert.equal(e.status, 201);
    entryUid = e.body.entry.uid;
    const u = await h.request('PUT', `/v3/content_types/post/entries/${entryUid}`, { headers: headers(), body: { entry: { title: 'Second' } } });
    assert.equal(u.status, 200);
    await rx.waitFor(1); // the real update
    await rxCf.waitFor(1);
  });
  after(async () => {
    await h.close();
    await rx.close();
    await rxCf.close();
  });

  test('a channel alone sends a generated example of the content type, marked and signed like a delivery', async () => {
    const res = await testCall(hook.uid, { channel: 'content_types.post.entries.publish' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.test.outcome, 'success');
    assert.deepEqual(res.body.test.event, { channel: 'content_types.post.entries.publish', event: 'entry.publish', uid: 'bltexampleentry0001', content_type_uid: 'post', example: true });
    assert.equal(res.body.test.request.headers['x-herald-test'], '1');
    await rx.waitFor(2);
    const got = rx.received[1];
    assert.equal(got.headers['x-herald-test'], '1');
    assert.equal(got.body, res.body.test.request.body);
    // It verifies with the webhook's secret, as a real delivery does.
    const payload = new StandardWebhook(hook.secret).verify(got.body, got.headers as Record<string, string>) as any;
    assert.equal(payload.event, 'publish');
    assert.equal(payload.module, 'entry');
    assert.equal(payload.seq, 0);
    assert.deepEqual(
      { title: payload.data.entry.title, rating: payload.data.entry.rating, seo: payload.data.entry.seo },
      { title: 'Example Title', rating: 42, seo: { description: 'Example Description' } },
    );
    assert.equal(payload.data.content_type.uid, 'post');
    assert.equal(typeof payload.data.environment.name, 'string');
    assert.equal(payload.data.locale, 'en-us');
    assert.equal(payload.actor.type, 'management_token');
  });

  test('with a uid it is built from the real entry: the same data and changes its real update carried', async () => {
    const res = await testCall(hook.uid, { channel: 'content_types.entries.update', uid: entryUid });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.test.event.example, false);
    await rx.waitFor(3);
    const real = rx.received[0].json;
    const fake = rx.received[2].json;
    assert.equal(real.seq > 0, true);
    assert.equal(fake.seq, 0);
    assert.deepEqual(fake.data, real.data);
    assert.deepEqual(fake.changes, { paths: ['title'], fields: [{ path: 'title', old: 'First', new: 'Second' }], truncated: false });
    assert.deepEqual(fake.changes, real.changes);
  });

  test('a Contentful-format webhook gets the event in its format, with its topic', async () => {
    const res = await testCall(cfHook, { channel: 'Entry.save', uid: entryUid });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    await rxCf.waitFor(2);
    const real = rxCf.received[0];
    const got = rxCf.received[1];
    assert.equal(got.headers['x-contentful-topic'], 'ContentManagement.Entry.save');
    assert.equal(got.headers['x-herald-test'], '1');
    assert.deepEqual(got.json.fields, real.json.fields);
    assert.deepEqual(got.json.changes, real.json.changes);
  });

  test('assets and content types have examples too; a .fail event carries a reason', async () => {
    const a = await testCall(hook.uid, { channel: 'assets.publish.fail' });
    assert.equal(a.status, 200, JSON.stringify(a.body));
    const body = JSON.parse(a.body.test.request.body);
    assert.equal(body.event, 'publish.fail');
    assert.equal(body.data.asset.filename, 'example.png');
    assert.match(body.data.reason, /test event/);
    const c = await testCall(hook.uid, { channel: 'content_types.post.update' });
    assert.equal(c.status, 200, JSON.stringify(c.body));
    assert.equal(JSON.parse(c.body.test.request.body).data.content_type.uid, 'post');
  });

  test('without a body the sample call is sent as before', async () => {
    const res = await testCall(hook.uid);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const body = JSON.parse(res.body.test.request.body);
    assert.equal(body.event, 'test');
    assert.equal(body.module, 'webhook');
    assert.equal(res.body.test.event, undefined);
  });

  test('bad requests are refused naming the field, before anything is sent', async () => {
    const before = rx.received.length;
    const cases: Array<[unknown, number, string]> = [
      [{ channel: '*.*' }, 422, 'channel'],
      [{ channel: 'Entry.*' }, 422, 'channel'],
      [{ channel: 'content_types.entries.publish' }, 422, 'channel'],
      [{ channel: 'content_types.entries.nope' }, 422, 'channel'],
      [{ uid: entryUid }, 422, 'channel'],
      [{ channel: 'Entry.save', colour: 'red' }, 422, 'colour'],
      [{ channel: 'content_types.other.entries.update', uid: entryUid }, 422, 'uid'],
    ];
    for (const [body, status, field] of cases) {
      const res = await testCall(hook.uid, body);
      assert.equal(res.status, status, `${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
      assert.ok(res.body.errors?.[field], `${field} named in ${JSON.stringify(res.body)}`);
    }
    const missing = await testCall(hook.uid, { channel: 'content_types.entries.update', uid: 'bltnosuchentry' });
    assert.equal(missing.status, 404);
    const noType = await testCall(hook.uid, { channel: 'content_types.nosuch.entries.create' });
    assert.equal(noType.status, 404);
    assert.equal(rx.received.length, before);
  });

  test('every test event sent validates against its schema in the event catalog', async () => {
    const n = await assertPayloadsMatchSchemas(h, headers(), [...rx.received, ...rxCf.received]);
    assert.ok(n >= 6, `${n} payloads checked`);
  });
});
