import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as contentstackPkg from '@contentstack/management';
import { clientOptions } from '../content/helpers/content.ts';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { testBackends } from '../helpers/postgres.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { emit, until } from '../helpers/engine.ts';

const contentstack: any = (contentstackPkg as any).default ?? contentstackPkg;

// Runs on SQLite and on PostgreSQL (when reachable, see helpers/postgres.ts).
for (const backend of await testBackends()) describe(`the activity log through the official @contentstack/management client on ${backend}`, () => {
  let h: TestHerald;
  before(async () => {
    h = await startHerald({ backend, retryDelaysMs: [] });
  });
  after(() => h.close());

  it('reads executions and retries one, unmodified', async () => {
    let fail = true;
    const rx = await startReceiver((_r, res) => {
      if (fail) res.statusCode = 502;
    });
    const { api_key, token } = await h.newStack();
    const client = contentstack.client(clientOptions(h.url));
    const stack = client.stack({ api_key, management_token: token });
    const created = await stack.webhook().create({
      webhook: {
        name: 'via client',
        destinations: [{ target_url: rx.url, http_basic_auth: '', http_basic_password: '', custom_header: [] }],
        channels: ['content_types.entries.update'],
        branches: ['main'],
        retry_policy: 'manual',
        disabled: false,
        concise_payload: false,
      },
    });
    const event = await emit(h, { api_key, token }, { action: 'update' });
    await rx.waitFor(1);

    const executions = await until(async () => {
      const r = await stack.webhook(created.uid).executions({ skip: 0, limit: 10 });
      return r.webhooks?.[0]?.state === 'failed' ? r : null;
    }, 5000, 'a failed execution');
    const ex = executions.webhooks[0];
    assert.equal(ex.status, 502);
    assert.equal(ex.seq, event.seq);
    assert.deepEqual(ex.channel, ['content_types.blog.entries.update']);
    assert.equal(ex.request_details.length, 1);

    fail = false;
    const retried = await stack.webhook(created.uid).retry(ex.uid);
    assert.match(retried.notice, /retry/i);
    await rx.waitFor(2);
    const after = await until(async () => {
      const r = await stack.webhook(created.uid).executions();
      return r.webhooks[0].state === 'succeeded' ? r.webhooks[0] : null;
    }, 5000, 'the retried execution to succeed');
    assert.equal(after.uid, ex.uid);
    assert.equal(after.status, 200);
    assert.equal(after.request_details.length, 2);
    assert.equal(rx.received[1].headers['webhook-id'], rx.received[0].headers['webhook-id']);
    await rx.close();
  });
});
