import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { destinationKind, formProblems, toBody, toForm, type WebhookView } from '../../web/src/webhook-form.ts';

/** The webhook form's endpoint authentication (pure): secrets write-only, broker URLs without HTTP auth. */
describe('webhook form: endpoint authentication', () => {
  const stored: WebhookView = {
    uid: 'blt1',
    name: 'OAuth',
    destinations: [
      {
        target_url: 'https://example.com/hook',
        http_basic_auth: '',
        http_basic_password: '',
        custom_header: [],
        authentication_type: 'OAuth2',
        access_token_url: 'https://auth.example.com/token',
        client_id: 'herald',
        client_secret: '****cret',
        scope: 'a b',
        client_certificate: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
        client_key: '****',
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
  const dest = (f: ReturnType<typeof toForm>) => (toBody(f).webhook.destinations as Array<Record<string, unknown>>)[0]!;

  it('never puts a masked secret into an input, and leaves secrets out unless retyped', () => {
    const f = toForm(stored);
    assert.equal(f.authType, 'OAuth2');
    assert.equal(f.clientSecret, '');
    assert.equal(f.clientSecretStored, true);
    assert.equal(f.clientKey, '');
    assert.equal(f.clientKeyStored, true);
    const d = dest(f);
    assert.equal(d.authentication_type, 'OAuth2');
    assert.equal(d.access_token_url, 'https://auth.example.com/token');
    assert.equal('client_secret' in d, false);
    assert.equal('client_key' in d, false);
    assert.equal(d.client_certificate, stored.destinations[0]!.client_certificate);
    assert.equal(JSON.stringify(toBody(f)).includes('****'), false);
    assert.deepEqual(formProblems(f), {});
  });

  it('sends a retyped secret, and drops OAuth when another authentication is chosen', () => {
    const f = toForm(stored);
    f.clientSecret = 'new-secret';
    assert.equal(dest(f).client_secret, 'new-secret');
    f.authType = 'None';
    const d = dest(f);
    assert.equal(d.authentication_type, 'None');
    assert.equal('access_token_url' in d, false);
    assert.equal('client_secret' in d, false);
  });

  it('asks for what OAuth and a bearer token need, and for a key with a certificate', () => {
    const f = toForm();
    f.url = 'https://example.com/x';
    f.authType = 'OAuth2';
    f.clientCert = '-----BEGIN CERTIFICATE-----';
    assert.deepEqual(Object.keys(formProblems(f)).filter((k) => k.startsWith('destinations')).sort(), [
      'destinations.0.access_token_url',
      'destinations.0.client_id',
      'destinations.0.client_key',
      'destinations.0.client_secret',
    ]);
    f.authType = 'Bearer';
    assert.ok(formProblems(f)['destinations.0.bearer_token']);
  });

  it('sends no HTTP authentication for a broker URL', () => {
    const f = toForm(stored);
    f.url = 'nats://nats.example:4222?subject=cms';
    assert.equal(destinationKind(f.url), 'nats');
    const d = dest(f);
    assert.equal(d.authentication_type, 'None');
    assert.equal('access_token_url' in d, false);
    assert.equal('client_certificate' in d, false);
    assert.equal(destinationKind('https://x'), 'http');
    assert.equal(destinationKind('htt'), 'http');
  });
});
