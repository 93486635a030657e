import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { buildRequest } from '../../src/delivery/request.ts';
import { contentstackBody, contentstackPayload } from '../../src/delivery/formats/contentstack.ts';
import { cloudEventAttributes } from '../../src/delivery/formats/cloudevents.ts';
import { createHmac, randomBytes } from 'node:crypto';
import { PADDED_MAX_BODY, signOnce } from '../../src/delivery/signature.ts';
import type { Webhook } from '../../src/webhooks/webhook.ts';
import { entryUpdate, webhookDoc } from '../helpers/delivery-fixtures.ts';

/** Basic auth and two custom headers, one secret: what a request must carry and a log must mask. */
const DEST = {
  target_url: 'https://example.com/hook',
  http_basic_auth: 'user',
  http_basic_password: 'hunter2-password',
  custom_header: [
    { header_name: 'X-Team', value: 'site' },
    { header_name: 'X-Secret', value: 'top-secret-value', secret: true },
  ],
};

const webhook = (over: Partial<Webhook> = {}): Webhook => webhookDoc(over, DEST);

const event = entryUpdate({ uid: 'bltentry', title: 'Hello', body: 'long text', _version: 3, locale: 'en-us' });

describe('the delivery request', () => {
  it('signs per Standard Webhooks: the known-answer vector', () => {
    assert.equal(
      signOnce('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}'),
      'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    );
  });

  it('signs a body given as bytes (the one-shot pads) exactly as createHmac does, over key and body lengths', () => {
    // The known-answer vector through the bytes path.
    assert.equal(
      signOnce('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, Buffer.from('{"test": 2432232314}')),
      'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    );
    // Keys shorter than, equal to and longer than SHA-256's 64-byte block (a longer one is hashed
    // first); bodies empty, small, at the one-shot path's cap and past it (createHmac's path); a
    // webhook-id with multi-byte characters. Each secret twice (its pads are kept and reused).
    for (const keyLength of [1, 24, 63, 64, 65, 100, 200]) {
      const key = randomBytes(keyLength);
      const secret = 'whsec_' + key.toString('base64');
      for (const bodyLength of [0, 1, 55, 56, 64, 1_200, PADDED_MAX_BODY, PADDED_MAX_BODY + 1]) {
        const body = randomBytes(bodyLength);
        for (const id of ['exe_1', 'msg_ü東🚀']) {
          const expected = 'v1,' + createHmac('sha256', key).update(`${id}.1614265330.`).update(body).digest('base64');
          assert.equal(signOnce(secret, id, 1614265330, body), expected, `key ${keyLength} B, body ${bodyLength} B, id ${id}`);
          assert.equal(signOnce(secret, id, 1614265330, body), expected);
        }
      }
    }
  });

  it('verifies with the standardwebhooks library, unmodified', () => {
    const body = JSON.stringify(contentstackPayload(event, { concise: false }));
    const now = Date.now();
    const req = buildRequest(webhook(), 'exe_1', body, { seq: 42, attempt: 1, event: 'entry.update' }, now);
    const verified = new StandardWebhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw').verify(body, req.headers);
    assert.equal((verified as { seq: number }).seq, 42);
  });

  it('carries the body as its UTF-8 bytes, signed as such, the right ones for each body in turn', () => {
    const now = Date.now();
    // Multi-byte text, and two bodies one after another and back (the encoding is kept for the last body only).
    const one = JSON.stringify({ title: 'Grüße – 東京 🚀', n: 1 });
    const two = JSON.stringify({ title: 'zwei', n: 2 });
    for (const body of [one, one, two, one]) {
      const req = buildRequest(webhook(), 'exe_1', body, { seq: 42, attempt: 1, event: 'entry.update' }, now);
      assert.ok(req.bodyBytes);
      assert.equal(req.bodyBytes.toString('utf8'), body);
      assert.equal(req.bodyBytes.length, Buffer.byteLength(body));
      assert.equal(req.body, body);
      new StandardWebhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw').verify(body, req.headers);
      assert.equal(req.headers['webhook-signature'], signOnce('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'exe_1', Math.floor(now / 1000), body));
    }
  });

  it('signs with both keys while an old secret is in its grace period, and drops it after', () => {
    const w = webhook({
      signing_secrets: [
        { secret: 'whsec_' + Buffer.alloc(32, 1).toString('base64'), expires_at: null },
        { secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', expires_at: 2_000 },
      ],
    });
    assert.equal(buildRequest(w, 'exe_1', '{}', { seq: 1, attempt: 1, event: 'x' }, 1_000).headers['webhook-signature'].split(' ').length, 2);
    assert.equal(buildRequest(w, 'exe_1', '{}', { seq: 1, attempt: 1, event: 'x' }, 3_000).headers['webhook-signature'].split(' ').length, 1);
  });

  it('sends basic auth and custom headers, and masks their secrets in the log', () => {
    const req = buildRequest(webhook(), 'exe_1', '{}', { seq: 1, attempt: 2, event: 'entry.update' }, Date.now());
    assert.equal(req.headers.authorization, 'Basic ' + Buffer.from('user:hunter2-password').toString('base64'));
    assert.equal(req.headers['x-team'], 'site');
    assert.equal(req.headers['x-secret'], 'top-secret-value');
    assert.equal(req.headers['x-herald-attempt'], '2');
    assert.equal(req.headers['webhook-id'], 'exe_1');
    assert.match(req.headers['user-agent'], /^Herald/);
    const logged = JSON.stringify(req.logged);
    assert.ok(!logged.includes('top-secret-value'));
    assert.ok(!logged.includes(Buffer.from('user:hunter2-password').toString('base64')));
    assert.equal(req.logged.headers.authorization, 'Basic ****');
    assert.equal(req.logged.headers['x-team'], 'site');
  });

  it('builds the seed 003 body with the sequence number, and a concise one with metadata only', () => {
    const full = contentstackPayload(event, { concise: false });
    assert.equal(full.event, 'update');
    assert.equal(full.module, 'entry');
    assert.equal(full.api_key, 'bltstack');
    assert.equal(full.seq, 42);
    assert.equal(full.triggered_at, '2026-01-01T00:00:00.000Z');
    assert.deepEqual(full.branch, { uid: 'main', alias: [] });
    assert.equal((full.data as any).entry.body, 'long text');
    const concise = contentstackPayload(event, { concise: true }) as any;
    assert.equal(concise.data.entry.uid, 'bltentry');
    assert.equal(concise.data.entry.title, 'Hello');
    assert.equal(concise.data.entry.body, undefined);
    assert.equal(concise.data.content_type.schema, undefined);
  });

  it("stamps each body with its event's recording time in UTC to the millisecond, whatever the day", () => {
    // Events in the order a receiver may get them: several in one day, across midnight and a leap
    // day, a retry of an older day's event in between, the first millisecond of the epoch, the
    // last one before year 10000 (ISO 8601's four-digit years end there) and past it.
    const times = [
      Date.UTC(2026, 11, 7, 2, 31, 5, 42),
      Date.UTC(2026, 11, 7, 2, 31, 5, 43),
      Date.UTC(2026, 11, 7, 23, 59, 59, 999),
      Date.UTC(2026, 11, 8, 0, 0, 0, 0),
      Date.UTC(2026, 11, 6, 9, 5, 7, 8),
      Date.UTC(2028, 1, 29, 12, 0, 0, 1),
      Date.UTC(2028, 2, 1, 0, 0, 0, 10),
      0,
      Date.UTC(9999, 11, 31, 23, 59, 59, 999),
      Date.UTC(10000, 0, 1, 0, 0, 0, 0),
    ];
    for (const ms of times) {
      const e = { ...event, created_at: ms };
      const want = new Date(ms).toISOString();
      assert.equal(JSON.parse(contentstackBody(e, { concise: false })).triggered_at, want);
      assert.equal(JSON.parse(contentstackBody(e, { concise: true })).triggered_at, want);
      assert.equal(cloudEventAttributes(e).time, want);
    }
    // Every millisecond of a day's last ten seconds and the next day's first ten, in turn.
    const midnight = Date.UTC(2026, 11, 8);
    for (let ms = midnight - 10_000; ms < midnight + 10_000; ms++) {
      assert.equal(JSON.parse(contentstackBody({ ...event, created_at: ms }, { concise: true })).triggered_at, new Date(ms).toISOString());
    }
  });
});
