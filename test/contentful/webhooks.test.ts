import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { contentfulClient, refusal, SIGNING_SECRET, startSpace, until, verifyingReceiver, type Client } from './helpers/space.ts';

/**
 * Webhook definitions, calls, health and space settings through the official
 * `contentful-management` client (plain API), unmodified, against a running Herald.
 */
describe('Contentful webhook definitions', () => {
  let h: TestHerald;
  let client: Client;
  let spaceId: string;
  let token: string;
  const v3 = (s: { api_key: string; token: string }) => ({ api_key: s.api_key, authorization: s.token });

  before(async () => {
    const s = await startSpace();
    ({ h, client, spaceId } = s);
    token = s.space.token;
  });
  after(() => h.close());

  /** Creates a content type (activated, as Contentful makes entries on activated ones only) and an entry through the dialect, so events happen. */
  async function touchEntry(title: string, environmentId = 'master') {
    const env = { spaceId, environmentId };
    let ct: any;
    try {
      ct = await client.contentType.get({ ...env, contentTypeId: 'note' });
    } catch {
      ct = await client.contentType.createWithId({ ...env, contentTypeId: 'note' }, { name: 'Note', fields: [{ id: 'title', name: 'Title', type: 'Symbol', localized: true }] } as any);
      ct = await client.contentType.publish({ ...env, contentTypeId: 'note' }, ct);
    }
    return client.entry.create({ ...env, contentTypeId: ct.sys.id }, { fields: { title: { 'en-US': title } } } as any);
  }

  it('creates, lists, reads, updates and deletes a definition', async () => {
    const created = await client.webhook.create({ spaceId }, { name: 'Build site', url: 'http://127.0.0.1:9/build', topics: ['Entry.publish', 'Asset.*'] } as any);
    assert.equal(created.sys.type, 'WebhookDefinition');
    assert.equal(created.sys.version, 1);
    assert.equal(created.sys.space.sys.id, spaceId);
    assert.deepEqual(created.topics, ['Entry.publish', 'Asset.*']);
    assert.equal(created.active, true);

    const second = await client.webhook.create({ spaceId }, { name: 'Second', url: 'http://127.0.0.1:9/second', topics: ['*.*'] } as any);
    const page = await client.webhook.getMany({ spaceId, query: { skip: 1, limit: 1 } });
    assert.equal(page.total >= 2, true);
    assert.equal(page.skip, 1);
    assert.equal(page.limit, 1);
    assert.equal(page.items.length, 1);

    const read = await client.webhook.get({ spaceId, webhookDefinitionId: created.sys.id });
    assert.equal(read.name, 'Build site');
    const updated = await client.webhook.update({ spaceId, webhookDefinitionId: created.sys.id }, { ...read, name: 'Rebuild site', active: false });
    assert.equal(updated.name, 'Rebuild site');
    assert.equal(updated.active, false);
    assert.equal(updated.sys.version, 2);

    await client.webhook.delete({ spaceId, webhookDefinitionId: created.sys.id });
    const gone = await refusal(client.webhook.get({ spaceId, webhookDefinitionId: created.sys.id }));
    assert.equal(gone.name, 'NotFound');
    assert.equal(gone.status, 404);
    await client.webhook.delete({ spaceId, webhookDefinitionId: second.sys.id });
  });

  it('refuses an update with a stale X-Contentful-Version (409 VersionMismatch) and keeps the definition', async () => {
    const w = await client.webhook.create({ spaceId }, { name: 'Versioned', url: 'http://127.0.0.1:9/v', topics: ['*.*'] } as any);
    await client.webhook.update({ spaceId, webhookDefinitionId: w.sys.id }, { ...w, name: 'First edit' });
    const stale = await refusal(client.webhook.update({ spaceId, webhookDefinitionId: w.sys.id }, { ...w, name: 'Lost edit' }));
    assert.equal(stale.name, 'VersionMismatch');
    assert.equal(stale.status, 409);
    const missing = await fetch(`${h.url}/spaces/${spaceId}/webhook_definitions/${w.sys.id}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/vnd.contentful.management.v1+json' },
      body: JSON.stringify({ name: 'No version', url: 'http://127.0.0.1:9/v', topics: ['*.*'] }),
    });
    assert.equal(missing.status, 409);
    assert.equal((await missing.json()).sys.id, 'VersionMismatch');
    assert.equal((await client.webhook.get({ spaceId, webhookDefinitionId: w.sys.id })).name, 'First edit');
  });

  it('creates a definition with a chosen id when PUT without a version', async () => {
    const res = await fetch(`${h.url}/spaces/${spaceId}/webhook_definitions/my-hook.1`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/vnd.contentful.management.v1+json' },
      body: JSON.stringify({ name: 'Chosen id', url: 'http://127.0.0.1:9/c', topics: ['Entry.*'] }),
    });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('content-type'), 'application/vnd.contentful.management.v1+json');
    assert.equal((await res.json()).sys.id, 'my-hook.1');
    assert.equal((await client.webhook.get({ spaceId, webhookDefinitionId: 'my-hook.1' })).name, 'Chosen id');
  });

  it('keeps webhook ids per space: another space may choose the same id, and choosing one reveals nothing about other spaces', async () => {
    const other = await h.newStack('Another space');
    const otherClient = contentfulClient(h, other.token);
    const put = (space: string, tok: string, id: string, name: string) =>
      fetch(`${h.url}/spaces/${space}/webhook_definitions/${id}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${tok}`, 'content-type': 'application/vnd.contentful.management.v1+json' },
        body: JSON.stringify({ name, url: 'http://127.0.0.1:9/per-space', topics: ['Entry.*'] }),
      });
    // The other space takes an id first, and has one Herald made.
    assert.equal((await put(other.api_key, other.token, 'shared-id', 'Theirs')).status, 201);
    const generated = await otherClient.webhook.create({ spaceId: other.api_key }, { name: 'Generated', url: 'http://127.0.0.1:9/g', topics: ['*.*'] } as any);

    // This space chooses the same ids: its own definitions, not a 422 that would reveal them.
    const mine = await put(spaceId, token, 'shared-id', 'Mine');
    assert.equal(mine.status, 201, await mine.clone().text());
    assert.equal((await mine.json()).sys.id, 'shared-id');
    assert.equal((await put(spaceId, token, generated.sys.id, 'Also mine')).status, 201);

    assert.equal((await client.webhook.get({ spaceId, webhookDefinitionId: 'shared-id' })).name, 'Mine');
    assert.equal((await otherClient.webhook.get({ spaceId: other.api_key, webhookDefinitionId: 'shared-id' })).name, 'Theirs');
    assert.equal((await client.webhook.get({ spaceId, webhookDefinitionId: generated.sys.id })).name, 'Also mine');
    assert.equal((await otherClient.webhook.get({ spaceId: other.api_key, webhookDefinitionId: generated.sys.id })).name, 'Generated');
    // Updated, read for health and deleted by the id it was given, each space its own.
    const read = await client.webhook.get({ spaceId, webhookDefinitionId: 'shared-id' });
    assert.equal((await client.webhook.update({ spaceId, webhookDefinitionId: 'shared-id' }, { ...read, name: 'Mine, renamed' })).sys.id, 'shared-id');
    assert.equal((await client.webhook.getHealthStatus({ spaceId, webhookDefinitionId: 'shared-id' })).sys.id, 'shared-id');
    await client.webhook.delete({ spaceId, webhookDefinitionId: 'shared-id' });
    await client.webhook.delete({ spaceId, webhookDefinitionId: generated.sys.id });
    assert.equal((await otherClient.webhook.get({ spaceId: other.api_key, webhookDefinitionId: 'shared-id' })).name, 'Theirs');
    assert.equal((await otherClient.webhook.getMany({ spaceId: other.api_key })).items.length, 2);
  });

  it("names the bad field in Contentful's ValidationFailed", async () => {
    const badTopic = await refusal(client.webhook.create({ spaceId }, { name: 'Bad', url: 'http://127.0.0.1:9/x', topics: ['Entry.publsh'] } as any));
    assert.equal(badTopic.name, 'ValidationFailed');
    assert.equal(badTopic.status, 422);
    assert.deepEqual(badTopic.details.errors[0].path, ['topics', '0']);
    const badUrl = await refusal(client.webhook.create({ spaceId }, { name: 'Bad', url: 'ftp://example.com/x', topics: ['*.*'] } as any));
    assert.deepEqual(badUrl.details.errors[0].path, ['url']);
    const badFilter = await refusal(client.webhook.create({ spaceId }, { name: 'Bad', url: 'http://127.0.0.1:9/x', topics: ['*.*'], filters: [{ equals: [{ doc: 'sys.nope' }, 'x'] }] } as any));
    assert.deepEqual(badFilter.details.errors[0].path, ['filters', '0', 'equals', '0', 'doc']);
    // Filters run on RE2 (linear time): what it cannot run is refused when saved, naming the filter.
    const lookahead = await refusal(client.webhook.create({ spaceId }, { name: 'Bad', url: 'http://127.0.0.1:9/x', topics: ['*.*'], filters: [{ not: { regexp: [{ doc: 'sys.id' }, { pattern: '^(?!a)' }] } }] } as any));
    assert.equal(lookahead.status, 422);
    assert.deepEqual(lookahead.details.errors[0].path, ['filters', '0', 'not', 'regexp', '1', 'pattern']);
    assert.match(JSON.stringify(lookahead.details.errors[0]), /lookahead/);
    const badTransformation = await refusal(
      client.webhook.create({ spaceId }, { name: 'Bad', url: 'http://127.0.0.1:9/x', topics: ['*.*'], transformation: { method: 'TRACE' } } as any),
    );
    assert.deepEqual(badTransformation.details.errors[0].path, ['transformation', 'method']);
  });

  it('answers AccessTokenInvalid for an unknown token and NotFound for a token of another space', async () => {
    const stranger = contentfulClient(h, 'not-a-token');
    const denied = await refusal(stranger.webhook.getMany({ spaceId }));
    assert.equal(denied.name, 'AccessTokenInvalid');
    assert.equal(denied.status, 401);
    const other = await h.newStack('Other space');
    const w = await client.webhook.create({ spaceId }, { name: 'Mine', url: 'http://127.0.0.1:9/m', topics: ['*.*'] } as any);
    const otherClient = contentfulClient(h, other.token);
    // One at a time: started together, a refusal that comes back before its turn is awaited
    // would be an unhandled rejection (PostgreSQL answers them out of order).
    for (const attempt of [
      () => otherClient.webhook.getMany({ spaceId }),
      () => otherClient.webhook.get({ spaceId, webhookDefinitionId: w.sys.id }),
      () => otherClient.webhook.getManyCallDetails({ spaceId, webhookDefinitionId: w.sys.id }),
      () => otherClient.webhook.getHealthStatus({ spaceId, webhookDefinitionId: w.sys.id }),
      () => otherClient.webhook.getSigningSecret({ spaceId }),
      () => otherClient.webhook.get({ spaceId: other.api_key, webhookDefinitionId: w.sys.id }),
    ]) {
      const r = await refusal(attempt());
      assert.equal(r.name, 'NotFound');
      assert.equal(r.status, 404);
    }
  });

  it('never returns secret header values or the basic auth password, and keeps them across an update that sends back what it read', async () => {
    const receiver = await startReceiver();
    try {
      const w = await client.webhook.create({ spaceId }, {
        name: 'Secrets',
        url: `${receiver.url}/secret`,
        topics: ['Entry.create'],
        headers: [
          { key: 'X-Api-Key', value: 'secret-header-value-123', secret: true },
          { key: 'X-Site', value: 'www' },
        ],
        httpBasicUsername: 'herald',
        httpBasicPassword: 'basic-password-456',
      } as any);
      const read = await client.webhook.get({ spaceId, webhookDefinitionId: w.sys.id });
      for (const shown of [w, read, await client.webhook.getMany({ spaceId })]) {
        const text = JSON.stringify(shown);
        assert.equal(text.includes('secret-header-value-123'), false);
        assert.equal(text.includes('basic-password-456'), false);
      }
      assert.deepEqual(read.headers, [{ key: 'X-Api-Key', secret: true }, { key: 'X-Site', value: 'www' }]);
      assert.equal(read.httpBasicUsername, 'herald');
      assert.equal('httpBasicPassword' in read, false);

      // The client sends back what it read: the secrets stay.
      await client.webhook.update({ spaceId, webhookDefinitionId: w.sys.id }, { ...read, name: 'Secrets kept' });
      await touchEntry('secret check');
      await receiver.waitFor(1);
      const got = receiver.received[0];
      assert.equal(got.headers['x-api-key'], 'secret-header-value-123');
      assert.equal(got.headers['x-site'], 'www');
      assert.equal(got.headers.authorization, 'Basic ' + Buffer.from('herald:basic-password-456').toString('base64'));

      // The activity log masks them too.
      await until(async () => (await client.webhook.getManyCallDetails({ spaceId, webhookDefinitionId: w.sys.id })).total > 0);
      const call = (await client.webhook.getManyCallDetails({ spaceId, webhookDefinitionId: w.sys.id })).items[0];
      const details = JSON.stringify(await client.webhook.getCallDetails({ spaceId, webhookDefinitionId: w.sys.id, callId: call.sys.id }));
      assert.equal(details.includes('secret-header-value-123'), false);
      assert.equal(details.includes(Buffer.from('herald:basic-password-456').toString('base64')), false);
    } finally {
      await receiver.close();
    }
  });

  it('shares one definition and one activity log with /v3/webhooks, edited from either side', async () => {
    const receiver = await startReceiver();
    try {
      // Created here, read and edited through /v3.
      const w = await client.webhook.create({ spaceId }, { name: 'Both dialects', url: `${receiver.url}/both`, topics: ['Entry.create'] } as any);
      const { api_key } = { api_key: spaceId };
      const fromV3 = await h.request('GET', `/v3/webhooks/${w.sys.id}`, { headers: v3({ api_key, token }) });
      assert.equal(fromV3.status, 200);
      assert.equal(fromV3.body.webhook.name, 'Both dialects');
      assert.equal(fromV3.body.webhook.destinations[0].target_url, `${receiver.url}/both`);
      assert.deepEqual(fromV3.body.webhook.channels, ['Entry.create']);
      assert.equal(fromV3.body.webhook.format, 'contentful');
      const edited = await h.request('PUT', `/v3/webhooks/${w.sys.id}`, { headers: v3({ api_key, token }), body: { webhook: { name: 'Edited through v3' } } });
      assert.equal(edited.status, 200);
      const back = await client.webhook.get({ spaceId, webhookDefinitionId: w.sys.id });
      assert.equal(back.name, 'Edited through v3');
      assert.equal(back.sys.version, 2);

      // Created through /v3, read and edited here.
      const made = await h.request('POST', '/v3/webhooks', {
        headers: v3({ api_key, token }),
        body: { webhook: { name: 'From v3', destinations: [{ target_url: `${receiver.url}/v3`, custom_header: [] }], channels: ['content_types.entries.create'] } },
      });
      assert.equal(made.status, 201);
      const uid = made.body.webhook.uid;
      const seen = await client.webhook.get({ spaceId, webhookDefinitionId: uid });
      assert.equal(seen.name, 'From v3');
      assert.deepEqual(seen.topics, ['content_types.entries.create']);
      const renamed = await client.webhook.update({ spaceId, webhookDefinitionId: uid }, { ...seen, name: 'From v3, renamed here' });
      assert.equal(renamed.name, 'From v3, renamed here');
      const v3again = await h.request('GET', `/v3/webhooks/${uid}`, { headers: v3({ api_key, token }) });
      assert.equal(v3again.body.webhook.name, 'From v3, renamed here');
      assert.equal(v3again.body.webhook.format, 'contentstack', 'editing here keeps the format it had');

      // One activity log: the same deliveries through both APIs.
      await touchEntry('both dialects');
      await receiver.waitFor(2);
      await until(async () => (await client.webhook.getManyCallDetails({ spaceId, webhookDefinitionId: w.sys.id })).total === 1);
      const calls = await client.webhook.getManyCallDetails({ spaceId, webhookDefinitionId: w.sys.id });
      const executions = await h.request('GET', `/v3/webhooks/${w.sys.id}/executions`, { headers: v3({ api_key, token }) });
      assert.equal(executions.body.count, 1);
      assert.equal(executions.body.webhooks[0].request_details[0].uid, calls.items[0].sys.id);
    } finally {
      await receiver.close();
    }
  });

  it('fires in every environment, one made after the definition too, until /v3 names its branches', async () => {
    const receiver = await startReceiver();
    try {
      const w = await client.webhook.create({ spaceId }, { name: 'Every environment', url: `${receiver.url}/every`, topics: ['Entry.create'] } as any);
      await client.environment.createWithId({ spaceId, environmentId: 'later' }, { name: 'later' });
      const entry = await touchEntry('in an environment made later', 'later');
      await receiver.waitFor(1);
      const body = JSON.parse(receiver.received[0].body);
      assert.equal(body.sys.id, entry.sys.id);
      assert.equal(body.sys.environment.sys.id, 'later');
      const headers = v3({ api_key: spaceId, token });
      assert.equal((await h.request('GET', `/v3/webhooks/${w.sys.id}`, { headers })).body.webhook.all_branches, true);

      // Naming branches through /v3 ends "every branch": an entry in 'later' is no longer sent.
      const narrowed = await h.request('PUT', `/v3/webhooks/${w.sys.id}`, { headers, body: { webhook: { branches: ['main'] } } });
      assert.equal(narrowed.status, 200);
      assert.equal(narrowed.body.webhook.all_branches, undefined);
      await touchEntry('not sent', 'later');
      await touchEntry('sent', 'master');
      await receiver.waitFor(2);
      assert.equal(JSON.parse(receiver.received[1].body).sys.environment.sys.id, 'master');
      assert.equal(receiver.received.length, 2, 'the entry made in later was not sent');
    } finally {
      await receiver.close();
    }
  });

  it('lists calls with status and errors, shows a call with its request and response, and reports health', async () => {
    let fail = true;
    const receiver = await startReceiver((_req, res) => {
      res.statusCode = fail ? 503 : 200;
      res.setHeader('content-type', 'text/plain');
      res.end(fail ? 'try later' : 'thanks');
      fail = false;
    });
    try {
      const w = await client.webhook.create({ spaceId }, { name: 'Calls', url: `${receiver.url}/calls`, topics: ['Entry.create'] } as any);
      const entry = await touchEntry('calls');
      await receiver.waitFor(2);
      await until(async () => (await client.webhook.getManyCallDetails({ spaceId, webhookDefinitionId: w.sys.id })).total === 2);
      const calls = await client.webhook.getManyCallDetails({ spaceId, webhookDefinitionId: w.sys.id });
      const [newest, oldest] = calls.items;
      assert.equal(newest.statusCode, 200);
      assert.deepEqual(newest.errors, []);
      assert.equal(oldest.statusCode, 503);
      assert.deepEqual(oldest.errors, ['HttpError']);
      for (const c of calls.items) {
        assert.equal(c.sys.type, 'WebhookCallOverview');
        assert.equal(c.eventType, 'create');
        assert.equal(c.url, `${receiver.url}/calls`);
        assert.ok(Date.parse(c.responseAt) >= Date.parse(c.requestAt));
      }

      const details = await client.webhook.getCallDetails({ spaceId, webhookDefinitionId: w.sys.id, callId: oldest.sys.id });
      assert.equal(details.sys.type, 'WebhookCallDetails');
      assert.equal(details.request.method, 'POST');
      assert.equal(details.request.url, `${receiver.url}/calls`);
      assert.equal(details.request.headers['x-contentful-topic'], 'ContentManagement.Entry.create');
      assert.equal(details.request.body, receiver.received[0].body, 'the body shown is the body sent');
      assert.equal(JSON.parse(details.request.body).sys.id, entry.sys.id);
      assert.equal(details.response.statusCode, 503);
      assert.equal(details.response.body, 'try later');

      const health = await client.webhook.getHealthStatus({ spaceId, webhookDefinitionId: w.sys.id });
      assert.deepEqual(health.calls, { total: 2, healthy: 1 });
      const missing = await refusal(client.webhook.getCallDetails({ spaceId, webhookDefinitionId: w.sys.id, callId: 'att_nope' }));
      assert.equal(missing.name, 'NotFound');
    } finally {
      await receiver.close();
    }
  });

  it('sets, shows redacted and deletes the signing secret; requests carry verification headers only while it is set', async () => {
    const receiver = await verifyingReceiver();
    try {
      const none = await refusal(client.webhook.getSigningSecret({ spaceId }));
      assert.equal(none.name, 'NotFound');
      const short = await refusal(client.webhook.upsertSigningSecret({ spaceId }, { value: 'too short' }));
      assert.equal(short.name, 'ValidationFailed');
      assert.deepEqual(short.details.errors[0].path, ['value']);

      const set = await client.webhook.upsertSigningSecret({ spaceId }, { value: SIGNING_SECRET });
      assert.equal(set.redactedValue, SIGNING_SECRET.slice(-4));
      assert.equal(JSON.stringify(set).includes(SIGNING_SECRET), false);
      const shown = await client.webhook.getSigningSecret({ spaceId });
      assert.equal(shown.redactedValue, SIGNING_SECRET.slice(-4));
      assert.equal(JSON.stringify(shown).includes(SIGNING_SECRET.slice(0, 20)), false);

      await client.webhook.create({ spaceId }, { name: 'Signed', url: `${receiver.url}/signed`, topics: ['Entry.create'] } as any);
      await touchEntry('signed');
      await receiver.waitFor(1);
      const signed = receiver.received[0];
      assert.equal(receiver.verified.get(signed), true);
      assert.ok(signed.headers['x-contentful-signature']);

      await client.webhook.deleteSigningSecret({ spaceId });
      assert.equal((await refusal(client.webhook.getSigningSecret({ spaceId }))).name, 'NotFound');
      await touchEntry('unsigned');
      await receiver.waitFor(2);
      assert.equal(receiver.received[1].headers['x-contentful-signature'], undefined);
    } finally {
      await receiver.close();
    }
  });

  // Contentful omits such a field from the Content Delivery and Preview APIs only ("only to be present on the
  // Content Management API", changelog "Field omission backend changes"); its calls carry the management API's
  // entity (Content-Type application/vnd.contentful.management.v1+json). Herald's keep the field, as they do.
  it('keeps a field marked omitted in Entry.save, auto_save and publish calls, as Contentful does', async () => {
    const receiver = await startReceiver();
    try {
      const env = { spaceId, environmentId: 'master' };
      const ct = await client.contentType.createWithId({ ...env, contentTypeId: 'briefing' }, {
        name: 'Briefing',
        fields: [
          { id: 'title', name: 'Title', type: 'Symbol' },
          { id: 'notes', name: 'Editors only', type: 'Symbol', omitted: true },
        ],
      } as any);
      await client.contentType.publish({ ...env, contentTypeId: 'briefing' }, ct);
      const w = await client.webhook.create({ spaceId }, { name: 'Omitted', url: `${receiver.url}/omitted`, topics: ['Entry.save', 'Entry.auto_save', 'Entry.publish'] } as any);
      const e = await client.entry.create({ ...env, contentTypeId: 'briefing' }, { fields: { title: { 'en-US': 'Q3' }, notes: { 'en-US': 'not for the site' } } } as any);
      const saved = await client.entry.update({ ...env, entryId: e.sys.id }, { ...e, fields: { ...e.fields, title: { 'en-US': 'Q3, saved' } } });
      const auto = await fetch(`${h.url}/spaces/${spaceId}/environments/master/entries/${e.sys.id}?auto_save=true`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/vnd.contentful.management.v1+json', 'x-contentful-version': String(saved.sys.version) },
        body: JSON.stringify({ fields: { ...saved.fields, title: { 'en-US': 'Q3, typing' } } }),
      });
      assert.equal(auto.status, 200, await auto.clone().text());
      await client.entry.publish({ ...env, entryId: e.sys.id }, await client.entry.get({ ...env, entryId: e.sys.id }));
      await receiver.waitFor(3);
      // Sorted: calls of one webhook may arrive in any order.
      const calls = receiver.received.map((r) => [String(r.headers['x-contentful-topic']), r.json.fields?.notes?.['en-US']]).sort((a, b) => a[0].localeCompare(b[0]));
      assert.deepEqual(calls, [
        ['ContentManagement.Entry.auto_save', 'not for the site'],
        ['ContentManagement.Entry.publish', 'not for the site'],
        ['ContentManagement.Entry.save', 'not for the site'],
      ]);
      await client.webhook.delete({ spaceId, webhookDefinitionId: w.sys.id });
    } finally {
      await receiver.close();
    }
  });

  it('sets a retry policy: maxRetries 1 makes two attempts in all at a failing receiver', async () => {
    const receiver = await startReceiver((_req, res) => {
      res.statusCode = 500;
    });
    try {
      assert.equal((await refusal(client.webhook.getRetryPolicy({ spaceId }))).name, 'NotFound');
      assert.equal((await refusal(client.webhook.upsertRetryPolicy({ spaceId }, { maxRetries: -1 }))).name, 'ValidationFailed');
      const policy = await client.webhook.upsertRetryPolicy({ spaceId }, { maxRetries: 1 });
      assert.equal(policy.maxRetries, 1);
      assert.equal((await client.webhook.getRetryPolicy({ spaceId })).maxRetries, 1);

      const w = await client.webhook.create({ spaceId }, { name: 'Retries', url: `${receiver.url}/retry`, topics: ['Entry.create'] } as any);
      await touchEntry('retry policy');
      await until(async () => {
        const x = await h.request('GET', `/v3/webhooks/${w.sys.id}/executions`, { headers: v3({ api_key: spaceId, token }) });
        return x.body.webhooks[0]?.state === 'failed';
      }, 10_000, 'the execution to fail');
      assert.equal(receiver.received.length, 2, 'one attempt and one retry');
      assert.equal((await client.webhook.getHealthStatus({ spaceId, webhookDefinitionId: w.sys.id })).calls.total, 2);

      await client.webhook.deleteRetryPolicy({ spaceId });
      assert.equal((await refusal(client.webhook.getRetryPolicy({ spaceId }))).name, 'NotFound');
      await client.webhook.delete({ spaceId, webhookDefinitionId: w.sys.id });
    } finally {
      await receiver.close();
    }
  });
});
