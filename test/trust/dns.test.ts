import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';

/**
 * Hostile-input cases 16 and 17 with a real resolver (issue 15 item 11): Herald runs in a network
 * namespace of this test's own, whose /etc/netns/<name>/resolv.conf points at a DNS server the
 * test runs inside it (test/trust/fixtures/dns-driver.ts, with the dns2 package). A name answering
 * both a public and a private address, and a name whose answer turns from public to 127.0.0.1
 * between saving the webhook and connecting, are both refused when Herald connects: the test call
 * answers 422 and the delivery is logged `blocked`, while a receiver listens on 127.0.0.1 and gets
 * nothing. The namespace has loopback only, so the public address in the answers is never reached.
 * Needs root and iproute2 (`ip netns`); elsewhere the test says why and skips.
 */
const NS = `herald-dns-${process.pid}`;
const ip = (...args: string[]) => spawnSync('ip', args, { encoding: 'utf8' });

const made = ip('netns', 'add', NS);
const skip = made.status === 0 ? false : `cannot create a network namespace (${(made.stderr || made.error?.message || 'ip netns add failed').trim()}): needs root and iproute2`;

describe('DNS answers that change or mix private addresses, with a real resolver', { skip }, () => {
  before(() => {
    mkdirSync(`/etc/netns/${NS}`, { recursive: true });
    writeFileSync(`/etc/netns/${NS}/resolv.conf`, 'nameserver 127.0.0.1\noptions timeout:2 attempts:2\n');
    assert.equal(ip('netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up').status, 0);
  });
  after(() => {
    ip('netns', 'del', NS);
    rmSync(`/etc/netns/${NS}`, { recursive: true, force: true });
  });

  it('refuses both at connect time: the test call answers 422 and the delivery is logged blocked, and nothing reaches 127.0.0.1', () => {
    const run = spawnSync('ip', ['netns', 'exec', NS, process.execPath, '--import', 'tsx', 'test/trust/fixtures/dns-driver.ts'], {
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, HERALD_TEST_BACKEND: '' },
    });
    const line = run.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    assert.ok(line, `the driver reported (exit ${run.status}): ${run.stdout.slice(-2000)} ${run.stderr.slice(-2000)}`);
    const r = JSON.parse(line.slice('RESULT '.length));
    assert.equal(r.error, undefined, r.error);

    // The namespace's resolver answers what the test's DNS server says.
    assert.deepEqual(r.mixed.seenAtSave, ['127.0.0.1', '8.8.8.8']);
    assert.deepEqual(r.rebind.seenAtSave, ['8.8.8.8']);
    assert.deepEqual(r.rebind.seenAtConnect, ['127.0.0.1']);

    for (const [name, s] of [['mixed', r.mixed], ['rebind', r.rebind]] as const) {
      // Saving checks the URL's text only (a DNS answer at save time proves nothing later).
      assert.equal(s.create.status, 201, `${name}: create ${JSON.stringify(s.create)}`);
      assert.equal(s.test.status, 422, `${name}: test call ${JSON.stringify(s.test)}`);
      assert.match(s.test.errors['destinations.0.target_url'][0], /resolves to an address that is a loopback address \(127\.0\.0\.1\)/, name);
      assert.equal(s.attempt.outcome, 'blocked', `${name}: delivery ${JSON.stringify(s.attempt)}`);
      assert.match(s.attempt.reason, /127\.0\.0\.1/, name);
    }
    assert.equal(r.received, 0, 'the receiver on 127.0.0.1 got nothing');
  });
});
