import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mask } from '../../src/auth/secrets.ts';
import { createTargetPolicy } from '../../src/net/target.ts';
import { HeraldError } from '../../src/errors.ts';
import { presentWebhook } from '../../src/webhooks/present.ts';
import { rotateSecrets, liveSecrets, signingSecretProblem } from '../../src/webhooks/signing-secrets.ts';
import { parseWebhookBody, type WebhookDefinition } from '../../src/webhooks/validate.ts';
import type { Webhook } from '../../src/webhooks/webhook.ts';
import { makeCertificates } from '../helpers/endpoint-auth.ts';

const policy = createTargetPolicy([]);
const now = 1_700_000_000_000;
const SECRET = 'whsec_' + Buffer.alloc(32, 7).toString('base64');

const minimal = (over: Record<string, unknown> = {}) => ({
  webhook: { name: 'Notify', destinations: [{ target_url: 'https://hooks.example.com/in' }], channels: ['content_types.entries.update'], ...over },
});

function parse(body: unknown, existing?: Webhook): WebhookDefinition {
  return parseWebhookBody(body, { policy, now, existing });
}

/** The field errors of a refused body. */
function problems(body: unknown, existing?: Webhook): Record<string, string[]> {
  try {
    parse(body, existing);
  } catch (err) {
    assert.ok(err instanceof HeraldError);
    assert.equal(err.code, 'validation_failed');
    return err.errors ?? {};
  }
  assert.fail('the body was accepted');
}

function stored(def: WebhookDefinition): Webhook {
  return { uid: 'blt1', api_key: 'blt_stack', ...def, disabled_reason: null, created_at: now, updated_at: now, version: 1 };
}

describe('validating a webhook body', () => {
  it('fills the defaults: branch main, manual retry policy, enabled, full payload, Contentstack format, a fresh signing secret', () => {
    const d = parse(minimal());
    assert.deepEqual(d.branches, ['main']);
    assert.equal(d.retry_policy, 'manual');
    assert.equal(d.disabled, false);
    assert.equal(d.concise_payload, false);
    assert.equal(d.format, 'contentstack');
    assert.deepEqual(d.conditions, []);
    assert.equal(d.signing_secrets.length, 1);
    assert.equal(signingSecretProblem(d.signing_secrets[0].secret), null);
    assert.equal(d.signing_secrets[0].expires_at, null);
  });

  it('accepts the example body of the official client', () => {
    const d = parse({
      webhook: {
        name: 'Test',
        destinations: [{ target_url: 'http://example.com', http_basic_auth: 'basic', http_basic_password: 'test', custom_header: [{ header_name: 'Custom', value: 'testing' }] }],
        channels: ['assets.create'],
        retry_policy: 'manual',
        disabled: false,
      },
    });
    assert.deepEqual(d.destinations, [
      { target_url: 'http://example.com', http_basic_auth: 'basic', http_basic_password: 'test', custom_header: [{ header_name: 'Custom', value: 'testing' }] },
    ]);
  });

  it('keeps a given signing secret', () => {
    assert.equal(parse(minimal({ signing_secret: SECRET })).signing_secrets[0].secret, SECRET);
  });

  it('names each bad field, all at once', () => {
    const p = problems({
      webhook: {
        destinations: [{ target_url: 'ftp://example.com/' }],
        channels: ['content_types.entries.update', 'Entry.explode'],
        branches: [],
        conditions: [{ equals: [{ doc: 'nope' }, 'x'] }],
        disabled: 'no',
        format: 'xml',
        signing_secret: 'whsec_short',
        colour: 'blue',
      },
    });
    assert.deepEqual(Object.keys(p).sort(), [
      'branches',
      'channels.1',
      'colour',
      'conditions.0.equals.0.doc',
      'destinations.0.target_url',
      'disabled',
      'format',
      'name',
      'signing_secret',
    ]);
    assert.match(p['destinations.0.target_url'][0], /http, https, amqp, nats or redis/);
    assert.match(p['channels.1'][0], /"Entry\.explode"/);
  });

  it('requires at least one channel', () => {
    assert.ok(problems(minimal({ channels: [] })).channels);
    assert.ok(problems({ webhook: { name: 'x', destinations: [{ target_url: 'https://a.example' }] } }).channels);
  });

  it('keeps one destination per webhook and says so', () => {
    const p = problems(minimal({ destinations: [{ target_url: 'https://a.example' }, { target_url: 'https://b.example' }] }));
    assert.match(p.destinations[0], /one destination per webhook/);
  });

  it('refuses a body without the webhook wrapper', () => {
    assert.deepEqual(Object.keys(problems({ name: 'x' })), ['webhook']);
  });

  it('checks custom headers with the header rules (reserved names, Authorization beside basic auth)', () => {
    const p = problems(
      minimal({
        destinations: [
          {
            target_url: 'https://a.example',
            http_basic_auth: 'u',
            http_basic_password: 'p',
            custom_header: [
              { header_name: 'Host', value: 'x' },
              { header_name: 'Authorization', value: 'Bearer x' },
              { header_name: 'X-Ok', value: 'line\r\nbreak' },
            ],
          },
        ],
      }),
    );
    assert.deepEqual(Object.keys(p).sort(), ['destinations.0.custom_header.0.header_name', 'destinations.0.custom_header.1.header_name', 'destinations.0.custom_header.2.value']);
  });

  it('requires a username beside a basic auth password, and no colon in it', () => {
    assert.ok(problems(minimal({ destinations: [{ target_url: 'https://a.example', http_basic_password: 'p' }] }))['destinations.0.http_basic_auth']);
    assert.ok(problems(minimal({ destinations: [{ target_url: 'https://a.example', http_basic_auth: 'a:b', http_basic_password: 'p' }] }))['destinations.0.http_basic_auth']);
  });

  it('stores credential-looking headers as secret unless told otherwise', () => {
    const d = parse(
      minimal({
        destinations: [
          {
            target_url: 'https://a.example',
            custom_header: [
              { header_name: 'X-Api-Key', value: 'k' },
              { header_name: 'X-Team', value: 'web' },
              { header_name: 'X-Token', value: 't', secret: false },
              { header_name: 'X-Plain', value: 's', secret: true },
            ],
          },
        ],
      }),
    );
    assert.deepEqual(
      d.destinations[0].custom_header.map((h) => [h.header_name, h.secret === true]),
      [['X-Api-Key', true], ['X-Team', false], ['X-Token', false], ['X-Plain', true]],
    );
  });
});

