import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { createWebhook, emit, executions, sleep, until } from '../helpers/engine.ts';
import { assertPayloadsMatchSchemas } from '../helpers/payload-schemas.ts';
import { testBackends } from '../helpers/postgres.ts';

const SMTP_PASSWORD = 'smtp-secret-pass-4711';

/** A real SMTP server on loopback that keeps every message (smtp-server), with a login. */
async function startSmtp() {
  const messages: Array<{ from: string; to: string[]; raw: string }> = [];
  const server = new SMTPServer({
    authOptional: false,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === 'herald' && auth.password === SMTP_PASSWORD) cb(null, { user: 'herald' });
      else cb(new Error('bad login'));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString(),
        });
        cb();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.server.address() as AddressInfo).port;
  return { port, messages, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** A message's Subject, its RFC 2047 encoded words (=?UTF-8?Q?...?=) decoded. */
function subjectOf(raw: string): string {
  const header = /^Subject: (.*(?:\r?\n[ \t].*)*)/m.exec(raw)![1];
  return header.replace(/\r?\n[ \t]/g, ' ').replace(/=\?UTF-8\?Q\?(.*?)\?=\s*/gi, (_m, q: string) => quotedPrintable(q.replace(/_/g, ' ')));
}

/** Quoted-printable text decoded (soft line breaks joined, =XX bytes restored). */
function quotedPrintable(text: string): string {
  return Buffer.from(text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1').toString('utf8');
}

/**
 * Operational events (issue #19 items 6 and 7, acceptance 5): a webhook the breaker trips emits
 * `webhooks.disabled` to another webhook and an email to its notifiers; the half-open probe tries
 * one parked delivery on a back-off and enables the webhook once its receiver recovers.
 */
for (const backend of await testBackends()) describe(`operational events and the half-open probe on ${backend}`, () => {
  let h: TestHerald;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  const logLines: string[] = [];
  before(async () => {
    smtp = await startSmtp();
    const logTo = new Writable({
      write(chunk, _enc, cb) {
        logLines.push(String(chunk));
        cb();
      },
    });
    h = await startHerald({
      backend,
      // One attempt per execution; the breaker trips on the second failed execution.
      retryDelaysMs: [],
      circuitBreakerThreshold: 2,
      // Probes after 300 ms, then 600 ms (the default is 1 min doubling to 1 h).
      probeDelayMs: 300,
      probeMaxDelayMs: 600,
      smtpUrl: `smtp://herald:${SMTP_PASSWORD}@127.0.0.1:${smtp.port}?from=herald@example.test`,
      logLevel: 'info',
      logTo,
    });
  });
  after(async () => {
    await h.close();
    await smtp.close();
  });

  it('emits executions.failed and webhooks.disabled to another webhook, emails the notifiers, and the probe enables the webhook once its receiver recovers', async () => {
    let down = true;
    const site = await startReceiver((_r, res) => void (res.statusCode = down ? 503 : 200));
    const ops = await startReceiver();
    const stack = await h.newStack();
    const headers = { api_key: stack.api_key, authorization: stack.token };
    const hook = await createWebhook(h, stack, site.url + '/build', {
      name: 'rebuild the site',
      channels: ['content_types.entries.update'],
      notifiers: ['ops@example.test', 'dev@example.test'],
    });
    assert.deepEqual(hook.notifiers, ['ops@example.test', 'dev@example.test']);
    await createWebhook(h, stack, ops.url + '/ops', {
      name: 'ops channel',
      channels: ['webhooks.disabled', 'webhooks.enabled', 'webhooks.recovered', 'executions.failed'],
    });

    // Three changes of one entry: the first two fail (the lane sends them in order), the breaker
    // trips on the second, and the third waits, parked.
    for (let i = 1; i <= 3; i++) await emit(h, stack, { uid: 'bltOpsEntry', data: { entry: { uid: 'bltOpsEntry', title: `v${i}` }, content_type: { uid: 'blog', title: 'Blog' } } });
    const disabled = await until(() => ops.received.find((r) => r.json?.event === 'disabled'), 15_000, 'webhooks.disabled at the ops webhook');
    assert.ok(disabled);
    assert.equal(disabled.headers['x-herald-event'], 'webhook.disabled');
    assert.equal(disabled.json.module, 'webhook');
    assert.equal(disabled.json.data.webhook.uid, hook.uid);
    assert.equal(disabled.json.data.cause, 'circuit_breaker');
    assert.match(disabled.json.data.reason, /2 consecutive failed executions/);
    assert.deepEqual(disabled.json.actor, { type: 'herald', uid: 'herald', name: 'Herald' });
    const failed = ops.received.filter((r) => r.json?.event === 'failed');
    assert.equal(failed.length, 2, 'one executions.failed per execution that failed for good');
    assert.deepEqual(failed.map((r) => r.json.data.execution.entity.uid), ['bltOpsEntry', 'bltOpsEntry']);
    assert.equal(failed[0].json.data.execution.status_code, 503);
    assert.ok(failed.every((r) => r.json.seq < disabled.json.seq), 'the failures are recorded before the disable they caused');

    // The email, through the SMTP server with the configured login, to both notifiers.
    await until(() => smtp.messages.length > 0, 10_000, 'the notification email');
    const mail = smtp.messages[0];
    assert.deepEqual(mail.to.sort(), ['dev@example.test', 'ops@example.test']);
    assert.equal(mail.from, 'herald@example.test');
    assert.equal(subjectOf(mail.raw), 'Herald disabled the webhook "rebuild the site"');
    assert.match(quotedPrintable(mail.raw), /Reason: Disabled after 2 consecutive failed executions/);

    const parked = await until(async () => (await executions(h, stack, hook.uid)).find((x) => x.parked), 10_000, 'a parked execution');
    // While the receiver still fails, the probe tries the parked delivery and the webhook stays disabled.
    const before = site.received.length;
    await until(() => site.received.length > before, 10_000, 'a probe attempt while the receiver is down');
    assert.equal(site.received.at(-1)!.headers['webhook-id'], parked.uid, 'the probe sends the waiting delivery itself');
    const still = await h.request('GET', `/v3/webhooks/${hook.uid}`, { headers });
    assert.equal(still.body.webhook.disabled, true);

    // The receiver recovers: the next probe succeeds and enables the webhook again.
    down = false;
    const enabled = await until(() => ops.received.find((r) => r.json?.event === 'enabled'), 15_000, 'webhooks.enabled');
    assert.ok(enabled);
    assert.equal(enabled.json.data.cause, 'probe');
    const recovered = await until(() => ops.received.find((r) => r.json?.event === 'recovered'), 10_000, 'webhooks.recovered');
    assert.ok(recovered);
    assert.equal(recovered.json.data.probe.execution_uid, parked.uid);
    assert.match(recovered.json.data.reason, /consecutive failed executions/);
    const now = await h.request('GET', `/v3/webhooks/${hook.uid}`, { headers });
    assert.equal(now.body.webhook.disabled, false);
    assert.equal(now.body.webhook.disabled_reason, null);
    const log = await executions(h, stack, hook.uid);
    const probed = log.find((x) => x.uid === parked.uid);
    assert.equal(probed.state, 'succeeded');
    assert.ok(probed.attempts >= 2, 'the failed probe and the successful one are both in the log');
    // Enabled, the webhook gets new changes again.
    const got = site.received.length;
    await emit(h, stack, { uid: 'bltOpsOther' });
    await until(() => site.received.length > got, 10_000, 'a delivery after recovery');
    await until(async () => (await executions(h, stack, hook.uid)).some((x) => x.entity?.uid === 'bltOpsOther' && x.state === 'succeeded'), 10_000, 'the new delivery succeeded');

    assert.ok((await assertPayloadsMatchSchemas(h, headers, ops.received)) >= 5);
    assert.ok(logLines.some((l) => l.includes('enabled again by the half-open probe')), 'the recovery is logged with its reason');
    assert.ok(!logLines.some((l) => l.includes(SMTP_PASSWORD)), 'the SMTP password is never logged');
    await site.close();
    await ops.close();
  });

  it('reports a failed delivery of a content change once, but not the failed delivery of that report (no cascade)', async () => {
    const site = await startReceiver((_r, res) => void (res.statusCode = 500));
    const watcher = await startReceiver((_r, res) => void (res.statusCode = 500));
    const stack = await h.newStack();
    const hook = await createWebhook(h, stack, site.url, { channels: ['content_types.entries.update'] });
    const watch = await createWebhook(h, stack, watcher.url, { channels: ['executions.failed'] });
    await emit(h, stack, { uid: 'bltLoop' });
    await watcher.waitFor(1, 10_000);
    assert.equal(watcher.received[0].json.data.webhook.uid, hook.uid);
    await until(async () => (await executions(h, stack, watch.uid)).some((x) => x.state === 'failed'), 10_000, "the watcher's delivery failed");
    await sleep(500);
    assert.equal(watcher.received.length, 1, 'the failed report was not reported again');
    const events = await h.herald.db.all<{ module: string; action: string }>("SELECT module, action FROM events WHERE api_key = ? AND module <> 'entry'", [stack.api_key]);
    assert.deepEqual(events, [{ module: 'execution', action: 'failed' }]);
    await site.close();
    await watcher.close();
  });

  it('refuses bad notifiers naming the field, accepts one address as a string, and keeps operational events out of the content feed', async () => {
    const stack = await h.newStack();
    const headers = { api_key: stack.api_key, authorization: stack.token };
    const body = (notifiers: unknown) => ({ webhook: { name: 'n', destinations: [{ target_url: 'http://127.0.0.1:9/x' }], channels: ['assets.create'], notifiers } });
    const bad = await h.request('POST', '/v3/webhooks', { headers, body: body(['ok@example.test', 'not an address']) });
    assert.equal(bad.status, 422);
    assert.ok(bad.body.errors['notifiers.1'], JSON.stringify(bad.body));
    const many = await h.request('POST', '/v3/webhooks', { headers, body: body(Array.from({ length: 11 }, (_, i) => `a${i}@example.test`)) });
    assert.equal(many.status, 422);
    assert.ok(many.body.errors.notifiers);
    const one = await h.request('POST', '/v3/webhooks', { headers, body: body('solo@example.test') });
    assert.equal(one.status, 201);
    assert.deepEqual(one.body.webhook.notifiers, ['solo@example.test']);
    const badChannel = await h.request('POST', '/v3/webhooks', { headers, body: { webhook: { ...body([]).webhook, channels: ['webhooks.exploded'] } } });
    assert.equal(badChannel.status, 422);
    assert.match(JSON.stringify(badChannel.body.errors['channels.0']), /disabled, enabled, recovered/);

    // A user's disable is an operational event too (cause user, the token as actor), not emailed.
    const mails = smtp.messages.length;
    const off = await h.request('POST', `/v3/webhooks/${one.body.webhook.uid}/disable`, { headers });
    assert.equal(off.status, 200);
    const rows = await h.herald.db.all<{ action: string; actor: string; data: string }>("SELECT action, actor, data FROM events WHERE api_key = ? AND module = 'webhook'", [stack.api_key]);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].action, 'disabled');
    assert.equal(JSON.parse(rows[0].data).cause, 'user');
    assert.notEqual(rows[0].actor, 'herald');
    const feed = await h.request('GET', '/v3/events?after=0', { headers });
    assert.equal(feed.status, 200);
    assert.ok(feed.body.events.every((e: { module: string }) => e.module !== 'webhook' && e.module !== 'execution'));
    await sleep(200);
    assert.equal(smtp.messages.length, mails, 'no email for a user who disabled the webhook');
  });
});
