/**
 * Destination kinds by URL scheme (pure parsing and the API's refusals): options, unknown options
 * named in a 422, credentials masked, endpoint auth refused where it cannot apply.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTarget, presentTargetUrl, targetOrigin, urlSecret, withUrlSecret } from '../../src/webhooks/targets.ts';
import { parseWebhookBody } from '../../src/webhooks/validate.ts';
import { createTargetPolicy } from '../../src/net/target.ts';
import { HeraldError } from '../../src/errors.ts';

const policy = createTargetPolicy(['127.0.0.0/8']);

function problems(destination: Record<string, unknown>): Record<string, string[]> {
  try {
    parseWebhookBody({ webhook: { name: 'x', channels: ['*.*'], destinations: [destination] } }, { policy, now: Date.now() });
  } catch (err) {
    assert.ok(err instanceof HeraldError);
    return err.errors ?? {};
  }
  return {};
}

describe('destination kinds: parsing a target URL', () => {
  it('reads each kind and its options, with the default ports', () => {
    assert.deepEqual(parseTarget('amqp://u:p%40ss@rabbit.example/prod?exchange=content&routing_key=entries'), {
      kind: 'amqp', host: 'rabbit.example', port: 5672, username: 'u', password: 'p@ss', vhost: 'prod', exchange: 'content', routing_key: 'entries',
    });
    assert.equal((parseTarget('amqp://rabbit.example?routing_key=q') as { vhost: string }).vhost, '/');
    assert.equal((parseTarget('amqp://rabbit.example/%2F?routing_key=q') as { vhost: string }).vhost, '/');
    assert.deepEqual(parseTarget('nats://s3cret-token@nats.example?subject=cms.events'), {
      kind: 'nats', host: 'nats.example', port: 4222, username: '', password: '', token: 's3cret-token', subject: 'cms.events',
    });
    assert.deepEqual(parseTarget('redis://:pw@10.0.0.5:6380/2?stream=cms%3Aevents&maxlen=5000'), {
      kind: 'redis', host: '10.0.0.5', port: 6380, username: '', password: 'pw', db: 2, stream: 'cms:events', maxlen: 5000,
    });
    assert.deepEqual(parseTarget('https://hooks.example/x'), { kind: 'http' });
  });

  it('names unknown and missing options', () => {
    const p = (url: string) => (parseTarget(url) as { problem: string }).problem;
    assert.equal(p('amqp://h?exchange=x&routing_key=y&durable=1&ttl=5'), 'has unknown options "durable", "ttl" for amqp (known: exchange, routing_key)');
    assert.equal(p('nats://h?subject=a&queue=b'), 'has an unknown option "queue" for nats (known: subject)');
    assert.match(p('nats://h'), /needs the option subject/);
    assert.match(p('nats://h?subject=a.*'), /wildcards/);
    assert.match(p('redis://h/0'), /needs the option stream/);
    assert.match(p('redis://h/x?stream=s'), /database number/);
    assert.match(p('redis://h?stream=s&maxlen=0'), /maxlen/);
    assert.match(p('amqp://h'), /needs exchange or routing_key/);
    assert.match(p('amqp://h?routing_key=a&routing_key=b'), /repeats the option "routing_key"/);
    assert.match(p('kafka://h'), /must use http, https, amqp, nats or redis/);
  });

  it('masks a password or a NATS token wherever the URL is shown, and puts it back', () => {
    const url = 'amqp://herald:a-long-broker-password@rabbit.example/?exchange=x';
    assert.equal(urlSecret(url), 'a-long-broker-password');
    assert.equal(presentTargetUrl(url), 'amqp://herald:****word@rabbit.example/?exchange=x');
    assert.equal(withUrlSecret(presentTargetUrl(url), 'a-long-broker-password'), url);
    assert.equal(presentTargetUrl('nats://tok@nats.example?subject=a'), 'nats://****@nats.example?subject=a');
    assert.equal(presentTargetUrl('redis://nats.example?stream=a'), 'redis://nats.example?stream=a');
    assert.equal(presentTargetUrl('https://hooks.example/x'), 'https://hooks.example/x');
    assert.equal(targetOrigin('amqp://u:p@Rabbit.Example/v?exchange=x'), 'amqp://rabbit.example:5672');
    assert.notEqual(targetOrigin('amqp://h:5672/?exchange=x'), targetOrigin('amqp://h:5673/?exchange=x'));
  });
});

describe('destination kinds: what the API refuses', () => {
  it('names unknown options in a 422', () => {
    const p = problems({ target_url: 'redis://127.0.0.1:6379/0?stream=s&group=g' });
    assert.deepEqual(p['destinations.0.target_url'], ['has an unknown option "group" for redis (known: stream, maxlen)']);
  });

  it('applies the address policy to broker hosts, in any spelling', () => {
    const strict = createTargetPolicy([]);
    for (const url of ['amqp://127.0.0.1/?routing_key=q', 'nats://0x7f.1?subject=a', 'redis://2130706433?stream=s', 'redis://[::1]?stream=s']) {
      try {
        parseWebhookBody({ webhook: { name: 'x', channels: ['*.*'], destinations: [{ target_url: url }] } }, { policy: strict, now: 0 });
        assert.fail(`${url} was accepted`);
      } catch (err) {
        assert.match((err as HeraldError).errors!['destinations.0.target_url']![0]!, /loopback/, url);
      }
    }
    const meta = problems({ target_url: 'redis://169.254.169.254?stream=s' });
    assert.match(meta['destinations.0.target_url']![0]!, /cloud metadata/);
  });

  it('refuses HTTP authentication on a broker destination, naming the field', () => {
    assert.match(problems({ target_url: 'nats://127.0.0.1?subject=a', http_basic_auth: 'u', http_basic_password: 'p' })['destinations.0.http_basic_auth']![0]!, /http and https targets only/);
    assert.match(problems({ target_url: 'amqp://127.0.0.1?routing_key=a', authentication_type: 'OAuth2', access_token_url: 'https://127.0.0.1/token', client_id: 'a', client_secret: 'b' })['destinations.0.authentication_type']![0]!, /http and https targets only/);
  });

  it('refuses a masked password it cannot match to a stored one', () => {
    const p = problems({ target_url: 'amqp://u:****@127.0.0.1/?routing_key=q' });
    assert.match(p['destinations.0.target_url']![0]!, /masked password/);
  });
});