describe('updating over a stored webhook', () => {
  const original = () =>
    stored(
      parse(
        minimal({
          signing_secret: SECRET,
          destinations: [
            {
              target_url: 'https://hooks.example.com/in',
              http_basic_auth: 'herald',
              http_basic_password: 'correct horse battery staple',
              custom_header: [
                { header_name: 'X-Secret', value: 'header-secret-value-123', secret: true },
                { header_name: 'X-Team', value: 'web' },
              ],
            },
          ],
        }),
      ),
    );

  it('keeps fields the body leaves out', () => {
    const w = original();
    const d = parse({ webhook: { name: 'Renamed' } }, w);
    assert.equal(d.name, 'Renamed');
    assert.deepEqual(d.destinations, w.destinations);
    assert.deepEqual(d.channels, w.channels);
    assert.deepEqual(d.signing_secrets, w.signing_secrets);
  });

  it('keeps the stored secrets when the client sends back what it fetched (masked)', () => {
    const w = original();
    const fetched = presentWebhook(w);
    assert.equal(fetched.destinations[0].http_basic_password, mask('correct horse battery staple'));
    const d = parse({ webhook: { ...fetched, name: 'Renamed' } }, w);
    assert.equal(d.destinations[0].http_basic_password, 'correct horse battery staple');
    assert.equal(d.destinations[0].custom_header[0].value, 'header-secret-value-123');
    assert.equal(d.destinations[0].custom_header[0].secret, true);
    assert.equal(d.destinations[0].custom_header[1].value, 'web');
  });

  it('keeps the stored password when the body leaves it out, and sets a new one when given', () => {
    const w = original();
    const kept = parse({ webhook: { destinations: [{ target_url: 'https://hooks.example.com/other', http_basic_auth: 'herald' }] } }, w);
    assert.equal(kept.destinations[0].http_basic_password, 'correct horse battery staple');
    const changed = parse({ webhook: { destinations: [{ target_url: 'https://b.example', http_basic_auth: 'herald', http_basic_password: 'new one' }] } }, w);
    assert.equal(changed.destinations[0].http_basic_password, 'new one');
  });

  it('carries no stored secret to another origin (scheme, host or port): each must be sent again, else 422 naming it', () => {
    const w = original();
    for (const url of ['https://b.example/in', 'http://hooks.example.com/in', 'https://hooks.example.com:8443/in']) {
      assert.throws(
        () => parse({ webhook: { destinations: [{ target_url: url, http_basic_auth: 'herald', custom_header: [{ header_name: 'X-Secret', value: '****-123', secret: true }, { header_name: 'X-Team', value: 'web' }] }] } }, w),
        (err: any) => err.code === 'validation_failed' && Object.keys(err.errors).sort().join() === 'destinations.0.custom_header.0.value,destinations.0.http_basic_password',
        url,
      );
    }
    const resent = parse({ webhook: { destinations: [{ target_url: 'https://b.example/in', http_basic_auth: 'herald', http_basic_password: 'fresh', custom_header: [{ header_name: 'X-Secret', value: 'fresh-header', secret: true }] }] } }, w);
    assert.equal(resent.destinations[0].http_basic_password, 'fresh');
    assert.equal(resent.destinations[0].custom_header[0].value, 'fresh-header');
    const dropped = parse({ webhook: { destinations: [{ target_url: 'https://b.example/in', http_basic_password: null }] } }, w);
    assert.equal(dropped.destinations[0].http_basic_password, undefined);
  });

  it('carries none of the newer stored secrets to another origin either (OAuth client secret, bearer token, TLS client key, broker password, NATS token): 422 naming each', () => {
    const c = makeCertificates();
    const cases: Array<[string, Record<string, unknown>, string, string, string]> = [
      // what, the stored destination, its URL moved to another origin, the field named, the secret
      ['OAuth client secret', { target_url: 'https://hooks.example.com/in', access_token_url: 'https://auth.example.com/token', client_id: 'herald', client_secret: 'client-secret-0123456789' }, 'https://b.example/in', 'client_secret', 'client-secret-0123456789'],
      ['bearer token', { target_url: 'https://hooks.example.com/in', authentication_type: 'Bearer', bearer_token: 'bearer-token-0123456789' }, 'https://hooks.example.com:8443/in', 'bearer_token', 'bearer-token-0123456789'],
      ['TLS client key', { target_url: 'https://hooks.example.com/in', client_certificate: c.clientCert, client_key: c.clientKey, ca_certificate: c.ca }, 'https://b.example/in', 'client_key', c.clientKey],
      ['AMQP password', { target_url: 'amqp://herald:amqp-password-0123@rabbit.example/?exchange=x' }, 'amqp://herald:****0123@rabbit2.example/?exchange=x', 'target_url', 'amqp-password-0123'],
      ['Redis password', { target_url: 'redis://default:redis-password-0123@redis.example:6379/0?stream=s' }, 'redis://default:****0123@redis.example:6380/0?stream=s', 'target_url', 'redis-password-0123'],
      ['NATS token', { target_url: 'nats://nats-token-0123456789@nats.example?subject=cms' }, 'nats://****6789@nats2.example?subject=cms', 'target_url', 'nats-token-0123456789'],
    ];
    for (const [what, dest, movedUrl, field, secret] of cases) {
      const w = stored(parse({ webhook: { name: what, channels: ['*.*'], destinations: [{ ...dest, custom_header: [] }] } }));
      // Read back (secrets masked), then sent back as read: kept.
      const shown = presentWebhook(w).destinations[0] as Record<string, unknown>;
      assert.ok(!JSON.stringify(shown).includes(secret), `${what}: shown masked`);
      const kept = parse({ webhook: { destinations: [shown] } }, w);
      assert.ok(JSON.stringify(kept.destinations[0]).includes(JSON.stringify(secret).slice(1, -1)), `${what}: kept on the same origin`);
      // The same with only the URL moved (a broker URL keeps its masked password): refused, naming the field.
      const errors = problems({ webhook: { destinations: [{ ...shown, target_url: movedUrl }] } }, w);
      assert.deepEqual(Object.keys(errors), [`destinations.0.${field}`], what);
      assert.match(errors[`destinations.0.${field}`][0], /again .*in full/, what);
      // Left out entirely on the new origin: not carried either (dropped, or refused).
      const { [field]: _left, ...without } = shown;
      try {
        const d = parse({ webhook: { destinations: [{ ...without, target_url: field === 'target_url' ? movedUrl.replace(/\/\/[^@]*@/, '//') : movedUrl }] } }, w);
        assert.ok(!JSON.stringify(d).includes(JSON.stringify(secret).slice(1, -1)), `${what}: carried to ${movedUrl}`);
      } catch (err) {
        assert.ok(err instanceof HeraldError && err.errors?.[`destinations.0.${field}`], `${what}: ${String(err)}`);
      }
    }
  });

  it('drops basic auth when the username is cleared', () => {
    const d = parse({ webhook: { destinations: [{ target_url: 'https://b.example', http_basic_auth: '' }] } }, original());
    assert.equal(d.destinations[0].http_basic_auth, undefined);
    assert.equal(d.destinations[0].http_basic_password, undefined);
  });

  it('a new signing secret becomes current while the old one signs for the grace period', () => {
    const next = 'whsec_' + Buffer.alloc(32, 9).toString('base64');
    const d = parse({ webhook: { signing_secret: next } }, original());
    assert.deepEqual(d.signing_secrets, [
      { secret: next, expires_at: null },
      { secret: SECRET, expires_at: now + 24 * 3_600_000 },
    ]);
    assert.deepEqual(parse({ webhook: { signing_secret: SECRET } }, original()).signing_secrets, [{ secret: SECRET, expires_at: null }]);
  });
});

