/**
 * Destinations beyond HTTP (issue 20, acceptance 1): RabbitMQ, NATS JetStream and Redis Streams on
 * 127.0.0.1, the shared brokers. Each kind receives every event, in order per entity, signed; with
 * the broker "stopped" (a TCP proxy of the test's own in front of it, closed and reopened, so the
 * shared broker is never touched) attempts fail with the reason and are retried, and nothing is
 * lost once it is back. Names (exchange, queue, subject, stream) are unique per test.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import amqp from 'amqplib';
import { connect as natsConnect, type NatsConnection } from 'nats';
import { createClient } from 'redis';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { createWebhook, emit, executions, until, type Stack } from '../helpers/engine.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';

const AMQP_PORT = 5672;
const NATS_PORT = 4222;
const REDIS_PORT = 6379;

/** What a test reads back from a broker: one message with its body and headers. */
interface Got {
  body: string;
  headers: Record<string, string>;
}

/** A destination kind as the tests drive it: where to point Herald, and how to read what arrived. */
interface Kind {
  name: string;
  port: number;
  /** Prepares the broker side (names unique to this run); returns the target URL for a proxy port. */
  setup(): Promise<{ url(port: number): string; received(): Promise<Got[]>; cleanup(): Promise<void> }>;
}

const rand = () => randomBytes(5).toString('hex');

const rabbit: Kind = {
  name: 'RabbitMQ (amqp://)',
  port: AMQP_PORT,
  async setup() {
    const id = rand();
    const exchange = `herald-test-${id}`;
    const queue = `herald-test-q-${id}`;
    const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${AMQP_PORT}`);
    const ch = await conn.createChannel();
    await ch.assertExchange(exchange, 'direct', { durable: false, autoDelete: false });
    await ch.assertQueue(queue, { durable: false });
    await ch.bindQueue(queue, exchange, 'content');
    const got: Got[] = [];
    await ch.consume(queue, (m) => {
      if (!m) return;
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(m.properties.headers ?? {})) headers[k] = String(v);
      got.push({ body: m.content.toString(), headers: { ...headers, 'x-message-id': String(m.properties.messageId), 'x-content-type': String(m.properties.contentType) } });
      ch.ack(m);
    });
    return {
      url: (port) => `amqp://guest:guest@127.0.0.1:${port}/?exchange=${exchange}&routing_key=content`,
      received: async () => got,
      cleanup: async () => {
        await ch.deleteQueue(queue).catch(() => {});
        await ch.deleteExchange(exchange).catch(() => {});
        await conn.close();
      },
    };
  },
};

const nats: Kind = {
  name: 'NATS JetStream (nats://)',
  port: NATS_PORT,
  async setup() {
    const id = rand();
    const stream = `HERALD_TEST_${id}`;
    const subject = `herald.test.${id}`;
    const nc: NatsConnection = await natsConnect({ servers: `127.0.0.1:${NATS_PORT}` });
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: stream, subjects: [subject] });
    return {
      url: (port) => `nats://127.0.0.1:${port}?subject=${subject}`,
      received: async () => {
        const info = await jsm.streams.info(stream);
        const out: Got[] = [];
        for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
          const m = await jsm.streams.getMessage(stream, { seq });
          const headers: Record<string, string> = {};
          for (const k of m.header?.keys() ?? []) headers[k.toLowerCase()] = m.header!.get(k);
          out.push({ body: new TextDecoder().decode(m.data), headers });
        }
        return out;
      },
      cleanup: async () => {
        await jsm.streams.delete(stream).catch(() => {});
        await nc.close();
      },
    };
  },
};

const redis: Kind = {
  name: 'Redis Streams (redis://)',
  port: REDIS_PORT,
  async setup() {
    const key = `herald:test:${rand()}`;
    const client = createClient({ socket: { host: '127.0.0.1', port: REDIS_PORT } });
    await client.connect();
    return {
      url: (port) => `redis://127.0.0.1:${port}/0?stream=${encodeURIComponent(key)}&maxlen=1000`,
      received: async () => {
        const entries = await client.xRange(key, '-', '+');
        return entries.map((e) => {
          const { body, ...headers } = e.message as Record<string, string>;
          return { body: body!, headers };
        });
      },
      cleanup: async () => {
        await client.del(key);
        await client.close();
      },
    };
  },
};

