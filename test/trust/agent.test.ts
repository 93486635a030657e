/**
 * The delivery agent against real sockets: the policy is applied to the address actually connected
 * to (hostile-input.md cases 1, 11, 15-17 at connect time, and 22: redirects are never followed).
 * Name resolution is the real resolver, or an injected one where a test needs a name to answer
 * something specific; the policy check runs on either answer the same way.
 */
import assert from 'node:assert/strict';
import { lookup } from 'node:dns/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
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

/**
 * The agent's connections to one origin (agent.ts OriginPool): HERALD_MAX_IN_FLIGHT is the most a
 * receiver ever sees open from Herald, requests beyond it wait their turn (first come, first
 * sent), a free connection is used again before another is opened, and idle ones close.
 */
describe('connections per origin', () => {
  /** A server answering with `handle` on loopback, counting its connections. */
  async function countingServer(handle: (req: IncomingMessage, res: ServerResponse) => void) {
    let connections = 0;
    let open = 0;
    let mostOpen = 0;
    const server: Server = createServer(handle);
    // No Keep-Alive hint (undici would take the server's timeout over the agent's); the server never closes an idle connection itself.
    server.keepAliveTimeout = 0;
    server.on('connection', (socket) => {
      connections++;
      mostOpen = Math.max(mostOpen, ++open);
      socket.on('close', () => open--);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      stats: () => ({ connections, open, mostOpen }),
      close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
    };
  }

  /** A server that answers each request when the test says so, and counts its connections. */
  async function holdingServer() {
    const held: Array<{ path: string; answer: () => void }> = [];
    const arrived: string[] = [];
    const server = await countingServer((req, res) => {
      arrived.push(req.url!);
      req.resume();
      req.on('end', () => held.push({ path: req.url!, answer: () => res.end('ok') }));
    });
    return { ...server, held, arrived, answerAll: () => held.splice(0).forEach((h) => h.answer()) };
  }
  const until = async (what: () => boolean, ms = 5_000) => {
    const end = Date.now() + ms;
    while (!what()) {
      if (Date.now() > end) assert.fail('timed out waiting');
      await new Promise((r) => setTimeout(r, 5));
    }
  };

  it('opens at most `connections` to one origin; the rest wait and are sent in order as connections free', async () => {
    const server = await holdingServer();
    const agent = createDeliveryAgent(loopbackAllowed, { connections: 2 });
    try {
      const answers = [1, 2, 3, 4, 5].map((i) => post(agent, `${server.url}/r${i}`));
      await until(() => server.held.length === 2);
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(server.arrived.sort(), ['/r1', '/r2'], 'only two requests reach the receiver while both connections are busy');
      while (server.arrived.length < 5) {
        server.answerAll();
        await new Promise((r) => setTimeout(r, 20));
      }
      server.answerAll();
      assert.deepEqual((await Promise.all(answers)).map((a) => a.status), [200, 200, 200, 200, 200]);
      assert.deepEqual(server.arrived.slice(2), ['/r3', '/r4', '/r5']);
      assert.equal(server.stats().connections, 2, 'the waiting requests went over the two connections, none opened beyond');
    } finally {
      await agent.close();
      await server.close();
    }
  });

  it('sends one request after another over the connections it has, and closes them once idle for the keep-alive timeout', async () => {
    const server = await holdingServer();
    const agent = createDeliveryAgent(loopbackAllowed, { connections: 8, keepAliveTimeoutMs: 200 });
    try {
      for (let i = 0; i < 10; i++) {
        const answer = post(agent, `${server.url}/s${i}`);
        await until(() => server.held.length === 1);
        server.answerAll();
        assert.equal((await answer).status, 200);
      }
      // undici frees a connection just after its answer is read: the second request can find the
      // first connection not yet free (undici's Pool the same); the rest reuse.
      const used = server.stats().connections;
      assert.ok(used <= 2, `${used} connections for 10 requests one after another`);
      await until(() => server.stats().open === 0, 2_000);
      // The next request opens a new connection.
      const answer = post(agent, `${server.url}/again`);
      await until(() => server.held.length === 1);
      server.answerAll();
      assert.equal((await answer).status, 200);
      assert.equal(server.stats().connections, used + 1);
    } finally {
      await agent.close();
      await server.close();
    }
  });

  /** A server answering each request `delay.ms` after it arrived; counts its connections. */
  async function answeringServer(delayMs: number) {
    const delay = { ms: delayMs };
    const server = await countingServer((req, res) => {
      req.resume();
      req.on('end', () => (delay.ms > 0 ? setTimeout(() => res.end('ok'), delay.ms) : res.end('ok')));
    });
    return { ...server, delay };
  }

  /** Runs `test` against an answering server (`delayMs`) and an agent of 4 fast connections, at most 12. */
  async function pooled(delayMs: number, test: (server: Awaited<ReturnType<typeof answeringServer>>, agent: Dispatcher) => Promise<void>) {
    const server = await answeringServer(delayMs);
    const agent = createDeliveryAgent(loopbackAllowed, { connections: 12, fastConnections: 4 });
    try {
      await test(server, agent);
    } finally {
      await agent.close();
      await server.close();
    }
  }
  const many = (agent: Dispatcher, url: string, n: number) => Promise.all(Array.from({ length: n }, (_, i) => post(agent, `${url}${i}`)));

  it('to a fast receiver, opens no more than the fast connections however many requests wait', () =>
    pooled(0, async (server, agent) => {
      const answers = await many(agent, `${server.url}/f`, 60);
      assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([200]));
      assert.equal(server.stats().connections, 4, 'the 56 waiting requests went over the 4 connections');
    }));

  it('to a receiver that takes 20 ms or more per answer, opens more connections for the waiting requests, up to `connections`', () =>
    pooled(40, async (server, agent) => {
      const answers = await many(agent, `${server.url}/s`, 60);
      assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([200]));
      // 4 at once; once most answers took 40 ms with this process idle, the waiting ones get their own, to the cap.
      assert.equal(server.stats().connections, 12);
      assert.equal(server.stats().mostOpen, 12);
    }));

  it('closes the connections it opened for a slow receiver once the receiver is fast again, down to the fast connections', () =>
    pooled(40, async (server, agent) => {
      await many(agent, `${server.url}/slow`, 60);
      assert.equal(server.stats().open, 12);
      server.delay.ms = 0;
      // A backlog to the now fast receiver keeps every connection busy; the extra ones still close.
      for (let round = 0; round < 100 && server.stats().open > 4; round++) {
        await many(agent, `${server.url}/fast${round}-`, 40);
        await new Promise((r) => setTimeout(r, 5));
      }
      assert.equal(server.stats().open, 4);
    }));

  it('when every connection waits on a receiver that does not answer, the next requests to that origin get connections of their own', async () => {
    const server = await holdingServer();
    const agent = createDeliveryAgent(loopbackAllowed, { connections: 12, fastConnections: 4 });
    try {
      const hung = [1, 2, 3, 4].map((i) => post(agent, `${server.url}/hung${i}`));
      await until(() => server.held.length === 4);
      // Another webhook on the same host: its requests must not wait for the hung ones' deadlines.
      const others = [1, 2].map((i) => post(agent, `${server.url}/other${i}`));
      await until(() => server.held.length === 6, 2_000);
      for (const h of server.held.splice(4)) h.answer();
      assert.deepEqual((await Promise.all(others)).map((a) => a.status), [200, 200]);
      assert.equal(server.stats().connections, 6);
      server.answerAll();
      assert.deepEqual((await Promise.all(hung)).map((a) => a.status), [200, 200, 200, 200]);
    } finally {
      await agent.close();
      await server.close();
    }
  });

  it('does not read answers delayed by its own busy event loop as a slow receiver', () =>
    pooled(0, async (server, agent) => {
      // Each answer is followed by 25 ms of work on this thread: the answers behind it wait for the loop, not the receiver.
      const busy = () => {
        const end = performance.now() + 25;
        while (performance.now() < end);
      };
      const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => post(agent, `${server.url}/b${i}`).then((a) => (busy(), a))));
      assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([200]));
      assert.equal(server.stats().connections, 4);
    }));

  it('after a refused connection, the next request to the origin connects afresh', async () => {
    const server = await holdingServer();
    const port = new URL(server.url).port;
    await server.close();
    const agent = createDeliveryAgent(loopbackAllowed, { connections: 1 });
    try {
      const refused = await refusal(agent, `http://127.0.0.1:${port}/first`);
      assert.equal((refused as { code?: string }).code, 'ECONNREFUSED');
      const again = createServer((req, res) => req.resume().on('end', () => res.end('back')));
      await new Promise<void>((r) => again.listen(Number(port), '127.0.0.1', r));
      try {
        const res = await post(agent, `http://127.0.0.1:${port}/second`);
        assert.deepEqual([res.status, res.body], [200, 'back']);
      } finally {
        again.closeAllConnections();
        await new Promise((r) => again.close(r));
      }
    } finally {
      await agent.close();
    }
  });

  it('close() lets requests in flight and waiting finish; destroy() fails the waiting ones', async () => {
    const server = await holdingServer();
    const agent = createDeliveryAgent(loopbackAllowed, { connections: 1 });
    try {
      const answers = [1, 2, 3].map((i) => post(agent, `${server.url}/c${i}`));
      await until(() => server.held.length === 1);
      const closed = agent.close();
      while (server.arrived.length < 3) {
        server.answerAll();
        await new Promise((r) => setTimeout(r, 20));
      }
      server.answerAll();
      assert.deepEqual((await Promise.all(answers)).map((a) => a.status), [200, 200, 200]);
      await closed;

      const other = createDeliveryAgent(loopbackAllowed, { connections: 1 });
      const failing = [1, 2].map((i) => post(other, `${server.url}/d${i}`).then(() => 'answered', (err: Error) => err.name));
      await until(() => server.arrived.length === 4);
      await other.destroy();
      assert.deepEqual(await Promise.all(failing), ['ClientDestroyedError', 'ClientDestroyedError']);
      assert.deepEqual(server.arrived.slice(3), ['/d1'], 'the waiting request was never sent');
    } finally {
      await server.close();
    }
  });
});