describe('presenting a webhook', () => {
  it('masks the password and secret header values and leaves signing secrets out', () => {
    const w = stored(
      parse(
        minimal({
          signing_secret: SECRET,
          destinations: [
            {
              target_url: 'https://a.example',
              http_basic_auth: 'u',
              http_basic_password: 'a-long-password-1234',
              custom_header: [{ header_name: 'X-Secret', value: 'header-secret-value-123', secret: true }],
            },
          ],
        }),
      ),
    );
    const text = JSON.stringify(presentWebhook(w));
    for (const secret of ['a-long-password-1234', 'header-secret-value-123', SECRET, SECRET.slice(6)]) assert.ok(!text.includes(secret), secret);
    assert.ok(text.includes('****1234'));
    assert.equal(presentWebhook(w).created_at, new Date(now).toISOString());
  });
});

describe('signing secret rotation', () => {
  it('keeps the previous secret until its expiry, then only the current one signs', () => {
    const a = [{ secret: 'whsec_a', expires_at: null }];
    const b = rotateSecrets(a, 'whsec_b', 1000, 500);
    assert.deepEqual(liveSecrets(b, 1200).map((s) => s.secret), ['whsec_b', 'whsec_a']);
    assert.deepEqual(liveSecrets(b, 1500).map((s) => s.secret), ['whsec_b']);
    // A second rotation drops what had expired and starts a new grace period for b.
    const c = rotateSecrets(b, 'whsec_c', 2000, 500);
    assert.deepEqual(c, [
      { secret: 'whsec_c', expires_at: null },
      { secret: 'whsec_b', expires_at: 2500 },
    ]);
  });

  it('with no grace period, the old secret stops at once', () => {
    assert.deepEqual(rotateSecrets([{ secret: 'whsec_a', expires_at: null }], 'whsec_b', 1000, 0), [{ secret: 'whsec_b', expires_at: null }]);
  });

  it('accepts only whsec_ plus base64 of 24 to 64 bytes', () => {
    assert.equal(signingSecretProblem(SECRET), null);
    assert.equal(signingSecretProblem('whsec_' + Buffer.alloc(24).toString('base64')), null);
    for (const bad of ['whsec_' + Buffer.alloc(23).toString('base64'), 'whsec_' + Buffer.alloc(65).toString('base64'), 'whsec_not base64!', Buffer.alloc(32).toString('base64'), 42]) {
      assert.notEqual(signingSecretProblem(bad), null, String(bad));
    }
  });
});
