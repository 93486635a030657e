/**
 * Every delivery verifies with the public Standard Webhooks libraries, unmodified: `standardwebhooks`
 * and `svix` (issue 9, acceptance 2), across a secret rotation and across retries. The receivers
 * here are real HTTP servers that verify each request and answer 401 when it does not verify, as a
 * production receiver would. The known-answer vector is in test/delivery/request.test.ts.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { startReceiver, type Received } from '../helpers/receiver.ts';
import { createWebhook, emit, executions, until, type Stack } from '../helpers/engine.ts';

type Library = 'standardwebhooks' | 'svix';

/** Verifies one received request with `library`, holding only `secret`; true when it verifies. */
function verifies(library: Library, secret: string, r: Pick<Received, 'body' | 'headers'>): boolean {
  const headers = r.headers as Record<string, string>;
  try {
    if (library === 'standardwebhooks') new StandardWebhook(secret).verify(r.body, headers);
    else new SvixWebhook(secret).verify(r.body, headers);
    return true;
  } catch {
    return false;
  }
}

const LIBRARIES: Library[] = ['standardwebhooks', 'svix'];

/** A receiver that answers 401 unless the request verifies with every library and every secret in `holders`. */
async function verifyingReceiver(holders: () => string[], fail: () => boolean = () => false) {
  return startReceiver((req, res) => {
    const ok = holders().every((secret) => LIBRARIES.every((lib) => verifies(lib, secret, req)));
    res.statusCode = !ok ? 401 : fail() ? 500 : 204;
  });
}

