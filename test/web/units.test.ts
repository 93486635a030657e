import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseChannel } from '../../src/webhooks/channels.ts';
import { callStatus, httpStatusText } from '../../web/src/call-status.ts';
import { channelToRow, describeChannel, joinChannels, parseWhenCode, rowToChannel, splitChannels, whenToCode, MODULE_ACTIONS, type ChannelRow } from '../../web/src/channels.ts';
import { deliveryTokenBody, deliveryTokenProblems, draftOf, problemsLeft, readExample } from '../../web/src/delivery-token.ts';
import { entryBody, valuesOf, type SchemaField } from '../../web/src/entry-values.ts';
import { health, healthLevel } from '../../web/src/health.ts';
import { duration, humanise } from '../../web/src/time.ts';
import { destinationKind, formProblems, headerDraft, sendsHttp, toBody, toForm, type WebhookView } from '../../web/src/webhook-form.ts';

/** The web app's rules that need no browser: times, channels, health, call status, and the webhook form's secrets. */

const NOW = Date.parse('2025-03-10T12:00:00Z');

describe('humanised times', () => {
  it('reads like the Logs tab of seed 003: just now, seconds, minutes, days ago', () => {
    assert.equal(humanise(NOW - 2_000, NOW), 'just now');
    assert.equal(humanise(NOW - 12_000, NOW), '12 seconds ago');
    assert.equal(humanise(NOW - 60_000, NOW), '1 minute ago');
    assert.equal(humanise(new Date(NOW - 3 * 60_000 - 5_000).toISOString(), NOW), '3 minutes ago');
    assert.equal(humanise(NOW - 3 * 86_400_000, NOW), '3 days ago');
    assert.equal(humanise(NOW - 400 * 86_400_000, NOW), '1 year ago');
  });

  it('says "in" for a time to come, and nothing for an unreadable one', () => {
    assert.equal(humanise(NOW + 45_000, NOW), 'in 45 seconds');
    assert.equal(humanise('not a date', NOW), '');
    assert.equal(humanise(null, NOW), '');
  });

  it('writes durations in ms under a second and in seconds above', () => {
    assert.equal(duration(6), '6 ms');
    assert.equal(duration(1234), '1.2 s');
    assert.equal(duration(30_000), '30 s');
  });
});

describe('the Conditional View', () => {
  const cases: Array<[ChannelRow, string]> = [
    [{ module: 'entry', action: 'publish', contentType: '', uid: '' }, 'content_types.entries.publish'],
    [{ module: 'entry', action: 'auto_save', contentType: 'blog', uid: '' }, 'content_types.blog.entries.auto_save'],
    [{ module: 'entry', action: 'update', contentType: 'blog', uid: 'blt123' }, 'content_types.blog.entries.blt123.update'],
    [{ module: 'entry', action: 'publish.fail', contentType: 'blog', uid: '' }, 'content_types.blog.entries.publish.fail'],
    [{ module: 'content_type', action: 'delete', contentType: '', uid: '' }, 'content_types.delete'],
    [{ module: 'content_type', action: 'update', contentType: 'blog', uid: '' }, 'content_types.blog.update'],
    [{ module: 'asset', action: 'delete', contentType: '', uid: '' }, 'assets.delete'],
    [{ module: 'asset', action: 'unpublish.fail', contentType: '', uid: 'bltasset' }, 'assets.bltasset.unpublish.fail'],
  ];

  it('builds the Contentstack channel of each row, and reads each channel back into its row', () => {
    for (const [row, channel] of cases) {
      assert.equal(rowToChannel(row), channel);
      assert.deepEqual(channelToRow(channel), row);
    }
  });

  it('builds only channels the server accepts, for every module and action it offers', () => {
    for (const module of Object.keys(MODULE_ACTIONS) as ChannelRow['module'][]) {
      for (const action of MODULE_ACTIONS[module]) {
        for (const row of [
          { module, action, contentType: '', uid: '' },
          { module, action, contentType: module === 'asset' ? '' : 'blog', uid: module === 'content_type' ? '' : 'blt1' },
        ]) {
          const channel = rowToChannel(row);
          assert.notEqual(typeof parseChannel(channel), 'string', `${channel} is refused by the server`);
          assert.deepEqual(channelToRow(channel), row);
        }
      }
    }
  });

  it('keeps what a row cannot express (Contentful topics) apart and puts it back unchanged', () => {
    const { rows, other } = splitChannels(['Entry.*', 'content_types.entries.publish', '*.*']);
    assert.deepEqual(other, ['Entry.*', '*.*']);
    assert.equal(rows.length, 1);
    assert.deepEqual(joinChannels([...rows, rows[0]], other), ['content_types.entries.publish', 'Entry.*', '*.*']);
  });

  it('describes channels and topics in words for the list', () => {
    assert.equal(describeChannel('content_types.blog.entries.publish'), 'An entry of blog is published');
    assert.equal(describeChannel('content_types.entries.auto_save'), 'Any entry is auto-saved');
    assert.equal(describeChannel('assets.delete'), 'Any asset is deleted');
    assert.equal(describeChannel('Entry.*'), 'Every entry event');
    assert.equal(describeChannel('Entry.save'), 'Any entry is saved');
    assert.equal(describeChannel('*.*'), 'Every event');
  });
});

