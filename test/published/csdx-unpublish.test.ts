import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { runTool, testCertificate, toolEnv } from '../helpers/https.ts';

/**
 * Issue 17, acceptance 4: `csdx cm:entries:unpublish` works against Herald. The command reads what
 * an environment has published through the sync API with `contentstack` 3.x, which always connects
 * to port 443 of the CDA host, whatever port the host was given: Herald must answer on 443. This
 * machine's 443 is not ours to take, so Herald and csdx run in a network namespace of this test's
 * own (loopback only), driven by test/published/fixtures/csdx-unpublish-driver.ts. Both ways the
 * command unpublishes are run: the bulk API (POST /v3/bulk/unpublish, its default) and one call per
 * entry.
 * Needs root and iproute2 (`ip netns`); elsewhere the test says why and skips.
 */
const ip = (...args: string[]) => spawnSync('ip', args, { encoding: 'utf8' });
const probe = `herald-csdx-${process.pid}`;
const made = ip('netns', 'add', probe);
ip('netns', 'del', probe);
const skip = made.status === 0 ? false : `cannot create a network namespace (${(made.stderr || made.error?.message || 'ip netns add failed').trim()}): needs root and iproute2`;
const namespaces: string[] = [];

/** A namespace of its own per run (each Herald takes 443 in it), loopback up. */
function namespace(): string {
  const ns = `herald-csdx-${process.pid}-${namespaces.length}`;
  assert.equal(ip('netns', 'add', ns).status, 0);
  namespaces.push(ns);
  assert.equal(ip('netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up').status, 0);
  return ns;
}

/** Runs the driver in the namespace (without blocking this process) and returns its RESULT. */
async function drive(bulk: boolean): Promise<any> {
  const tls = testCertificate();
  const env = toolEnv({ env: { HERALD_TLS_CERT: tls.certFile, HERALD_TLS_KEY: tls.keyFile, CSDX_BULK: String(bulk), HERALD_TEST_BACKEND: '' } });
  const run = await runTool('ip', ['netns', 'exec', namespace(), process.execPath, '--import', 'tsx', 'test/published/fixtures/csdx-unpublish-driver.ts'], { env, timeoutMs: 300_000 });
  const line = run.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  assert.ok(line, `the driver reported (exit ${run.code}): ${run.stdout.slice(-3000)} ${run.stderr.slice(-3000)}`);
  const r = JSON.parse(line.slice('RESULT '.length));
  assert.equal(r.error, undefined, `${r.error}\n${JSON.stringify(r.runs?.unpublish ?? {}).slice(0, 3000)}`);
  return r;
}

function assertUnpublished(r: any) {
  for (const [step, run] of Object.entries(r.runs) as [string, { code: number; stdout: string; stderr: string }][]) {
    assert.equal(run.code, 0, `csdx ${step} exited ${run.code}: ${run.stdout.slice(-2000)} ${run.stderr.slice(-2000)}`);
  }
  const out = r.runs.unpublish.stdout + r.runs.unpublish.stderr;
  assert.doesNotMatch(out, /\b(error|failed)\b/i, `csdx logged an error: ${out.slice(-2000)}`);
  // Every post is gone from production; the page (another content type) stays; staging keeps all.
  assert.deepEqual(r.production.post, [], 'production has no post left');
  assert.deepEqual(r.production.page, [r.expected.page], 'the page was not unpublished');
  assert.deepEqual(r.staging.post, [...r.expected.both, r.expected.stagingOnly].sort(), 'staging still has every post');
  // The production unpublish webhook got one call per post, each naming production.
  assert.deepEqual(r.calls.map((c: any) => c.uid).sort(), r.expected.both);
  for (const c of r.calls) {
    assert.equal(c.event, 'unpublish');
    assert.equal(c.environment, 'production');
  }
}

describe('csdx cm:entries:unpublish against Herald on port 443', { skip }, () => {
  after(() => {
    for (const ns of namespaces) ip('netns', 'del', ns);
  });

  it('through the bulk API (its default): every post leaves production, nothing else changes, the webhook hears each', async () => {
    assertUnpublished(await drive(true));
  });

  it('one unpublish call per entry (--bulk-unpublish false): the same', async () => {
    assertUnpublished(await drive(false));
  });
});
