import assert from 'node:assert/strict';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { stuckReason } from '../../src/ops/readiness.ts';
import type { DispatcherStatus } from '../../src/delivery/dispatcher.ts';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { createWebhook, emit, executions, until } from '../helpers/engine.ts';
import { freshSchema, skipWithoutPostgres } from '../helpers/postgres.ts';

const NOW = 1_000_000_000;
const running = (over: Partial<DispatcherStatus> = {}): DispatcherStatus => ({ running: true, inFlight: 0, freeSlots: 256, lastRoundAt: NOW, ...over });

describe('readiness policy', () => {
  it('calls a dispatcher stuck only when due work waited, slots were free and no round completed, all for longer than the limit', () => {
    const stale = running({ lastRoundAt: NOW - 90_000 });
    assert.match(stuckReason(stale, NOW - 61_000, NOW, 60_000)!, /the dispatcher is stuck: due deliveries have waited 61s with 256 free slots, and it completed no round for 90s/);
    assert.equal(stuckReason(stale, null, NOW, 60_000), null, 'nothing due');
    assert.equal(stuckReason(stale, NOW - 59_000, NOW, 60_000), null, 'due work young enough');
    assert.equal(stuckReason(running({ lastRoundAt: NOW - 1000 }), NOW - 61_000, NOW, 60_000), null, 'rounds keep completing (work held by per-webhook caps)');
    assert.equal(stuckReason({ ...stale, freeSlots: 0, inFlight: 256 }, NOW - 61_000, NOW, 60_000), null, 'busy, not stuck');
    assert.equal(stuckReason({ ...stale, running: false }, NOW - 61_000, NOW, 60_000), null, 'stopped (shutting down)');
  });
});

describe('GET /healthz and /readyz', () => {
  let h: TestHerald;
  before(async () => {
    // SQLite: the test holds its single writer to stall the dispatcher.
    h = await startHerald({ backend: 'sqlite', stuckAfterMs: 200, retryDelaysMs: [100] });
  });
  after(() => h.close());

  it('answers liveness with a constant, and readiness with its checks', async () => {
    const live = await h.request('GET', '/healthz');
    assert.equal(live.status, 200);
    assert.deepEqual(live.body, { status: 'ok' });
    const ready = await h.request('GET', '/readyz');
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.body, { status: 'ready', reasons: [], checks: { store: 'ok', dispatcher: 'ok', disk: 'ok' } });
  });

  it('fails readiness with a reason while the dispatcher is stuck, and recovers once it moves', async () => {
    const down = await startReceiver();
    await down.close(); // refused: the attempt fails and a retry is due 100 ms later
    const stack = await h.newStack();
    const hook = await createWebhook(h, stack, down.url);
    await emit(h, stack, { uid: 'bltStuck1', action: 'publish' });
    await until(async () => (await executions(h, stack, hook.uid))[0]?.attempts === 1, 5000, 'the first attempt');
    // A transaction that never ends (a stand-in for a hung write) holds SQLite's one writer: the
    // dispatcher's next claim waits behind it, while due work ages.
    let release!: () => void;
    const held = h.herald.db.tx(() => new Promise<void>((r) => (release = r)));
    try {
      const stuck = (await until(async () => {
        const r = await h.request('GET', '/readyz');
        return r.status === 503 ? r : null;
      }, 10_000, 'readiness to fail'))!;
      assert.equal(stuck.body.status, 'not ready');
      assert.equal(stuck.body.checks.dispatcher, 'stuck');
      assert.equal(stuck.body.checks.store, 'ok');
      assert.match(stuck.body.reasons[0], /^the dispatcher is stuck: due deliveries have waited \d+ms with \d+ free slots/);
      assert.equal((await h.request('GET', '/healthz')).status, 200, 'liveness is unaffected');
    } finally {
      release();
      await held;
    }
    await until(async () => (await h.request('GET', '/readyz')).status === 200, 10_000, 'readiness to recover');
  });

  it('fails readiness when the store is unreachable (SQLite: its handle closed)', async () => {
    const other = await startHerald({ backend: 'sqlite' });
    try {
      await other.herald.db.close();
      const r = await other.request('GET', '/readyz');
      assert.equal(r.status, 503);
      assert.equal(r.body.checks.store, 'failed');
      assert.match(r.body.reasons[0], /^the store is unreachable: /);
    } finally {
      await other.close().catch(() => {});
    }
  });
});

/** A TCP proxy to PostgreSQL that the test can cut and restore, on a fixed port once chosen. */
async function startProxy(target: URL) {
  const sockets = new Set<Socket>();
  let server: Server;
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server = createServer((client) => {
        const upstream = createConnection(Number(target.port || 5432), target.hostname);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => {});
        }
        client.pipe(upstream).pipe(client);
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
    });
  const port = await listen(0);
  return {
    port,
    /** Stops listening and drops every open connection: the database is unreachable. */
    async cut() {
      const closed = new Promise<void>((r) => server.close(() => r()));
      for (const s of sockets) s.destroy();
      await closed;
    },
    restore: () => listen(port),
    async close() {
      if (server.listening) await this.cut();
    },
  };
}

describe('GET /readyz on PostgreSQL', async () => {
  const skip = await skipWithoutPostgres();
  it('fails while the database cannot be reached and recovers when it can', { skip }, async () => {
    const schema = await freshSchema();
    const target = new URL(schema.url);
    const proxy = await startProxy(target);
    const viaProxy = new URL(schema.url);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    const h = await startHerald({ databaseUrl: viaProxy.toString() });
    try {
      assert.equal((await h.request('GET', '/readyz')).status, 200);
      await proxy.cut();
      const r = (await until(async () => {
        const res = await h.request('GET', '/readyz');
        return res.status === 503 ? res : null;
      }, 10_000, 'readiness to fail'))!;
      assert.equal(r.body.checks.store, 'failed');
      assert.match(r.body.reasons[0], /^the store is unreachable: /);
      await proxy.restore();
      await until(async () => (await h.request('GET', '/readyz')).status === 200, 15_000, 'readiness to recover');
    } finally {
      await h.close(1000).catch(() => {});
      await proxy.close();
      await schema.drop();
    }
  });

  it('a worker process answers /healthz, /readyz and /metrics (behind its token), and nothing else', { skip }, async () => {
    const w = await startHerald({ backend: 'postgres', role: 'worker', metricsToken: 'worker-metrics-token-0123' });
    try {
      assert.deepEqual((await w.request('GET', '/healthz')).body, { status: 'ok', role: 'worker' });
      const ready = await w.request('GET', '/readyz');
      assert.equal(ready.status, 200);
      assert.deepEqual(ready.body.checks, { store: 'ok', dispatcher: 'ok' });
      assert.equal((await w.request('GET', '/metrics')).status, 401);
      const m = await w.request('GET', '/metrics', { headers: { authorization: 'Bearer worker-metrics-token-0123' } });
      assert.equal(m.status, 200);
      assert.match(m.body, /herald_in_flight_attempts 0/);
      assert.equal((await w.request('GET', '/v3/webhooks')).status, 404);
    } finally {
      await w.close();
    }
  });
});