describe('the Code View', () => {
  it('accepts channels and conditions as JSON, and what it shows reads back the same', () => {
    const when = { channels: ['content_types.blog.entries.publish', 'Asset.*'], conditions: [{ equals: [{ doc: 'environment' }, 'production'] }] };
    assert.deepEqual(parseWhenCode(whenToCode(when)), { value: when, problems: [] });
  });

  it('names each problem as the user types: bad JSON, an unknown channel, a bad condition, an unknown key', () => {
    assert.match(parseWhenCode('{"channels": [').problems[0], /^Not valid JSON/);
    const bad = parseWhenCode(JSON.stringify({ channels: ['content_types.entries.publish', 'content_types.entries.publsh'], conditions: [{ equals: [{ doc: 'nope' }, 'x'] }], extra: 1 }));
    assert.equal(bad.value, null);
    assert.ok(bad.problems.some((p) => p.startsWith('"extra" is not known')));
    assert.ok(bad.problems.some((p) => p.startsWith('channels[1] "content_types.entries.publsh" is not a known channel')));
    assert.ok(bad.problems.some((p) => p.startsWith('conditions.0')));
    assert.match(parseWhenCode('{"channels": []}').problems[0], /at least one channel/);
  });
});

describe('webhook health in the list', () => {
  const at = (s: number) => new Date(NOW - s * 1000).toISOString();
  it('is the share of recent calls delivered, with the time of the newest attempt', () => {
    const h = health([
      { state: 'succeeded', created_at: at(60), request_details: [{ created_at: at(59) }] },
      { state: 'failed', created_at: at(50), request_details: [{ created_at: at(49) }, { created_at: at(20) }] },
      { state: 'pending', created_at: at(40), request_details: [{ created_at: at(39) }] },
      { state: 'queued', created_at: at(1), request_details: [] },
    ]);
    assert.equal(h.called, 3);
    assert.equal(h.succeeded, 1);
    assert.equal(h.retrying, 1);
    assert.equal(h.failed, 1);
    assert.equal(h.waiting, 1);
    assert.equal(h.rate, 1 / 3);
    assert.equal(h.lastCallAt, NOW - 20_000);
    assert.equal(healthLevel(h), 'bad');
  });

  it('has no rate before the first call', () => {
    const h = health([{ state: 'queued', created_at: at(1), request_details: [] }]);
    assert.equal(h.rate, null);
    assert.equal(h.lastCallAt, null);
    assert.equal(healthLevel(h), 'none');
  });
});

describe('Call Status', () => {
  it('is the HTTP code with its phrase when the endpoint answered, else the failure reason', () => {
    assert.deepEqual(callStatus({ state: 'succeeded', status: 200, reason: null, attempts: 1 }), { text: '200 OK', kind: 'good', next: null });
    assert.deepEqual(callStatus({ state: 'failed', status: 500, reason: 'HTTP 500', attempts: 5 }), { text: '500 Internal Server Error', kind: 'bad', next: null });
    assert.deepEqual(callStatus({ state: 'pending', status: null, reason: 'connection refused', attempts: 1 }), { text: 'connection refused', kind: 'warn', next: 'retry' });
    assert.deepEqual(callStatus({ state: 'queued', status: null, reason: null, attempts: 0 }), { text: 'Queued', kind: 'info', next: 'queued' });
    assert.equal(callStatus({ state: 'in_flight', status: 200, reason: null, attempts: 2 }).text, 'Sending…');
    assert.equal(httpStatusText(418), '418');
  });
});

