/**
 * The delivery agent against real sockets: the policy is applied to the address actually connected
 * to (hostile-input.md cases 1, 11, 15-17 at connect time, and 22: redirects are never followed).
 * Name resolution is the real resolver, or an injected one where a test needs a name to answer
 * something specific; the policy check runs on either answer the same way.
 */
import assert from 'node:assert/strict';
import { lookup } from 'node:dns/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { request, type Dispatcher } from 'undici';
import { BLOCKED_TARGET, createDeliveryAgent, type Resolver } from '../../src/delivery/agent.ts';
import { createTargetPolicy } from '../../src/net/target.ts';
import { startReceiver } from '../helpers/receiver.ts';

type Receiver = Awaited<ReturnType<typeof startReceiver>>;

const strict = createTargetPolicy([]);
const loopbackAllowed = createTargetPolicy(['127.0.0.0/8', '::1/128']);

/** A resolver that answers `answers` for every name, one list per call (the last repeats). */
function answering(...answers: string[][]): Resolver {
  let call = 0;
  return async () => {
    const list = answers[Math.min(call++, answers.length - 1)]!;
    return list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
}

async function post(agent: Dispatcher, url: string) {
  const res = await request(url, { dispatcher: agent, method: 'POST', body: '{"hello":"world"}', headers: { 'content-type': 'application/json' } });
  const body = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body };
}

/** The error a refused request fails with. */
async function refusal(agent: Dispatcher, url: string): Promise<{ code?: string; message: string; reason?: string }> {
  try {
    await post(agent, url);
  } catch (err) {
    return err as { code?: string; message: string; reason?: string };
  }
  assert.fail(`expected ${url} to be refused`);
}

describe('the delivery agent', () => {
  let receiver: Receiver;
  const agents: Dispatcher[] = [];
  const agent = (...args: Parameters<typeof createDeliveryAgent>) => {
    const a = createDeliveryAgent(...args);
    agents.push(a);
    return a;
  };

  before(async () => {
    receiver = await startReceiver();
  });
  after(async () => {
    await Promise.all(agents.map((a) => a.close()));
    await receiver.close();
  });

  it('refuses to connect to 127.0.0.1 when loopback is not allowed, and the receiver sees nothing', async () => {
    const before = receiver.received.length;
    const err = await refusal(agent(strict), `${receiver.url}/hook`);
    assert.equal(err.code, BLOCKED_TARGET);
    assert.equal(err.reason, 'is a loopback address (127.0.0.1)');
    assert.match(err.message, /127\.0\.0\.1.*loopback/);
    assert.equal(receiver.received.length, before);
  });

  it('delivers to 127.0.0.1 when the allow-list covers it', async () => {
    const before = receiver.received.length;
    const res = await post(agent(loopbackAllowed), `${receiver.url}/hook`);
    assert.equal(res.status, 200);
    assert.equal(receiver.received.length, before + 1);
    assert.deepEqual(receiver.received.at(-1)!.json, { hello: 'world' });
  });

  it('tells a refused connection apart from a blocked one', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const err = await refusal(agent(loopbackAllowed), `http://127.0.0.1:${port}/`);
    assert.equal(err.code, 'ECONNREFUSED');
  });

  it('refuses localhost by name, even when loopback is allowed', async () => {
    const before = receiver.received.length;
    const err = await refusal(agent(loopbackAllowed), `http://localhost:${receiver.port}/hook`);
    assert.equal(err.code, BLOCKED_TARGET);
    assert.equal(err.reason, 'is a local host name (localhost)');
    assert.equal(receiver.received.length, before);
  });

  it('refuses a name that the system resolver maps to loopback (this machine\'s name in /etc/hosts)', async (t) => {
    const name = hostname();
    const answers = await lookup(name, { all: true }).catch(() => []);
    if (answers.length === 0 || !answers.every((a) => a.address.startsWith('127.') || a.address === '::1')) {
      t.skip(`${name} does not resolve to loopback here`);
      return;
    }
    const before = receiver.received.length;
    const err = await refusal(agent(strict), `http://${name}:${receiver.port}/hook`);
    assert.equal(err.code, BLOCKED_TARGET);
    assert.match(err.reason!, /^resolves to an address that is a loopback address/);
    assert.equal(receiver.received.length, before);
    // The same name through the same real resolver connects once loopback is allowed.
    const ok = await post(agent(loopbackAllowed), `http://${name}:${receiver.port}/hook`);
    assert.equal(ok.status, 200);
    assert.equal(receiver.received.length, before + 1);
  });

  it('refuses a name that resolves to loopback (localtest.me, nip.io)', async () => {
    const before = receiver.received.length;
    const resolve = answering(['127.0.0.1']);
    for (const name of ['localtest.me', '127.0.0.1.nip.io']) {
      const err = await refusal(agent(strict, { resolve }), `http://${name}:${receiver.port}/hook`);
      assert.equal(err.code, BLOCKED_TARGET);
      assert.equal(err.reason, 'resolves to an address that is a loopback address (127.0.0.1)');
    }
    assert.equal(receiver.received.length, before);
  });

  it('refuses a name that resolves to both a public and a private address', async () => {
    const before = receiver.received.length;
    const err = await refusal(agent(strict, { resolve: answering(['93.184.216.34', '127.0.0.1']) }), `http://mixed.example:${receiver.port}/`);
    assert.equal(err.code, BLOCKED_TARGET);
    assert.equal(err.reason, 'resolves to an address that is a loopback address (127.0.0.1)');
    // Even when the private one is allowed, a name mixing in a forbidden address is refused.
    const err2 = await refusal(
      agent(createTargetPolicy(['127.0.0.1/32']), { resolve: answering(['127.0.0.1', '10.0.0.1']) }),
      `http://mixed.example:${receiver.port}/`,
    );
    assert.equal(err2.code, BLOCKED_TARGET);
    assert.equal(err2.reason, 'resolves to an address that is a private address (10.0.0.1)');
    assert.equal(receiver.received.length, before);
  });

  it('refuses metadata addresses even when the allow-list covers them', async () => {
    const allowAll = createTargetPolicy(['0.0.0.0/0', '::/0']);
    for (const url of ['http://169.254.169.254/latest/meta-data/', 'http://100.100.100.200/', 'http://[fd00:ec2::254]/']) {
      const err = await refusal(agent(allowAll), url);
      assert.equal(err.code, BLOCKED_TARGET, url);
      assert.match(err.reason!, /^is a cloud metadata address/);
    }
    const byName = await refusal(agent(allowAll, { resolve: answering(['169.254.169.254']) }), 'http://innocent.example/');
    assert.equal(byName.code, BLOCKED_TARGET);
    assert.equal(byName.reason, 'resolves to an address that is a cloud metadata address (169.254.169.254)');
    const metadataName = await refusal(agent(allowAll), 'http://metadata.google.internal/computeMetadata/v1/');
    assert.equal(metadataName.code, BLOCKED_TARGET);
    assert.equal(metadataName.reason, 'is a cloud metadata host name (metadata.google.internal)');
  });
});

