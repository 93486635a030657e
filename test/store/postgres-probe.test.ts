import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer, connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { probePostgres, skipWithoutPostgres, TEST_DATABASE_URL } from '../helpers/postgres.ts';

/**
 * The check that decides whether PostgreSQL tests run: a reachable server is never skipped, even
 * when it is slow to accept (a loaded machine), and with HERALD_REQUIRE_POSTGRES=1 an unreachable
 * one fails the run instead of skipping.
 */
describe('the PostgreSQL reachability check of the tests', async () => {
  const skip = await skipWithoutPostgres();

  it('waits for a server that takes seconds to accept instead of calling it unreachable', { skip }, async () => {
    // A proxy in front of the server that holds each connection 4 s before passing it on, as a
    // server under load does (the old check gave up after 3 s).
    const target = new URL(TEST_DATABASE_URL);
    const sockets = new Set<Socket>();
    const proxy = createServer((client) => {
      sockets.add(client);
      client.pause();
      setTimeout(() => {
        const upstream = connect(Number(target.port || 5432), target.hostname);
        sockets.add(upstream);
        upstream.on('error', () => client.destroy());
        client.on('error', () => upstream.destroy());
        client.pipe(upstream).pipe(client);
        client.resume();
      }, 4_000);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    try {
      const slow = new URL(TEST_DATABASE_URL);
      slow.hostname = '127.0.0.1';
      slow.port = String((proxy.address() as AddressInfo).port);
      assert.equal(await probePostgres(slow.toString()), null);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => proxy.close(r));
    }
  });

  it('fails the run when the server is unreachable and HERALD_REQUIRE_POSTGRES=1, and skips saying why without it', () => {
    // Not as a subtest of this run: the child reports on its own.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const run = (required: boolean) =>
      spawnSync(process.execPath, ['--import', 'tsx', '--test', 'test/store/fixtures/needs-postgres.ts'], {
        encoding: 'utf8',
        timeout: 60_000,
        // Port 1 on loopback: nothing listens there.
        env: { ...env, HERALD_TEST_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/test', HERALD_REQUIRE_POSTGRES: required ? '1' : '' },
      });
    const optional = run(false);
    assert.equal(optional.status, 0, optional.stdout + optional.stderr);
    assert.match(optional.stdout, /# SKIP PostgreSQL unreachable: .*127\.0\.0\.1:1/);
    const required = run(true);
    assert.notEqual(required.status, 0, 'the run fails');
    assert.match(required.stdout, /not ok 1 - uses PostgreSQL/);
    assert.match(required.stdout, /unreachable|ECONNREFUSED/);
  });
});