for (const kind of [rabbit, nats, redis]) {
  describe(`destination ${kind.name}`, () => {
    let h: TestHerald;
    let proxy: TcpProxy;
    let broker: Awaited<ReturnType<Kind['setup']>>;
    let stack: Stack;
    before(async () => {
      // Retries every 300 ms, many times: the outage below lasts a few of them.
      h = await startHerald({ retryDelaysMs: Array(40).fill(300), deliveryTimeoutMs: 5_000 });
      proxy = await startTcpProxy(kind.port);
      broker = await kind.setup();
      stack = await h.newStack();
    });
    after(async () => {
      await h.close();
      await proxy.close();
      await broker.cleanup();
    });

    it('receives every event, in order per entity, signed; survives the broker going away', async () => {
      const hook = await createWebhook(h, stack, broker.url(proxy.port));
      const verifier = new StandardWebhook(hook.signing_secret);
      const entities = ['bltentrya0001', 'bltentryb0002', 'bltentryc0003'];
      const sent: number[] = [];
      // Interleaved changes of three entries.
      for (let i = 0; i < 4; i++) for (const uid of entities) sent.push((await emit(h, stack, { uid, data: { entry: { uid, title: `v${i}` } } })).seq);

      let got = await until(async () => {
        const g = await broker.received();
        return g.length >= sent.length ? g : null;
      }, 20_000, `${sent.length} messages`);
      checkMessages(got!, sent, entities, verifier);

      // The broker goes away: attempts fail with the reason, and are retried on the schedule.
      await proxy.stop();
      const during: number[] = [];
      for (const uid of entities) during.push((await emit(h, stack, { uid, data: { entry: { uid, title: 'during the outage' } } })).seq);
      const failing = await until(async () => {
        const list = await executions(h, stack, hook.uid);
        const x = list.find((e) => e.seq === during[0]);
        return x && x.state === 'pending' && x.attempts >= 2 && x.outcome === 'refused' ? x : null;
      }, 20_000, 'failed attempts while the broker is away');
      assert.equal(failing.outcome, 'refused');
      assert.match(failing.reason, /connection refused/);
      assert.match(failing.reason, new RegExp(`127\\.0\\.0\\.1:${proxy.port}`));
      // (An attempt under way when the connection was cut fails as network or timeout: also retried.)
      for (const a of failing.request_details) assert.ok(['refused', 'network', 'timeout'].includes(a.outcome) && a.reason, JSON.stringify(a));

      // Back: every event arrives, none lost, each once (at-least-once never sent one twice here).
      await proxy.start();
      got = await until(async () => {
        const g = await broker.received();
        return g.length >= sent.length + during.length ? g : null;
      }, 30_000, 'every message after the outage');
      checkMessages(got!, [...sent, ...during], entities, verifier);
      const done = await until(async () => {
        const list = await executions(h, stack, hook.uid);
        return list.length === sent.length + during.length && list.every((x) => x.state === 'succeeded') ? list : null;
      }, 10_000, 'every execution succeeded');
      assert.equal(done!.length, sent.length + during.length);
      // The log shows where each attempt went, the password masked.
      for (const x of done!) for (const a of x.request_details) assert.ok(!String(a.request.url).includes(':guest@'), a.request.url);
    });

    it('shows the URL with its password masked, and keeps it when the masked URL is sent back', async () => {
      if (kind === nats) return; // the shared NATS server has no users; the token form is tested in unit tests
      const url = kind === rabbit ? broker.url(proxy.port) : broker.url(proxy.port).replace('redis://', 'redis://default:redis-secret-0123456789@');
      const hook = await createWebhook(h, stack, url, { disabled: true });
      const got = await h.request('GET', `/v3/webhooks/${hook.uid}`, { headers: { api_key: stack.api_key, authorization: stack.token } });
      const shown = got.body.webhook.destinations[0].target_url as string;
      assert.ok(!shown.includes(kind === rabbit ? 'guest:guest' : 'redis-secret-0123456789'), shown);
      assert.match(shown, /:\*\*\*\*(\w{4})?@/);
      // Sent back as shown (a client that fetched, then updated): the stored password stays.
      const back = await h.request('PUT', `/v3/webhooks/${hook.uid}`, {
        headers: { api_key: stack.api_key, authorization: stack.token },
        body: { webhook: { destinations: [{ target_url: shown, custom_header: [] }] } },
      });
      assert.equal(back.status, 200, JSON.stringify(back.body));
      const row = await h.herald.db.get<{ doc: string }>('SELECT doc FROM webhooks WHERE uid = ?', [hook.uid]);
      assert.equal(JSON.parse(row!.doc).destinations[0].target_url, url);
      // Moved to another host with the mask: refused, naming the field.
      const moved = await h.request('PUT', `/v3/webhooks/${hook.uid}`, {
        headers: { api_key: stack.api_key, authorization: stack.token },
        body: { webhook: { destinations: [{ target_url: shown.replace('127.0.0.1', '127.0.0.2'), custom_header: [] }] } },
      });
      assert.equal(moved.status, 422);
      assert.match(moved.body.errors['destinations.0.target_url'][0], /sent again with its password in full/);
    });
  });
}

