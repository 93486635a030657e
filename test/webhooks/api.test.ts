import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as contentstackPkg from '@contentstack/management';
import { clientOptions } from '../content/helpers/content.ts';
import { startHerald, type TestHerald } from '../helpers/herald.ts';

// The package is CommonJS; under ESM its API may sit on `default`.
const contentstack: any = (contentstackPkg as any).default ?? contentstackPkg;

interface Stack {
  api_key: string;
  token: string;
}

/** What the official client throws on a 4xx: status, errorMessage, errors by field. */
async function refusal(p: Promise<unknown>): Promise<{ status: number; errorMessage: string; errors: Record<string, string[]> }> {
  try {
    await p;
  } catch (err: any) {
    if (typeof err?.status !== 'number') throw err;
    return err;
  }
  assert.fail('the request was accepted');
}

const hook = (over: Record<string, unknown> = {}) => ({
  name: 'Notify the site',
  destinations: [{ target_url: 'http://127.0.0.1:9/hook', http_basic_auth: '', http_basic_password: '', custom_header: [] }],
  channels: ['content_types.entries.publish'],
  retry_policy: 'manual',
  disabled: false,
  ...over,
});

describe('the webhook API', () => {
  let h: TestHerald;
  let a: Stack;
  let b: Stack;
  let client: any;
  const stackOf = (s: Stack) => client.stack({ api_key: s.api_key, management_token: s.token });
  const headersOf = (s: Stack) => ({ api_key: s.api_key, authorization: s.token });

  before(async () => {
    h = await startHerald();
    a = await h.newStack('A');
    b = await h.newStack('B');
    client = contentstack.client(clientOptions(h.url));
  });
  after(() => h.close());

  describe('through the official @contentstack/management client', () => {
    it('creates, fetches, lists, updates and deletes a webhook', async () => {
      const created = await stackOf(a).webhook().create({
        webhook: hook({
          destinations: [
            {
              target_url: 'http://127.0.0.1:9/hook',
              http_basic_auth: 'herald',
              http_basic_password: 'correct horse battery staple',
              custom_header: [{ header_name: 'X-Site', value: 'www' }],
            },
          ],
          channels: ['content_types.blog.entries.update', 'assets.publish', 'Entry.*'],
          concise_payload: true,
        }),
      });
      assert.match(created.uid, /^blt/);
      assert.equal(created.name, 'Notify the site');
      assert.deepEqual(created.branches, ['main']);
      assert.equal(created.concise_payload, true);
      assert.match(created.signing_secret, /^whsec_/);

      const fetched = await stackOf(a).webhook(created.uid).fetch();
      assert.equal(fetched.uid, created.uid);
      assert.deepEqual(fetched.channels, ['content_types.blog.entries.update', 'assets.publish', 'Entry.*']);
      assert.equal(fetched.destinations[0].http_basic_auth, 'herald');
      assert.equal(fetched.destinations[0].custom_header[0].value, 'www');
      assert.equal(fetched.signing_secret, undefined);

      const list = await stackOf(a).webhook().fetchAll({ include_count: true });
      assert.equal(list.count, 1);
      assert.deepEqual(list.items.map((w: any) => w.uid), [created.uid]);

      fetched.name = 'Renamed';
      fetched.channels = ['content_types.entries.update'];
      const updated = await fetched.update();
      assert.equal(updated.name, 'Renamed');
      assert.deepEqual(updated.channels, ['content_types.entries.update']);
      // The client sent back the masked password: the stored one is kept.
      const row = await h.herald.db.get<{ doc: string }>('SELECT doc FROM webhooks WHERE uid = ?', [created.uid]);
      assert.equal(JSON.parse(row!.doc).destinations[0].http_basic_password, 'correct horse battery staple');

      const gone = await stackOf(a).webhook(created.uid).delete();
      assert.match(gone.notice, /deleted/);
      const missing = await refusal(stackOf(a).webhook(created.uid).fetch());
      assert.equal(missing.status, 404);
    });

    it('updates the object returned by create without touching its signing secret', async () => {
      const created = await stackOf(a).webhook().create({ webhook: hook() });
      const secret = created.signing_secret;
      created.disabled = true;
      const updated = await created.update();
      assert.equal(updated.disabled, true);
      const s = await h.request('GET', `/v3/webhooks/${created.uid}/secret`, { headers: headersOf(a) });
      assert.deepEqual(s.body.signing_secrets.map((x: any) => x.secret), [secret]);
      await stackOf(a).webhook(created.uid).delete();
    });

    it('names the field of each validation error', async () => {
      const cases: Array<[Record<string, unknown>, string, RegExp]> = [
        [{ channels: ['content_types.entries.explode'] }, 'channels.0', /"content_types\.entries\.explode" is not a known channel/],
        [{ channels: [] }, 'channels', /at least one/],
        [{ destinations: [{ target_url: 'ftp://example.com/x' }] }, 'destinations.0.target_url', /http, https, amqp, nats or redis/],
        [{ branches: ['main', 'no-such-branch'] }, 'branches.1', /"no-such-branch" is not a branch/],
        [{ conditions: [{ equals: [{ doc: 'sys.colour' }, 'red'] }] }, 'conditions.0.equals.0.doc', /not a known property/],
        [{ conditions: [{ regexp: [{ doc: 'sys.id' }, { pattern: '(a)\\1' }] }] }, 'conditions.0.regexp.1.pattern', /backreference/],
        [{ conditions: [{ regexp: [{ doc: 'sys.id' }, { pattern: '^(?!draft)' }] }] }, 'conditions.0.regexp.1.pattern', /lookahead/],
        [{ name: '' }, 'name', /required/],
        [{ destinations: [{ target_url: 'https://a.example' }, { target_url: 'https://b.example' }] }, 'destinations', /one destination per webhook/],
      ];
      for (const [over, field, problem] of cases) {
        const err = await refusal(stackOf(a).webhook().create({ webhook: hook(over) }));
        assert.equal(err.status, 422, field);
        assert.ok(err.errors[field], `${field} in ${JSON.stringify(err.errors)}`);
        assert.match(err.errors[field][0], problem);
        assert.match(err.errorMessage, new RegExp(field.replace(/\./g, '\\.')));
      }
      const list = await stackOf(a).webhook().fetchAll();
      assert.equal(list.items.length, 0, 'nothing was created');
    });
  });

  it('refuses a malformed body, an unknown field and a wrong type with 4xx naming the problem', async () => {
    const bad = await h.request('POST', '/v3/webhooks', { headers: headersOf(a), body: '{"webhook": ' });
    assert.equal(bad.status, 400);
    const unknown = await h.request('POST', '/v3/webhooks', { headers: headersOf(a), body: { webhook: { ...hook(), colour: 'red' } } });
    assert.equal(unknown.status, 422);
    assert.deepEqual(unknown.body.errors, { colour: ['is not a known field'] });
    const wrongType = await h.request('POST', '/v3/webhooks', { headers: headersOf(a), body: { webhook: { ...hook(), channels: 'assets.publish' } } });
    assert.equal(wrongType.status, 422);
    assert.ok(wrongType.body.errors.channels);
    const page = await h.request('GET', '/v3/webhooks?limit=abc', { headers: headersOf(a) });
    assert.equal(page.status, 422);
    assert.ok(page.body.errors.limit);
  });

  it('scopes a webhook to branches that exist in the stack', async () => {
    await h.herald.db.run("INSERT INTO branches (api_key, uid, source, doc, created_at) VALUES (?, 'staging', 'main', '{}', 0)", [a.api_key]);
    const r = await h.request('POST', '/v3/webhooks', { headers: headersOf(a), body: { webhook: hook({ branches: ['staging'] }) } });
    assert.equal(r.status, 201);
    assert.deepEqual(r.body.webhook.branches, ['staging']);
    const other = await h.request('POST', '/v3/webhooks', { headers: headersOf(b), body: { webhook: hook({ branches: ['staging'] }) } });
    assert.equal(other.status, 422, "another stack's branch does not count");
    await h.request('DELETE', `/v3/webhooks/${r.body.webhook.uid}`, { headers: headersOf(a) });
  });

  it('pages the list with skip and limit, and counts only when asked', async () => {
    const uids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await h.request('POST', '/v3/webhooks', { headers: headersOf(b), body: { webhook: hook({ name: `hook ${i}` }) } });
      uids.push(r.body.webhook.uid);
    }
    const page = await h.request('GET', '/v3/webhooks?skip=1&limit=1&include_count=true', { headers: headersOf(b) });
    assert.deepEqual(page.body.webhooks.map((w: any) => w.uid), [uids[1]]);
    assert.equal(page.body.count, 3);
    const plain = await h.request('GET', '/v3/webhooks', { headers: headersOf(b) });
    assert.equal(plain.body.count, undefined);
    assert.equal(plain.body.webhooks.length, 3);
    for (const uid of uids) await h.request('DELETE', `/v3/webhooks/${uid}`, { headers: headersOf(b) });
  });

  describe('secrets', () => {
    const password = 'basic-auth-password-7731';
    const headerValue = 'secret-header-value-5519';
    const signing = 'whsec_' + Buffer.alloc(32, 42).toString('base64');

    it('never stores a masked secret (an exported webhook being imported): the webhook is created disabled naming the secrets it needs, and cannot be enabled until they are sent', async () => {
      for (const masked of ['****', '****7731']) {
        const r = await h.request('POST', '/v3/webhooks', {
          headers: headersOf(a),
          body: { webhook: hook({ disabled: false, destinations: [{ target_url: 'http://127.0.0.1:9/hook', http_basic_auth: 'herald', http_basic_password: masked }] }) },
        });
        assert.equal(r.status, 201, JSON.stringify(r.body));
        assert.equal(r.body.webhook.disabled, true);
        assert.deepEqual(r.body.webhook.missing_secrets, ['destinations.0.http_basic_password']);
        assert.match(r.body.webhook.disabled_reason, /needs destinations\.0\.http_basic_password/);
        assert.equal(r.body.webhook.destinations[0].http_basic_password, '', 'the mask was not stored');
      }
      const created = await h.request('POST', '/v3/webhooks', {
        headers: headersOf(a),
        body: { webhook: hook({ destinations: [{ target_url: 'http://127.0.0.1:9/hook', http_basic_auth: 'herald', http_basic_password: '****', custom_header: [{ header_name: 'X-Site', value: 'blog' }, { header_name: 'X-Api-Key', value: '****' }] }] }) },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const uid = created.body.webhook.uid;
      assert.deepEqual(created.body.webhook.missing_secrets, ['destinations.0.http_basic_password', 'destinations.0.custom_header.1.value']);

      const refused = await h.request('POST', `/v3/webhooks/${uid}/enable`, { headers: headersOf(a) });
      assert.equal(refused.status, 422);
      assert.deepEqual(Object.keys(refused.body.errors).sort(), ['destinations.0.custom_header.1.value', 'destinations.0.http_basic_password']);

      // Sending back what a GET shows (the client's fetch-then-update) keeps them missing.
      const shown = (await h.request('GET', `/v3/webhooks/${uid}`, { headers: headersOf(a) })).body.webhook;
      const echoed = await h.request('PUT', `/v3/webhooks/${uid}`, { headers: headersOf(a), body: { webhook: { ...shown, name: 'renamed' } } });
      assert.equal(echoed.status, 200, JSON.stringify(echoed.body));
      assert.deepEqual(echoed.body.webhook.missing_secrets, ['destinations.0.http_basic_password', 'destinations.0.custom_header.1.value']);
      assert.equal(echoed.body.webhook.disabled, true);

      // One sent in full: the other is still needed.
      const half = await h.request('PUT', `/v3/webhooks/${uid}`, {
        headers: headersOf(a),
        body: { webhook: { destinations: [{ ...shown.destinations[0], http_basic_password: password }] } },
      });
      assert.deepEqual(half.body.webhook.missing_secrets, ['destinations.0.custom_header.1.value']);
      assert.equal(half.body.webhook.destinations[0].http_basic_password, '****' + password.slice(-4));
      const full = await h.request('PUT', `/v3/webhooks/${uid}`, {
        headers: headersOf(a),
        body: { webhook: { destinations: [{ ...half.body.webhook.destinations[0], custom_header: [{ header_name: 'X-Site', value: 'blog' }, { header_name: 'X-Api-Key', value: 'key-token-0099' }] }] } },
      });
      assert.equal(full.body.webhook.missing_secrets, undefined);
      assert.equal(full.body.webhook.disabled, true, 'it stays disabled until enabled');
      assert.equal(full.body.webhook.disabled_reason, null);
      assert.equal(full.body.webhook.destinations[0].http_basic_password, '****' + password.slice(-4), 'the password sent before is kept');
      const enabled = await h.request('POST', `/v3/webhooks/${uid}/enable`, { headers: headersOf(a) });
      assert.equal(enabled.status, 200, JSON.stringify(enabled.body));
      assert.equal(enabled.body.webhook.disabled, false);
    });

    it('never come back after creation, except the signing secret once and at /secret', async () => {
      const body = {
        webhook: hook({
          destinations: [
            {
              target_url: 'http://127.0.0.1:9/hook',
              http_basic_auth: 'herald',
              http_basic_password: password,
              custom_header: [{ header_name: 'X-Receiver-Key', value: headerValue, secret: true }],
            },
          ],
          signing_secret: signing,
        }),
      };
      const created = await h.request('POST', '/v3/webhooks', { headers: headersOf(a), body });
      assert.equal(created.status, 201);
      assert.equal(created.body.webhook.signing_secret, signing);
      const uid = created.body.webhook.uid;
      const createdText = JSON.stringify(created.body);
      assert.ok(!createdText.includes(password) && !createdText.includes(headerValue));

      const responses = [
        await h.request('GET', `/v3/webhooks/${uid}`, { headers: headersOf(a) }),
        await h.request('GET', '/v3/webhooks?include_count=true', { headers: headersOf(a) }),
        await h.request('PUT', `/v3/webhooks/${uid}`, { headers: headersOf(a), body: { webhook: { name: 'renamed' } } }),
        await h.request('POST', `/v3/webhooks/${uid}/disable`, { headers: headersOf(a) }),
        await h.request('POST', `/v3/webhooks/${uid}/enable`, { headers: headersOf(a) }),
      ];
      // Fetch-then-update with everything the client got back.
      const fetched = responses[0].body.webhook;
      responses.push(await h.request('PUT', `/v3/webhooks/${uid}`, { headers: headersOf(a), body: { webhook: fetched } }));
      for (const r of responses) {
        assert.equal(r.status, 200, JSON.stringify(r.body));
        const text = JSON.stringify(r.body);
        for (const s of [password, headerValue, signing, signing.slice('whsec_'.length)]) assert.ok(!text.includes(s), `${s} leaked in ${text}`);
      }
      assert.equal(fetched.destinations[0].http_basic_password, '****7731');
      assert.equal(fetched.destinations[0].custom_header[0].value, '****5519');

      // Still stored intact after the round trip.
      const row = await h.herald.db.get<{ doc: string }>('SELECT doc FROM webhooks WHERE uid = ?', [uid]);
      const doc = JSON.parse(row!.doc);
      assert.equal(doc.destinations[0].http_basic_password, password);
      assert.equal(doc.destinations[0].custom_header[0].value, headerValue);

      const secret = await h.request('GET', `/v3/webhooks/${uid}/secret`, { headers: headersOf(a) });
      assert.equal(secret.status, 200);
      assert.equal(secret.body.signing_secret, signing);
      await h.request('DELETE', `/v3/webhooks/${uid}`, { headers: headersOf(a) });
    });

    it('rotation makes a new current secret and keeps the old one for the grace period', async () => {
      const created = await h.request('POST', '/v3/webhooks', { headers: headersOf(a), body: { webhook: hook() } });
      const uid = created.body.webhook.uid;
      const old = created.body.webhook.signing_secret;
      const before = Date.now();
      const rotated = await h.request('POST', `/v3/webhooks/${uid}/secret/rotate`, { headers: headersOf(a) });
      assert.equal(rotated.status, 200);
      assert.notEqual(rotated.body.signing_secret, old);
      assert.deepEqual(rotated.body.signing_secrets.map((s: any) => s.secret), [rotated.body.signing_secret, old]);
      const expires = Date.parse(rotated.body.signing_secrets[1].expires_at);
      assert.ok(expires >= before + 24 * 3_600_000 && expires <= Date.now() + 24 * 3_600_000);

      const short = await h.request('POST', `/v3/webhooks/${uid}/secret/rotate`, { headers: headersOf(a), body: { grace_period_hours: 0 } });
      // With no grace the secret it replaced stops at once; the first one keeps its own grace period.
      assert.deepEqual(short.body.signing_secrets.map((s: any) => s.secret), [short.body.signing_secret, old]);
      const bad = await h.request('POST', `/v3/webhooks/${uid}/secret/rotate`, { headers: headersOf(a), body: { grace_period_hours: -1 } });
      assert.equal(bad.status, 422);
      assert.ok(bad.body.errors.grace_period_hours);
      await h.request('DELETE', `/v3/webhooks/${uid}`, { headers: headersOf(a) });
    });
  });

  it('disable and enable in one call each; enabling clears the reason and the failure count', async () => {
    const created = await h.request('POST', '/v3/webhooks', { headers: headersOf(a), body: { webhook: hook() } });
    const uid = created.body.webhook.uid;
    const off = await h.request('POST', `/v3/webhooks/${uid}/disable`, { headers: headersOf(a) });
    assert.equal(off.body.webhook.disabled, true);
    assert.equal(off.body.webhook.disabled_reason, null);

    // As the circuit breaker leaves it.
    await h.herald.db.run("UPDATE webhooks SET disabled = 1, disabled_reason = 'Disabled after 10 failed calls', consecutive_failures = 10 WHERE uid = ?", [uid]);
    const shown = await h.request('GET', `/v3/webhooks/${uid}`, { headers: headersOf(a) });
    assert.equal(shown.body.webhook.disabled_reason, 'Disabled after 10 failed calls');
    // Editing without enabling keeps it disabled, with its reason.
    const edited = await h.request('PUT', `/v3/webhooks/${uid}`, { headers: headersOf(a), body: { webhook: shown.body.webhook } });
    assert.equal(edited.body.webhook.disabled, true);
    assert.equal(edited.body.webhook.disabled_reason, 'Disabled after 10 failed calls');

    const on = await h.request('POST', `/v3/webhooks/${uid}/enable`, { headers: headersOf(a) });
    assert.equal(on.body.webhook.disabled, false);
    assert.equal(on.body.webhook.disabled_reason, null);
    const row = await h.herald.db.get<{ consecutive_failures: number }>('SELECT consecutive_failures FROM webhooks WHERE uid = ?', [uid]);
    assert.equal(Number(row!.consecutive_failures), 0);

    // PUT with disabled: false does the same.
    await h.herald.db.run("UPDATE webhooks SET disabled = 1, disabled_reason = 'The endpoint answered 410 Gone', consecutive_failures = 3 WHERE uid = ?", [uid]);
    const put = await h.request('PUT', `/v3/webhooks/${uid}`, { headers: headersOf(a), body: { webhook: { disabled: false } } });
    assert.equal(put.body.webhook.disabled, false);
    assert.equal(put.body.webhook.disabled_reason, null);
    const row2 = await h.herald.db.get<{ consecutive_failures: number }>('SELECT consecutive_failures FROM webhooks WHERE uid = ?', [uid]);
    assert.equal(Number(row2!.consecutive_failures), 0);
    await h.request('DELETE', `/v3/webhooks/${uid}`, { headers: headersOf(a) });
  });

  it("answers 404 on every webhook route to a token of another stack", async () => {
    const created = await h.request('POST', '/v3/webhooks', { headers: headersOf(a), body: { webhook: hook() } });
    const uid = created.body.webhook.uid;
    const routes: Array<[string, string, unknown?]> = [
      ['GET', `/v3/webhooks/${uid}`],
      ['PUT', `/v3/webhooks/${uid}`, { webhook: { name: 'stolen' } }],
      ['DELETE', `/v3/webhooks/${uid}`],
      ['POST', `/v3/webhooks/${uid}/enable`],
      ['POST', `/v3/webhooks/${uid}/disable`],
      ['GET', `/v3/webhooks/${uid}/secret`],
      ['POST', `/v3/webhooks/${uid}/secret/rotate`, {}],
    ];
    // B's token on A's stack: the stack is not found.
    for (const [method, path, body] of [...routes, ['GET', '/v3/webhooks'], ['POST', '/v3/webhooks', { webhook: hook() }]] as typeof routes) {
      const r = await h.request(method, path, { headers: { api_key: a.api_key, authorization: b.token }, body });
      assert.equal(r.status, 404, `${method} ${path} with another stack's token`);
    }
    // B's own stack, A's webhook uid: the webhook is not found.
    for (const [method, path, body] of routes) {
      const r = await h.request(method, path, { headers: headersOf(b), body });
      assert.equal(r.status, 404, `${method} ${path} on another stack's webhook`);
    }
    // Nothing changed.
    const still = await h.request('GET', `/v3/webhooks/${uid}`, { headers: headersOf(a) });
    assert.equal(still.body.webhook.name, 'Notify the site');
    assert.equal(still.body.webhook.disabled, false);
    assert.equal(Date.parse(still.body.webhook.updated_at), Date.parse(created.body.webhook.updated_at));
    await h.request('DELETE', `/v3/webhooks/${uid}`, { headers: headersOf(a) });
  });

  it('a change made through the API is matched by the next event, without a restart', async () => {
    const created = await h.request('POST', '/v3/webhooks', { headers: headersOf(a), body: { webhook: hook({ channels: ['assets.delete'] }) } });
    const uid = created.body.webhook.uid;
    const event = { seq: 0, api_key: a.api_key, branch: 'main', module: 'asset' as const, action: 'delete' as const, uid: 'blt_a1', content_type_uid: null, actor: 'x', data: {}, created_at: 0 };
    const match = () => h.herald.db.tx(async (tx) => h.herald.matchIndex.match(tx, event)).then((m) => m.map((x) => x.webhook.uid));
    assert.deepEqual(await match(), [uid]);
    await h.request('PUT', `/v3/webhooks/${uid}`, { headers: headersOf(a), body: { webhook: { channels: ['assets.publish'] } } });
    assert.deepEqual(await match(), []);
    await h.request('PUT', `/v3/webhooks/${uid}`, { headers: headersOf(a), body: { webhook: { channels: ['Asset.*'] } } });
    assert.deepEqual(await match(), [uid]);
    await h.request('POST', `/v3/webhooks/${uid}/disable`, { headers: headersOf(a) });
    assert.deepEqual(await match(), []);
    await h.request('POST', `/v3/webhooks/${uid}/enable`, { headers: headersOf(a) });
    assert.deepEqual(await match(), [uid]);
    await h.request('DELETE', `/v3/webhooks/${uid}`, { headers: headersOf(a) });
    assert.deepEqual(await match(), []);
  });
});