describe('signatures verify with the public libraries', () => {
  let h: TestHerald;
  let stack: Stack;
  let headers: Record<string, string>;
  const receivers: Array<{ close(): Promise<void> }> = [];
  before(async () => {
    // One automatic retry, a little over a second later: the retry carries a later timestamp.
    h = await startHerald({ retryDelaysMs: [1100] });
    stack = await h.newStack();
    headers = { api_key: stack.api_key, authorization: stack.token };
  });
  after(async () => {
    await Promise.all(receivers.map((r) => r.close()));
    await h.close();
  });

  async function settled(hookUid: string, entity: string) {
    return until(
      async () => (await executions(h, stack, hookUid)).find((x) => x.entity_uid === entity && (x.state === 'succeeded' || x.state === 'failed')),
      10_000,
      `delivery of ${entity}`,
    );
  }

  it('a receiver verifying with standardwebhooks and with svix accepts a delivery, and refuses it once tampered with', async () => {
    let secret = '';
    const rx = await verifyingReceiver(() => [secret]);
    receivers.push(rx);
    const hook = await createWebhook(h, stack, rx.url);
    secret = hook.signing_secret;
    assert.match(secret, /^whsec_[A-Za-z0-9+/]+=*$/);
    await emit(h, stack, { uid: 'bltPlain' });
    const ex = await settled(hook.uid, 'bltPlain');
    assert.equal(ex.state, 'succeeded', 'the receiver verified the call');
    const got = rx.received[0];
    for (const lib of LIBRARIES) {
      assert.ok(verifies(lib, secret, got), lib);
      assert.ok(!verifies(lib, secret, { ...got, body: got.body.replace('"Hello"', '"Hacked"') }), `${lib} accepts a changed body`);
      assert.ok(!verifies(lib, secret, { ...got, headers: { ...got.headers, 'webhook-id': 'other-id' } }), `${lib} accepts another id`);
      const wrong = 'whsec_' + Buffer.alloc(32, 7).toString('base64');
      assert.ok(!verifies(lib, wrong, got), `${lib} accepts another secret`);
    }
  });

  it('during a rotation a receiver holding only the old secret and one holding only the new both verify', async () => {
    const held: string[] = [];
    const rx = await verifyingReceiver(() => held);
    receivers.push(rx);
    const hook = await createWebhook(h, stack, rx.url);
    const old = hook.signing_secret;
    const rotated = await h.request('POST', `/v3/webhooks/${hook.uid}/secret/rotate`, { headers, body: {} });
    assert.equal(rotated.status, 200);
    const next = rotated.body.signing_secret as string;
    assert.notEqual(next, old);
    held.push(old, next);

    await emit(h, stack, { uid: 'bltRotating' });
    const ex = await settled(hook.uid, 'bltRotating');
    assert.equal(ex.state, 'succeeded', 'verified with the old secret alone and with the new secret alone');
    const got = rx.received.at(-1)!;
    assert.equal(String(got.headers['webhook-signature']).split(' ').length, 2, 'both keys sign during the grace period');
    for (const lib of LIBRARIES) {
      assert.ok(verifies(lib, old, got), `${lib} with the old secret`);
      assert.ok(verifies(lib, next, got), `${lib} with the new secret`);
    }

    // Rotating again with no grace period: the secret it replaces stops signing at once, and the
    // first one still has its own grace period.
    const third = await h.request('POST', `/v3/webhooks/${hook.uid}/secret/rotate`, { headers, body: { grace_period_hours: 0 } });
    const newest = third.body.signing_secret as string;
    held.length = 0;
    held.push(newest, old);
    await emit(h, stack, { uid: 'bltAfterRotation' });
    assert.equal((await settled(hook.uid, 'bltAfterRotation')).state, 'succeeded');
    const last = rx.received.at(-1)!;
    for (const lib of LIBRARIES) {
      assert.ok(verifies(lib, newest, last), `${lib} with the newest secret`);
      assert.ok(!verifies(lib, next, last), `${lib}: a secret rotated out with no grace period still verifies`);
    }
  });

  it('a retry carries the same webhook-id and a fresh, valid signature', async () => {
    let secret = '';
    let calls = 0;
    const rx = await verifyingReceiver(
      () => [secret],
      () => ++calls === 1,
    );
    receivers.push(rx);
    const hook = await createWebhook(h, stack, rx.url);
    secret = hook.signing_secret;
    await emit(h, stack, { uid: 'bltRetried' });
    const ex = await settled(hook.uid, 'bltRetried');
    assert.equal(ex.state, 'succeeded');
    assert.deepEqual(
      ex.request_details.map((a: any) => a.response.status),
      [500, 204],
      'the first attempt verified and failed on purpose; the retry verified and succeeded',
    );
    const [first, second] = rx.received.slice(-2);
    assert.equal(second.headers['webhook-id'], first.headers['webhook-id']);
    assert.equal(first.headers['webhook-id'], ex.uid, 'the delivery id is the execution uid');
    assert.ok(Number(second.headers['webhook-timestamp']) > Number(first.headers['webhook-timestamp']), 'the retry is signed at its own time');
    assert.notEqual(second.headers['webhook-signature'], first.headers['webhook-signature']);
    assert.equal(second.body, first.body, 'the same payload, byte for byte');
    for (const lib of LIBRARIES) for (const r of [first, second]) assert.ok(verifies(lib, secret, r), lib);
  });

  it('a retry made after a rotation still verifies for a receiver that only has the old secret', async () => {
    let failing = true;
    const rx = await startReceiver((_req, res) => void (res.statusCode = failing ? 503 : 204));
    receivers.push(rx);
    const hook = await createWebhook(h, stack, rx.url);
    const old = hook.signing_secret;
    await emit(h, stack, { uid: 'bltInFlight' });
    const failed = await settled(hook.uid, 'bltInFlight');
    assert.equal(failed.state, 'failed');

    const rotated = await h.request('POST', `/v3/webhooks/${hook.uid}/secret/rotate`, { headers, body: {} });
    const next = rotated.body.signing_secret as string;
    failing = false;
    const retry = await h.request('POST', `/v3/webhooks/${hook.uid}/retry`, { headers, body: { execution_uid: failed.uid } });
    assert.equal(retry.status, 200);
    await until(async () => (await executions(h, stack, hook.uid)).find((x) => x.uid === failed.uid && x.state === 'succeeded'), 10_000, 'manual retry');
    const attempts = rx.received.filter((r) => r.headers['webhook-id'] === failed.uid);
    assert.equal(attempts.length, 3, 'two automatic attempts and the manual retry, one delivery id');
    const manual = attempts.at(-1)!;
    for (const lib of LIBRARIES) {
      assert.ok(verifies(lib, old, manual), `${lib}: the old secret verifies the retry`);
      assert.ok(verifies(lib, next, manual), `${lib}: the new secret verifies the retry`);
      for (const earlier of attempts.slice(0, 2)) {
        assert.ok(verifies(lib, old, earlier));
        assert.ok(!verifies(lib, next, earlier), 'attempts before the rotation were signed with the old secret only');
      }
    }
  });

  it("the README's receiver verifies a real delivery, and refuses a forged one", async () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Verifying a Herald webhook'));
    const code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
    if (!code?.includes('.listen(3000)')) assert.fail('the README shows a receiver listening on port 3000');
    // The README's code as written, but on a free port that it reports.
    const program = code.replace('.listen(3000)', ".listen(0, '127.0.0.1', function () { console.log('PORT ' + this.address().port); })");
    const hook = await createWebhook(h, stack, 'https://placeholder.example/hook');
    const child = spawn(process.execPath, ['--input-type=module', '-e', program], {
      cwd: new URL('../..', import.meta.url),
      env: { ...process.env, HERALD_SIGNING_SECRET: hook.signing_secret },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    receivers.push({ close: async () => void child.kill() });
    const lines: string[] = [];
    child.stdout!.setEncoding('utf8').on('data', (c: string) => lines.push(...c.split('\n').filter(Boolean)));
    const port = await until(() => lines.find((l) => l.startsWith('PORT '))?.slice(5), 10_000, 'the README receiver to listen');
    const url = `http://127.0.0.1:${port}/hook`;
    const put = await h.request('PUT', `/v3/webhooks/${hook.uid}`, { headers, body: { webhook: { destinations: [{ target_url: url }] } } });
    assert.equal(put.status, 200);
    await emit(h, stack, { uid: 'bltReadme' });
    const ex = await settled(hook.uid, 'bltReadme');
    assert.equal(ex.state, 'succeeded');
    assert.equal(ex.status, 204);
    await until(() => lines.some((l) => l.startsWith(`${ex.uid} update entry`)), 5000, 'the README receiver to log the delivery');
    const forged = await fetch(url, {
      method: 'POST',
      headers: { 'webhook-id': ex.uid, 'webhook-timestamp': String(Math.floor(Date.now() / 1000)), 'webhook-signature': 'v1,' + Buffer.alloc(32).toString('base64') },
      body: '{"event":"delete"}',
    });
    assert.equal(forged.status, 401);
  });
});
