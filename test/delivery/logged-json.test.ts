import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildRequest, loggedJson, type LoggedRequest } from '../../src/delivery/request.ts';
import { prepareDelivery, type Prepared } from '../../src/delivery/formats/index.ts';
import type { Queryable } from '../../src/store/db.ts';
import { responseJson } from '../../src/delivery/queue/complete.ts';
import type { LoggedResponse } from '../../src/delivery/send.ts';
import type { Webhook } from '../../src/webhooks/webhook.ts';
import { entryUpdate, webhookDoc } from '../helpers/delivery-fixtures.ts';

// The attempt row's `request` column is loggedJson(req.logged): for every kind of request it must
// be JSON.stringify's text, byte for byte (the activity log, the web app and manual retry parse it).

const webhook = (over: Partial<Webhook> = {}, dest: Partial<Webhook['destinations'][0]> = {}): Webhook =>
  webhookDoc(over, { target_url: 'https://example.com/hook?x=1&y="2"', ...dest });

const event = entryUpdate({ uid: 'bltentry', title: 'Hello', _version: 3, locale: 'en-us' });

/** Contentstack's and CloudEvents' prepare read nothing from the store. */
const noStore = null as unknown as Queryable;

function prepared(w: Webhook): Prepared {
  const p = prepareDelivery(noStore, event, w, { retryDelaysMs: [1000] });
  assert.ok(!(p instanceof Promise));
  return p;
}

function request(w: Webhook, id = 'exe_01JABCDEF', meta = { seq: 42, attempt: 1, event: 'entry.update' }, now = 1_765_000_000_123) {
  const p = prepared(w);
  return buildRequest(w, id, p.prepared.body(), meta, now, p);
}

const templated = (logged: LoggedRequest) => Object.getOwnPropertySymbols(logged).length > 0;