describe('the webhook form and secrets', () => {
  const stored: WebhookView = {
    uid: 'blt1',
    name: 'Deploy',
    destinations: [
      {
        target_url: 'https://example.com/hook',
        http_basic_auth: 'deployer',
        http_basic_password: '****word',
        custom_header: [
          { header_name: 'X-Key', value: '****9abc', secret: true },
          { header_name: 'X-Site', value: 'www' },
        ],
      },
    ],
    channels: ['content_types.entries.publish'],
    branches: ['main'],
    conditions: [],
    disabled: false,
    disabled_reason: null,
    concise_payload: false,
    created_at: '',
    updated_at: '',
  };

  it('never puts a mask into an input', () => {
    const f = toForm(stored);
    assert.equal(f.password, '');
    assert.equal(f.passwordStored, true);
    assert.equal(f.headers[0].value, '');
    assert.deepEqual(f.headers[0].stored, { name: 'X-Key', mask: '****9abc' });
    assert.equal(f.headers[1].value, 'www');
  });

  it('leaves secrets out of the body when they were not retyped, so the server keeps them', () => {
    const body = toBody({ ...toForm(stored), name: 'Deploy (prod)' });
    const d = (body.webhook.destinations as Array<Record<string, unknown>>)[0];
    assert.equal('http_basic_password' in d, false);
    assert.deepEqual(d.custom_header, [{ header_name: 'X-Key', secret: true }, { header_name: 'X-Site', value: 'www' }]);
    assert.equal(JSON.stringify(body).includes('****'), false);
  });

  it('sends a new password or value when typed, and null to remove the password', () => {
    const f = toForm(stored);
    f.password = 'n3w-password';
    f.headers[0].value = 'new-key';
    const d = (toBody(f).webhook.destinations as Array<Record<string, unknown>>)[0];
    assert.equal(d.http_basic_password, 'n3w-password');
    assert.deepEqual((d.custom_header as unknown[])[0], { header_name: 'X-Key', value: 'new-key', secret: true });
    const removed = toForm(stored);
    removed.removePassword = true;
    assert.equal((toBody(removed).webhook.destinations as Array<Record<string, unknown>>)[0].http_basic_password, null);
  });

  it('keeps a webhook on every branch unless the user picks branches (saving never narrows it)', () => {
    const every = toForm({ ...stored, all_branches: true });
    assert.equal(every.allBranches, true);
    assert.equal('branches' in toBody(every).webhook, false, 'left out: the server keeps every branch');
    assert.deepEqual(formProblems({ ...every, branches: [] }).branches, undefined);
    const picked = toBody({ ...every, allBranches: false, branches: ['main'] });
    assert.deepEqual(picked.webhook.branches, ['main']);
    assert.deepEqual(toBody(toForm(stored)).webhook.branches, ['main']);
  });

  it('asks for the value again when a stored secret header is renamed', () => {
    const f = toForm(stored);
    f.headers[0].name = 'X-Other-Key';
    assert.deepEqual(formProblems(f)['destinations.0.custom_header.0.value'], ['is required again: the stored secret value belongs to the old header name']);
    assert.equal(((toBody(f).webhook.destinations as Array<Record<string, unknown>>)[0].custom_header as Array<Record<string, unknown>>)[0].value, '');
  });

  it('names the fields a new webhook still needs', () => {
    const f = toForm();
    f.headers.push(headerDraft());
    assert.deepEqual(Object.keys(formProblems(f)).sort(), ['channels', 'destinations.0.custom_header.0.header_name', 'destinations.0.target_url', 'name']);
  });
});

describe('entry values', () => {
  const schema: SchemaField[] = [
    { uid: 'title', display_name: 'Title', data_type: 'text' },
    { uid: 'rating', display_name: 'Rating', data_type: 'number' },
    { uid: 'keywords', display_name: 'Keywords', data_type: 'text', multiple: true },
    { uid: 'seo', display_name: 'SEO', data_type: 'group', schema: [{ uid: 'description', display_name: 'Description', data_type: 'text' }] },
    { uid: 'author', display_name: 'Author', data_type: 'reference', reference_to: ['person'] },
  ];

  it('sends every schema field, clearing emptied ones with null and dropping blank list items', () => {
    const v = valuesOf(schema, { uid: 'blt1', title: 'Hello', rating: 4, keywords: ['a'], seo: { description: 'x' } });
    v.rating = null;
    v.keywords = ['a', '', 'b'];
    v.seo = { description: '' };
    assert.deepEqual(entryBody(schema, v), { title: 'Hello', rating: null, keywords: ['a', 'b'], seo: { description: null }, author: [] });
  });
});