/** Every sent event arrived, once, signed, and each entity's events in the order they were made. */
function checkMessages(got: Got[], sent: number[], entities: string[], verifier: StandardWebhook) {
  const seqs = got.map((g) => JSON.parse(g.body).seq as number);
  assert.deepEqual([...new Set(seqs)].sort((a, b) => a - b), [...sent].sort((a, b) => a - b), 'every event, each once');
  assert.equal(new Set(got.map((g) => g.headers['webhook-id'])).size, got.length, 'no delivery twice');
  for (const g of got) {
    verifier.verify(g.body, g.headers);
    const body = JSON.parse(g.body);
    assert.equal(g.headers['x-herald-seq'], String(body.seq));
    assert.equal(g.headers['x-herald-event'], 'entry.update');
  }
  for (const uid of entities) {
    const mine = got.map((g) => JSON.parse(g.body)).filter((b) => b.data.entry.uid === uid).map((b) => b.seq as number);
    assert.deepEqual(mine, [...mine].sort((a, b) => a - b), `events of ${uid} in order`);
  }
}

describe('a broker that refuses the message fails the attempt as rejected, with its words', () => {
  let h: TestHerald;
  let stack: Stack;
  before(async () => {
    h = await startHerald({ retryDelaysMs: [] });
    stack = await h.newStack();
  });
  after(() => h.close());

  async function testCall(url: string) {
    const hook = await createWebhook(h, stack, url, { disabled: true });
    const r = await h.request('POST', `/v3/webhooks/${hook.uid}/test`, { headers: { api_key: stack.api_key, authorization: stack.token } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.test as { outcome: string; reason: string | null };
  }

  it('NATS: no stream for the subject', async () => {
    const t = await testCall(`nats://127.0.0.1:${NATS_PORT}?subject=herald.nostream.${rand()}`);
    assert.equal(t.outcome, 'rejected');
    assert.match(t.reason!, /no JetStream stream takes subject/);
  });

  it('RabbitMQ: an exchange with no queue bound (unroutable), and an exchange that does not exist', async () => {
    const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${AMQP_PORT}`);
    const ch = await conn.createChannel();
    const exchange = `herald-test-lonely-${rand()}`;
    await ch.assertExchange(exchange, 'direct', { durable: false });
    try {
      const lonely = await testCall(`amqp://guest:guest@127.0.0.1:${AMQP_PORT}/?exchange=${exchange}&routing_key=nobody`);
      assert.equal(lonely.outcome, 'rejected');
      assert.match(lonely.reason!, /no queue took the message/);
      const missing = await testCall(`amqp://guest:guest@127.0.0.1:${AMQP_PORT}/?exchange=herald-test-missing-${rand()}&routing_key=x`);
      assert.equal(missing.outcome, 'rejected');
      assert.match(missing.reason!, /NOT_FOUND - no exchange/);
      const creds = await testCall(`amqp://guest:wrong-password@127.0.0.1:${AMQP_PORT}/?routing_key=x`);
      assert.equal(creds.outcome, 'rejected');
      assert.match(creds.reason!, /refused the credentials/);
      assert.ok(!creds.reason!.includes('wrong-password'));
    } finally {
      await ch.deleteExchange(exchange).catch(() => {});
      await conn.close();
    }
  });

  it('Redis: a key of another type', async () => {
    const key = `herald:test:string:${rand()}`;
    const client = createClient({ socket: { host: '127.0.0.1', port: REDIS_PORT } });
    await client.connect();
    await client.set(key, 'not a stream');
    try {
      const t = await testCall(`redis://127.0.0.1:${REDIS_PORT}/0?stream=${encodeURIComponent(key)}`);
      assert.equal(t.outcome, 'rejected');
      assert.match(t.reason!, /WRONGTYPE/);
    } finally {
      await client.del(key);
      await client.close();
    }
  });

  it('a broker that is not there: connection refused', async () => {
    const proxy = await startTcpProxy(REDIS_PORT);
    const port = proxy.port;
    await proxy.close();
    const t = await testCall(`redis://127.0.0.1:${port}/0?stream=x`);
    assert.equal(t.outcome, 'refused');
    assert.match(t.reason!, new RegExp(`Redis at 127\\.0\\.0\\.1:${port}: connection refused`));
  });
});
