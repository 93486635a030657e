import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveConfig } from '../../src/config.ts';
import { removeDir, startHerald, type TestHerald } from '../helpers/herald.ts';
import { runTool, startHttpsHerald, testCertificate, toolEnv, type HttpsHerald } from '../helpers/https.ts';

/** The HeraldError message `fn` throws. */
function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.equal((err as { code?: string }).code, 'validation_failed');
    return (err as Error).message;
  }
  assert.fail('expected the configuration to be refused');
}

/** Uploads a small asset over plain HTTP with the given extra headers; returns its `url`. */
async function uploadAsset(h: TestHerald, headers: Record<string, string>): Promise<string> {
  const stack = await h.newStack();
  const form = new FormData();
  form.append('asset[upload]', new Blob(['hello']), 'hello.txt');
  const res = await fetch(`${h.url}/v3/assets`, { method: 'POST', headers: { api_key: stack.api_key, authorization: stack.token, ...headers }, body: form });
  assert.equal(res.status, 201);
  return ((await res.json()) as { asset: { url: string } }).asset.url;
}

describe('HTTPS, the public URL and a reverse proxy', () => {
  describe('serving HTTPS', () => {
    let h: HttpsHerald;
    before(async () => {
      h = await startHttpsHerald();
    });
    after(async () => {
      await h.close();
      removeDir(h.dataDir);
    });

    it('answers over HTTPS with the given certificate, and tools in a child process reach it by the test host name', async () => {
      assert.match(h.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const stack = await h.newStack();
      assert.match(stack.api_key, /\w+/);
      // The child trusts the certificate through NODE_EXTRA_CA_CERTS and resolves herald.test through
      // the preload: fetch (undici) and https.get (what axios-based clients use) both get there.
      const script = `
        const https = require('node:https');
        const viaFetch = await fetch(process.argv[1] + '/healthz').then((r) => r.status);
        const viaHttps = await new Promise((ok, no) => https.get(process.argv[1] + '/healthz', (r) => { r.resume(); ok(r.statusCode); }).on('error', no));
        const dns = await require('node:dns').promises.lookup('herald.test');
        console.log(JSON.stringify({ viaFetch, viaHttps, address: dns.address }));`;
      const r = await runTool(process.execPath, ['-e', `(async () => {${script}})().catch((e) => { console.error(e); process.exit(1); })`, h.origin], { env: toolEnv() });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), { viaFetch: 200, viaHttps: 200, address: '127.0.0.1' });
    });

    it('writes the origin a client reached it at into asset URLs: https and the host name', async () => {
      const stack = await h.newStack();
      const env = toolEnv();
      const script = `
        const form = new FormData();
        form.append('asset[upload]', new Blob(['hello']), 'hello.txt');
        const res = await fetch(process.argv[1] + '/v3/assets', { method: 'POST', headers: { api_key: process.argv[2], authorization: process.argv[3] }, body: form });
        console.log(JSON.stringify({ status: res.status, url: (await res.json()).asset.url }));`;
      const r = await runTool(process.execPath, ['-e', `(async () => {${script}})().catch((e) => { console.error(e); process.exit(1); })`, h.origin, stack.api_key, stack.token], { env });
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.equal(out.status, 201);
      assert.ok(out.url.startsWith(`${h.origin}/`), out.url);
    });
  });

  describe('behind a proxy', () => {
    it('ignores X-Forwarded-Proto and -Host unless told to trust the proxy', async () => {
      const h = await startHerald();
      try {
        const url = await uploadAsset(h, { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example' });
        assert.ok(url.startsWith(`${h.url}/`), url);
      } finally {
        await h.close();
        removeDir(h.dataDir);
      }
    });

    it('with --trust-proxy, asset URLs use the scheme and host the proxy forwarded', async () => {
      const h = await startHerald({ trustProxy: true });
      try {
        const url = await uploadAsset(h, { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'cms.example.com' });
        assert.ok(url.startsWith('https://cms.example.com/v3/assets/'), url);
      } finally {
        await h.close();
        removeDir(h.dataDir);
      }
    });

    it('trusts only the listed proxy addresses when given a list', async () => {
      const h = await startHerald({ trustProxy: ['10.1.2.3'] });
      try {
        const url = await uploadAsset(h, { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'cms.example.com' });
        assert.ok(url.startsWith(`${h.url}/`), `a request from 127.0.0.1 is not the proxy: ${url}`);
      } finally {
        await h.close();
        removeDir(h.dataDir);
      }
    });

    it('with --public-url, asset URLs use that origin whatever the request says', async () => {
      const h = await startHerald({ publicUrl: 'https://cms.example.com:8443', trustProxy: true });
      try {
        const url = await uploadAsset(h, { 'x-forwarded-proto': 'http', 'x-forwarded-host': 'other.example' });
        assert.ok(url.startsWith('https://cms.example.com:8443/v3/assets/'), url);
      } finally {
        await h.close();
        removeDir(h.dataDir);
      }
    });
  });

  describe('settings', () => {
    it('refuses a certificate without its key, naming both settings', () => {
      const message = refusal(() => resolveConfig({ env: { HERALD_TLS_CERT: '/tmp/cert.pem' } }));
      assert.match(message, /HERALD_TLS_CERT/);
      assert.match(message, /HERALD_TLS_KEY/);
    });

    it('refuses a public URL with a path or credentials, and keeps an origin without its trailing slash', () => {
      assert.match(refusal(() => resolveConfig({ flags: { publicUrl: 'https://cms.example.com/herald' } })), /--public-url.*origin only/);
      assert.match(refusal(() => resolveConfig({ flags: { publicUrl: 'https://u:p@cms.example.com' } })), /credentials/);
      assert.match(refusal(() => resolveConfig({ flags: { publicUrl: 'ftp://cms.example.com' } })), /http or https/);
      assert.equal(resolveConfig({ env: { HERALD_PUBLIC_URL: 'https://cms.example.com/' } }).config.publicUrl, 'https://cms.example.com');
    });

    it('reads trust-proxy as true, false or a list of addresses and CIDRs', () => {
      assert.equal(resolveConfig({ env: { HERALD_TRUST_PROXY: 'true' } }).config.trustProxy, true);
      assert.equal(resolveConfig({ env: { HERALD_TRUST_PROXY: 'false' } }).config.trustProxy, false);
      assert.deepEqual(resolveConfig({ flags: { trustProxy: '10.0.0.1, 10.8.0.0/16,::1' } }).config.trustProxy, ['10.0.0.1', '10.8.0.0/16', '::1']);
      assert.match(refusal(() => resolveConfig({ flags: { trustProxy: 'proxy.example' } })), /--trust-proxy.*proxy\.example/);
    });

    it('herald serve stops with exit code 2 naming the setting when the certificate cannot be read, and takes --trust-proxy bare', () => {
      const tls = testCertificate();
      const dir = join(tls.dir, 'serve-data');
      const missing = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve', '--port', '0', '--data-dir', dir, '--tls-cert', join(tls.dir, 'nope.pem'), '--tls-key', tls.keyFile], {
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', HERALD_ADMIN_TOKEN: 'test-admin-token-0123456789' },
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.equal(missing.status, 2, missing.stderr);
      assert.match(missing.stderr, /HERALD_TLS_CERT.*nope\.pem.*ENOENT/);
      // A bare --trust-proxy parses (exit 2 here comes from the next, bad, setting, not from it).
      const cfg = join(tls.dir, 'bad.json');
      writeFileSync(cfg, JSON.stringify({ port: 'x' }));
      const bare = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve', '--trust-proxy', '--config', cfg], {
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.equal(bare.status, 2);
      assert.match(bare.stderr, /"port" in/);
    });
  });
});
