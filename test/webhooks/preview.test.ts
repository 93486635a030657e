import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { assertPayloadsMatchSchemas } from '../helpers/payload-schemas.ts';
import { startReceiver } from '../helpers/receiver.ts';

describe('POST /v3/webhooks/preview: a dry run of an unsaved webhook over the newest events', () => {
  let h: TestHerald;
  let api_key: string;
  let token: string;
  let r1: Awaited<ReturnType<typeof startReceiver>>;
  let r2: Awaited<ReturnType<typeof startReceiver>>;
  let contentstackDef: Record<string, unknown>;
  let contentfulDef: Record<string, unknown>;
  let savedUid: string;

  const headers = (branch?: string) => ({ api_key, authorization: token, ...(branch ? { branch } : {}) });

  before(async () => {
    h = await startHerald();
    ({ api_key, token } = await h.newStack());
    r1 = await startReceiver();
    r2 = await startReceiver();
    const ct = await h.request('POST', '/v3/content_types', {
      headers: headers(),
      body: { content_type: { title: 'Page', uid: 'page', schema: [{ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true }, { uid: 'body', display_name: 'Body', data_type: 'text' }] } },
    });
    assert.equal(ct.status, 201, JSON.stringify(ct.body));
    const b = await h.request('POST', '/v3/stacks/branches', { headers: headers(), body: { branch: { uid: 'dev', source: 'main' } } });
    assert.equal(b.status, 201, JSON.stringify(b.body));

    contentstackDef = {
      name: 'titles',
      destinations: [{ target_url: r1.url + '/hook', http_basic_auth: 'herald', http_basic_password: 's3cret-pass', custom_header: [{ header_name: 'X-Api-Key', value: 'k-123456', secret: true }] }],
      channels: ['content_types.entries.update'],
      conditions: [{ changed: ['title'] }],
    };
    contentfulDef = { name: 'contentful', destinations: [{ target_url: r2.url + '/cf' }], channels: ['Entry.*'], format: 'contentful' };
    // Saved copies of both, so what they send can be compared with what the preview shows.
    const s = await h.request('POST', '/v3/webhooks', { headers: headers(), body: { webhook: contentstackDef } });
    assert.equal(s.status, 201, JSON.stringify(s.body));
    savedUid = s.body.webhook.uid;
    const c = await h.request('POST', '/v3/webhooks', { headers: headers(), body: { webhook: contentfulDef } });
    assert.equal(c.status, 201, JSON.stringify(c.body));

    const e = await h.request('POST', '/v3/content_types/page/entries', { headers: headers(), body: { entry: { title: 'Hello', body: 'b' } } });
    assert.equal(e.status, 201);
    const uid = e.body.entry.uid;
    for (const entry of [{ title: 'Hello again' }, { body: 'b2' }]) {
      const u = await h.request('PUT', `/v3/content_types/page/entries/${uid}`, { headers: headers(), body: { entry } });
      assert.equal(u.status, 200);
    }
    const d = await h.request('POST', '/v3/content_types/page/entries', { headers: headers('dev'), body: { entry: { title: 'On dev' } } });
    assert.equal(d.status, 201, JSON.stringify(d.body));
    const du = await h.request('PUT', `/v3/content_types/page/entries/${d.body.entry.uid}`, { headers: headers('dev'), body: { entry: { title: 'On dev 2' } } });
    assert.equal(du.status, 200);
    await r1.waitFor(1);
    await r2.waitFor(3);
  });
  after(async () => {
    await h.close();
    await r1.close();
    await r2.close();
  });

  test('lists matches and non-matches with reasons, and a match shows the exact body the saved webhook sent', async () => {
    const res = await h.request('POST', '/v3/webhooks/preview', { headers: headers(), body: { webhook: contentstackDef, last: 10 } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const p = res.body.preview;
    // Newest first: dev update, dev create, main body update, main title update, main create, content type create.
    assert.deepEqual(
      p.events.map((e: any) => [e.event, e.branch, e.matches, e.reason ?? null]),
      [
        ['entry.update', 'dev', false, 'branch'],
        ['entry.create', 'dev', false, 'branch'],
        ['entry.update', 'main', false, 'condition'],
        ['entry.update', 'main', true, null],
        ['entry.create', 'main', false, 'channel'],
        ['content_type.create', 'main', false, 'channel'],
      ],
    );
    assert.equal(p.total, 6);
    assert.equal(p.matched, 1);
    const notTitle = p.events[2];
    assert.equal(notTitle.condition, 0);
    assert.match(notTitle.message, /condition 0 does not hold: \{"changed":\["title"\]\}/);
    assert.match(p.events[0].message, /branch dev, not main/);
    assert.match(p.events[4].message, /no channel matches content_types\.page\.entries\.create/);

    const match = p.events[3];
    const sent = r1.received[0];
    assert.equal(match.seq, sent.json.seq);
    assert.equal(match.channel, 'content_types.entries.update');
    assert.equal(match.request.body, sent.body, 'the preview body is byte for byte the body the saved webhook sent');
    assert.equal(match.request.method, 'POST');
    assert.equal(match.request.url, r1.url + '/hook');
    assert.equal(match.request.headers.authorization, 'Basic ****');
    assert.notEqual(match.request.headers['x-api-key'], 'k-123456');
    assert.equal(match.request.headers['webhook-signature'], '****');
    assert.equal(match.request.headers['x-herald-event'], 'entry.update');
    // No secret anywhere in the answer.
    assert.doesNotMatch(JSON.stringify(res.body), /s3cret-pass|k-123456|whsec_/);
  });

  test('a Contentful-format preview shows the bodies that format sends', async () => {
    const res = await h.request('POST', '/v3/webhooks/preview', { headers: headers(), body: { webhook: contentfulDef } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const matched = res.body.preview.events.filter((e: any) => e.matches).reverse();
    assert.equal(matched.length, 3);
    const sent = [...r2.received].sort((a, b) => Number(a.headers['x-herald-seq']) - Number(b.headers['x-herald-seq']));
    assert.deepEqual(
      matched.map((e: any) => e.request.body),
      sent.map((r) => r.body),
    );
    assert.equal(matched[1].request.headers['x-contentful-topic'], 'ContentManagement.Entry.save');
    // What was sent (and so what the preview shows) validates against the event catalog.
    assert.equal(await assertPayloadsMatchSchemas(h, headers(), [...r1.received, ...r2.received]), r1.received.length + r2.received.length);
  });

  test('changes to a saved webhook preview with its stored secrets, never showing them', async () => {
    const res = await h.request('POST', '/v3/webhooks/preview', { headers: headers(), body: { webhook_uid: savedUid, webhook: { conditions: [] }, last: 3 } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const p = res.body.preview;
    assert.deepEqual(p.events.map((e: any) => e.matches), [false, false, true]);
    assert.equal(p.events[2].request.headers.authorization, 'Basic ****');
    assert.doesNotMatch(JSON.stringify(res.body), /s3cret-pass|k-123456/);
  });

  test('bad input is refused naming the field', async () => {
    const cases: Array<[unknown, string]> = [
      [{ webhook: contentstackDef, last: 0 }, 'last'],
      [{ webhook: contentstackDef, last: 'ten' }, 'last'],
      [{ last: 5 }, 'webhook'],
      [{ webhook: { ...contentstackDef, conditions: [{ changed: ['a b'] }] } }, 'conditions.0.changed.0'],
      [{ webhook: contentstackDef, replay: true }, 'replay'],
    ];
    for (const [body, field] of cases) {
      const res = await h.request('POST', '/v3/webhooks/preview', { headers: headers(), body });
      assert.equal(res.status, 422, JSON.stringify(res.body));
      assert.ok(res.body.errors?.[field], `${field} named in ${JSON.stringify(res.body)}`);
    }
    const missing = await h.request('POST', '/v3/webhooks/preview', { headers: headers(), body: { webhook_uid: 'nope', webhook: {} } });
    assert.equal(missing.status, 404);
  });
});