describe('DNS rebinding', () => {
  let allowed: Receiver;
  let forbidden: Server;
  let forbiddenHits = 0;
  let agent: Dispatcher;
  let bound = true;

  before(async () => {
    allowed = await startReceiver((_req, res) => {
      // A new connection per request, so each request resolves the name again.
      res.setHeader('connection', 'close');
    });
    // A second receiver on the same port of another loopback address: where the rebound name points.
    forbidden = createServer((_req, res) => {
      forbiddenHits++;
      res.end();
    });
    await new Promise<void>((resolve) => {
      forbidden.once('error', () => ((bound = false), resolve()));
      forbidden.listen(allowed.port, '127.0.0.2', resolve);
    });
    agent = createDeliveryAgent(createTargetPolicy(['127.0.0.1/32']), { resolve: answering(['127.0.0.1'], ['127.0.0.2']) });
  });
  after(async () => {
    await agent.close();
    await allowed.close();
    if (bound) await new Promise<void>((r) => forbidden.close(() => r()));
  });

  it('checks the answer of each connection\'s own lookup: a name rebound to a forbidden address is refused', async () => {
    const url = `http://rebind.example:${allowed.port}/hook`;
    const first = await post(agent, url);
    assert.equal(first.status, 200);
    assert.equal(allowed.received.length, 1);
    const err = await refusal(agent, url);
    assert.equal(err.code, BLOCKED_TARGET);
    assert.equal(err.reason, 'resolves to an address that is a loopback address (127.0.0.2)');
    assert.equal(allowed.received.length, 1);
    assert.equal(forbiddenHits, 0);
  });
});

describe('redirects', () => {
  let origin: Receiver;
  let elsewhere: Receiver;
  let agent: Dispatcher;

  before(async () => {
    elsewhere = await startReceiver();
    origin = await startReceiver((req, res) => {
      res.statusCode = req.url === '/302' ? 302 : 307;
      res.setHeader('location', `${elsewhere.url}/stolen`);
    });
    agent = createDeliveryAgent(loopbackAllowed);
  });
  after(async () => {
    await agent.close();
    await origin.close();
    await elsewhere.close();
  });

  for (const status of [302, 307]) {
    it(`does not follow a ${status}: the redirect target sees nothing`, async () => {
      const res = await request(`${origin.url}/${status}`, {
        dispatcher: agent,
        method: 'POST',
        body: '{}',
        headers: { authorization: 'Basic c2VjcmV0OnNlY3JldA==' },
      });
      await res.body.dump();
      assert.equal(res.statusCode, status);
      assert.equal(res.headers.location, `${elsewhere.url}/stolen`);
      assert.equal(elsewhere.received.length, 0);
    });
  }
});