describe('the delivery token form', () => {
  const draft = { name: ' Site ', description: '', environments: ['production'], branches: ['main'] };

  it("sends Contentstack's shape: environments by name and branches, read-only", () => {
    assert.deepEqual(deliveryTokenBody(draft), {
      token: {
        name: 'Site',
        description: '',
        scope: [
          { module: 'environment', environments: ['production'], acl: { read: true } },
          { module: 'branch', branches: ['main'], acl: { read: true } },
        ],
      },
    });
  });

  it('names a missing name and environment before asking the server', () => {
    assert.deepEqual(Object.keys(deliveryTokenProblems({ ...draft, name: ' ', environments: [] })), ['token.name', 'token.scope']);
    assert.deepEqual(deliveryTokenProblems(draft), {});
  });

  it("forgets only the edited field's problems, including the server's per-scope ones", () => {
    const fields = { 'token.name': ['x'], 'token.scope': ['y'], 'token.scope[0].environments': ['z'], 'token.scope[1].branches': ['w'] };
    assert.deepEqual(Object.keys(problemsLeft(fields, ['name'])), ['token.scope', 'token.scope[0].environments', 'token.scope[1].branches']);
    assert.deepEqual(Object.keys(problemsLeft(fields, ['environments'])), ['token.name', 'token.scope[1].branches']);
    assert.deepEqual(problemsLeft(fields, ['name', 'environments', 'branches']), {});
  });

  it("edits a listed token: its environments by today's name, one deleted since left out, its branches", () => {
    const listed = {
      name: 'Site',
      description: 'The build',
      scope: [
        { module: 'environment', environments: [{ uid: 'env1', name: 'production' }, { uid: 'env2', name: null }, { uid: 'env3', name: 'staging' }] },
        { module: 'branch', branches: ['main', 'dev'] },
      ],
    };
    const envs = [{ uid: 'env3', name: 'stage' }, { uid: 'env1', name: 'production' }, { uid: 'env4', name: 'preview' }];
    assert.deepEqual(draftOf(listed, envs), { name: 'Site', description: 'The build', environments: ['stage', 'production'], branches: ['main', 'dev'] });
    assert.deepEqual(draftOf({ ...listed, scope: [listed.scope[0]!] }, envs).branches, ['main'], 'no branch scope: main');
  });

  it('shows a read request with the stack, the environment and the token', () => {
    assert.equal(
      readExample('http://127.0.0.1:4100', 'blt123', 'pre prod', 'csTOKEN', 'article'),
      "curl 'http://127.0.0.1:4100/v3/content_types/article/entries?environment=pre%20prod' \\\n  -H 'api_key: blt123' \\\n  -H 'access_token: csTOKEN'",
    );
  });
});

describe('the webhook form: event storms and the relay', () => {
  const base = (): WebhookView => ({
    uid: 'blt1',
    name: 'Index',
    destinations: [{ target_url: 'https://example.com/hook', http_basic_auth: '', http_basic_password: '', custom_header: [] }],
    channels: ['content_types.entries.publish'],
    branches: ['main'],
    conditions: [],
    disabled: false,
    disabled_reason: null,
    concise_payload: false,
    created_at: '',
    updated_at: '',
  });

  it('sends each setting off (null, 0) for a webhook without them, and as the API names them when set', () => {
    const off = toBody(toForm(base())).webhook;
    assert.deepEqual([off.batch, off.debounce_ms, off.rate_limit], [null, 0, null]);
    const f = toForm({ ...base(), batch: { max_events: 50, window_ms: 2000 }, debounce_ms: 1500 });
    assert.deepEqual([f.batchOn, f.batchMax, f.batchWindow, f.debounce], [true, '50', '2000', '1500']);
    const on = toBody(f).webhook;
    assert.deepEqual([on.batch, on.debounce_ms, on.rate_limit], [{ max_events: 50, window_ms: 2000 }, 1500, null]);
    const limited = toForm({ ...base(), rate_limit: { max: 5, per: 'minute' } });
    assert.deepEqual(toBody(limited).webhook.rate_limit, { max: 5, per: 'minute' });
    limited.rateOn = false;
    assert.equal(toBody(limited).webhook.rate_limit, null, 'unticking removes the limit');
  });

  it('names out-of-range numbers, a batch with a rate limit, and a batch outside the Contentstack format, as the API keys them', () => {
    const f = toForm(base());
    f.batchOn = true;
    f.batchMax = '0';
    f.batchWindow = '1.5';
    f.debounce = '300001';
    f.rateOn = true;
    f.rateMax = '1001';
    assert.deepEqual(Object.keys(formProblems(f)).sort(), ['batch.max_events', 'batch.window_ms', 'debounce_ms', 'rate_limit', 'rate_limit.max']);
    f.ratePer = 'minute';
    assert.equal(formProblems(f)['rate_limit.max'], undefined, '1001 a minute is fine');
    f.rateOn = false;
    f.batchMax = '1000';
    f.batchWindow = '60000';
    f.debounce = '';
    f.format = 'cloudevents';
    assert.deepEqual(formProblems(f), { batch: ['is offered for the Contentstack JSON format only'] });
  });

  it('treats relay: as an HTTP request (authentication applies), not a broker', () => {
    assert.equal(destinationKind('relay:'), 'relay');
    assert.equal(sendsHttp('relay:'), true);
    assert.equal(sendsHttp('amqp://rabbit/x'), false);
    const f = toForm({ ...base(), destinations: [{ target_url: 'relay:', http_basic_auth: '', http_basic_password: '', custom_header: [], authentication_type: 'Bearer', bearer_token: '****abcd' }] });
    const d = (toBody(f).webhook.destinations as Array<Record<string, unknown>>)[0]!;
    assert.deepEqual([d.target_url, d.authentication_type], ['relay:', 'Bearer']);
  });
});
