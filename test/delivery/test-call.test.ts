import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { createWebhook, executions } from '../helpers/engine.ts';

describe('a test call', () => {
  let h: TestHerald;
  before(async () => {
    h = await startHerald();
  });
  after(() => h.close());

  it('sends a signed sample call now, answers with request and response, and stores nothing', async () => {
    const rx = await startReceiver((_r, res) => {
      res.statusCode = 202;
      res.end('accepted');
    });
    const stack = await h.newStack();
    const headers = { api_key: stack.api_key, authorization: stack.token };
    const hook = await createWebhook(h, stack, rx.url, {
      destinations: [{ target_url: rx.url, http_basic_auth: 'u', http_basic_password: 'test-call-password', custom_header: [] }],
    });
    const r = await h.request('POST', `/v3/webhooks/${hook.uid}/test`, { headers });
    assert.equal(r.status, 200);
    assert.equal(r.body.test.outcome, 'success');
    assert.equal(r.body.test.status, 202);
    assert.equal(r.body.test.response.body, 'accepted');
    assert.equal(r.body.test.request.headers.authorization, 'Basic ****');
    assert.ok(!JSON.stringify(r.body).includes('test-call-password'));
    assert.equal(rx.received.length, 1);
    const got = rx.received[0];
    assert.equal(got.json.event, 'test');
    assert.equal(got.headers.authorization, 'Basic ' + Buffer.from('u:test-call-password').toString('base64'));
    new StandardWebhook(hook.signing_secret).verify(got.body, got.headers as Record<string, string>);
    assert.equal((await executions(h, stack, hook.uid)).length, 0, 'a test call is not an execution');
    await rx.close();
  });

  it('reports a failing endpoint in words', async () => {
    const rx = await startReceiver();
    const url = rx.url;
    await rx.close();
    const stack = await h.newStack();
    const hook = await createWebhook(h, stack, url);
    const r = await h.request('POST', `/v3/webhooks/${hook.uid}/test`, { headers: { api_key: stack.api_key, authorization: stack.token } });
    assert.equal(r.status, 200);
    assert.equal(r.body.test.outcome, 'refused');
    assert.match(r.body.notice, /connection refused/);
  });

  it("is not found from another stack", async () => {
    const rx = await startReceiver();
    const a = await h.newStack();
    const b = await h.newStack();
    const hook = await createWebhook(h, a, rx.url);
    const r = await h.request('POST', `/v3/webhooks/${hook.uid}/test`, { headers: { api_key: b.api_key, authorization: b.token } });
    assert.equal(r.status, 404);
    assert.equal(rx.received.length, 0);
    await rx.close();
  });
});