describe("the attempt log's request JSON", () => {
  it("is JSON.stringify's text for Herald's headers alone, written from the template", () => {
    for (const concise of [false, true]) {
      for (const signing_secrets of [[], [{ secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', expires_at: null }]]) {
        const w = webhook({ concise_payload: concise, signing_secrets });
        // Twice each: the second from the webhook's kept template.
        for (const attempt of [1, 2, 3]) {
          const { logged } = request(w, 'exe_01JABCDEF', { seq: 42 + attempt, attempt, event: 'entry.update' });
          assert.ok(templated(logged), 'the common case takes the template');
          assert.equal(loggedJson(logged), JSON.stringify(logged));
          assert.equal(JSON.parse(loggedJson(logged)).headers['x-herald-attempt'], String(attempt));
        }
      }
    }
  });

  it('is the same with a rotation under way (two signatures), and for a URL with user and password', () => {
    const rotating = webhook({
      signing_secrets: [
        { secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', expires_at: null },
        { secret: 'whsec_Y2hhbmdlZCBzZWNyZXQgdmFsdWUgaGVyZQ==', expires_at: 1_765_000_100_000 },
      ],
    });
    const { logged } = request(rotating);
    assert.equal(logged.headers['webhook-signature'].split(' ').length, 2);
    assert.equal(loggedJson(logged), JSON.stringify(logged));
    const withPassword = webhook({}, { target_url: 'https://user:pa%22ss@example.com/hook' });
    const r = request(withPassword);
    assert.equal(loggedJson(r.logged), JSON.stringify(r.logged));
  });

  it('escapes what needs it: a delivery id, an event name and a URL with quotes, backslashes, controls and non-ASCII', () => {
    for (const id of ['exe_"quoted"', 'exe_back\\slash', 'exe_\u0001ctl', 'exe_ü東🚀', 'exe_\ud800lone']) {
      const { logged } = request(webhook(), id, { seq: 1, attempt: 1, event: 'entry."odd"\n' });
      assert.equal(loggedJson(logged), JSON.stringify(logged), id);
    }
    const { logged } = request(webhook({}, { target_url: 'https://exämple.com/hook/\u00e9' }));
    assert.equal(loggedJson(logged), JSON.stringify(logged));
  });

  it('reads the headers as they are when written: a value changed, a header added or removed, the headers replaced', () => {
    const changed = request(webhook()).logged;
    changed.headers['x-herald-attempt'] = '9';
    assert.equal(loggedJson(changed), JSON.stringify(changed));
    const added = request(webhook()).logged;
    added.headers['x-herald-test'] = '1';
    assert.equal(loggedJson(added), JSON.stringify(added));
    assert.match(loggedJson(added), /x-herald-test/);
    const removed = request(webhook()).logged;
    delete removed.headers['webhook-signature'];
    assert.equal(loggedJson(removed), JSON.stringify(removed));
    const unsigned = request(webhook({ signing_secrets: [] })).logged;
    unsigned.headers['webhook-signature'] = 'v1,abc';
    assert.equal(loggedJson(unsigned), JSON.stringify(unsigned));
    // As dispatcher.ts sendBatch does.
    const batch = request(webhook()).logged;
    Object.assign(batch, { headers: { ...batch.headers, 'x-herald-batch-size': '3' }, format: 'contentstack', batch: 'bat_1' });
    assert.equal(loggedJson(batch), JSON.stringify(batch));
    assert.match(loggedJson(batch), /"batch":"bat_1"/);
  });

  it("is the same with the destination's headers (custom, secret ones masked, basic auth, bearer), a changed one not taken from the template", () => {
    const cases: Webhook[] = [
      webhook({}, { custom_header: [{ header_name: 'X-Team', value: 'site "a"' }, { header_name: 'X-Secret', value: 'top-secret-value', secret: true }] }),
      webhook({}, { http_basic_auth: 'user', http_basic_password: 'hunter2' }),
      webhook({ signing_secrets: [] }, { bearer_token: 'tok-secret', custom_header: [{ header_name: 'X-Ü', value: 'ü東' }] }),
    ];
    for (const w of cases) {
      for (const attempt of [1, 2]) {
        const { logged } = request(w, 'exe_01JABCDEF', { seq: 42, attempt, event: 'entry.update' });
        assert.ok(templated(logged));
        assert.equal(loggedJson(logged), JSON.stringify(logged));
        assert.doesNotMatch(loggedJson(logged), /top-secret-value|hunter2|tok-secret/);
      }
    }
    const changed = request(cases[0]).logged;
    changed.headers['x-team'] = 'other';
    assert.equal(loggedJson(changed), JSON.stringify(changed));
    assert.match(loggedJson(changed), /"x-team":"other"/);
    const swapped = request(cases[0]).logged;
    delete swapped.headers['x-team'];
    swapped.headers['x-other'] = 'site';
    assert.equal(loggedJson(swapped), JSON.stringify(swapped));
  });

  it('is JSON.stringify itself for requests with other headers: OAuth, CloudEvents, a destination header of a name of Herald; and for null', () => {
    const cases: Webhook[] = [
      webhook({}, { custom_header: [{ header_name: 'X-Herald-Seq', value: '1' }] }),
      webhook({}, { access_token_url: 'https://auth.example.com/token', client_id: 'c', client_secret: 's' } as Partial<Webhook['destinations'][0]>),
      webhook({ format: 'cloudevents', format_options: { mode: 'binary' } }),
      webhook({ format: 'cloudevents', format_options: { mode: 'structured' } }),
    ];
    for (const w of cases) {
      const { logged } = request(w);
      assert.ok(!templated(logged));
      assert.equal(loggedJson(logged), JSON.stringify(logged));
      assert.doesNotMatch(loggedJson(logged), /top-secret-value|hunter2|tok-secret/);
    }
    // A test call's and a batch's request (no format given).
    const plain = buildRequest(webhook(), 'exe_1', '{}', { seq: 1, attempt: 1, event: 'x' }, 1_000);
    assert.equal(loggedJson(plain.logged), JSON.stringify(plain.logged));
    assert.equal(loggedJson(null), 'null');
  });
});

describe("the attempt log's response JSON", () => {
  it("is JSON.stringify's text of { status, ...response }, the headers and the text kept per webhook or made again as they change", () => {
    const base = { 'content-type': 'text/plain', 'content-length': '2', date: 'Mon, 07 Dec 2026 08:00:00 GMT', connection: 'keep-alive' };
    const responses: Array<[number | null, LoggedResponse, string]> = [
      [200, { headers: { ...base }, body: 'ok', encoding: 'utf8', truncated: false }, 'w1'],
      // The same headers again (kept), another object.
      [200, { headers: { ...base }, body: 'ok', encoding: 'utf8', truncated: false }, 'w1'],
      // Another webhook's receiver, other headers.
      [503, { headers: { server: 'x"y\\z', 'retry-after': '5' }, body: 'busy "now"\n\u0001ü', encoding: 'utf8', truncated: true }, 'w2'],
      // Date changed, a header added, one removed, the order changed.
      [200, { headers: { ...base, date: 'Mon, 07 Dec 2026 08:00:01 GMT' }, body: 'ok', encoding: 'utf8', truncated: false }, 'w1'],
      [200, { headers: { ...base, date: 'Mon, 07 Dec 2026 08:00:01 GMT', 'x-extra': '1' }, body: 'ok', encoding: 'utf8', truncated: false }, 'w1'],
      [200, { headers: { 'content-type': 'text/plain' }, body: 'ok', encoding: 'utf8', truncated: false }, 'w1'],
      [200, { headers: { 'content-length': '2', 'content-type': 'text/plain' }, body: 'ok', encoding: 'utf8', truncated: false }, 'w1'],
      [200, { headers: { 'content-length': '2', 'content-type': 'text/plain' }, body: 'ok', encoding: 'utf8', truncated: false }, 'w1'],
      // Repeated headers (an array), none at all, a body not UTF-8.
      [200, { headers: { 'set-cookie': ['a=1', 'b=2'] }, body: '', encoding: 'utf8', truncated: false }, 'w1'],
      [200, { headers: { 'set-cookie': ['a=1', 'b=3'] }, body: '', encoding: 'utf8', truncated: false }, 'w1'],
      [204, { headers: {}, body: '', encoding: 'utf8', truncated: false }, 'w1'],
      [204, { headers: {}, body: '', encoding: 'utf8', truncated: false }, 'w1'],
      [200, { headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from([0xff, 0xfe]).toString('base64'), encoding: 'base64', truncated: false }, 'w1'],
      [null, { headers: { 'content-type': 'text/plain' }, body: 'ok', encoding: 'utf8', truncated: false }, 'w1'],
      // The same headers, each other part of the answer changed after the last (its text is not the last one's).
      [200, { headers: { 'content-type': 'text/plain' }, body: 'ok', encoding: 'utf8', truncated: false }, 'w1'],
      [201, { headers: { 'content-type': 'text/plain' }, body: 'ok', encoding: 'utf8', truncated: false }, 'w1'],
      [201, { headers: { 'content-type': 'text/plain' }, body: 'ok!', encoding: 'utf8', truncated: false }, 'w1'],
      [201, { headers: { 'content-type': 'text/plain' }, body: 'ok!', encoding: 'utf8', truncated: true }, 'w1'],
      [201, { headers: { 'content-type': 'text/plain' }, body: 'ok!', encoding: 'base64', truncated: true }, 'w1'],
      [201, { headers: { 'content-type': 'text/plain' }, body: 'ok!', encoding: 'base64', truncated: true }, 'w2'],
      [201, { headers: { 'content-type': 'text/plain' }, body: 'ok!', encoding: 'base64', truncated: true }, 'w1'],
      // A long body (its text not kept), the same twice, then a short one.
      [200, { headers: { 'content-type': 'text/plain' }, body: 'x'.repeat(5_000), encoding: 'utf8', truncated: false }, 'w1'],
      [200, { headers: { 'content-type': 'text/plain' }, body: 'x'.repeat(5_000), encoding: 'utf8', truncated: false }, 'w1'],
      [200, { headers: { 'content-type': 'text/plain' }, body: 'x'.repeat(4_999), encoding: 'utf8', truncated: false }, 'w1'],
      [200, { headers: { 'content-type': 'text/plain' }, body: 'ok', encoding: 'utf8', truncated: false }, 'w1'],
    ];
    for (const [status, response, webhookUid] of responses) {
      const expected = JSON.stringify({ status, ...response });
      assert.equal(responseJson(status, response, webhookUid), expected);
      assert.equal(responseJson(status, response), expected);
    }
  });
});
