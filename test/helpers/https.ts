/**
 * Herald over HTTPS under a host name, for the vendors' tools (csdx, contentful-export, ...), which
 * insist on https:// and refuse IP addresses and `localhost`.
 *
 *   const h = await startHttpsHerald();          // TestHerald on https://127.0.0.1:<port>
 *   h.origin                                     // https://herald.test:<port>, what tools are given
 *   const env = toolEnv();                       // env for a child process: herald.test -> 127.0.0.1,
 *   spawn('npx', ['csdx', ...], { env })         //   the test certificate trusted, its own HOME
 *
 * - The certificate (self-signed, for `herald.test`, `*.herald.test` and 127.0.0.1) is made with
 *   openssl once per test process, in a temp dir; nothing is committed and nothing is installed.
 * - The host name resolves in the tool's process only: `toolEnv()` sets NODE_OPTIONS to `--import`
 *   a small preload (written next to the certificate) that answers dns.lookup for that one name
 *   and passes every other name to the real resolver. /etc/hosts is never touched.
 * - `.test` is reserved (RFC 2606): the name can never reach a real server.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Config } from '../../src/config.ts';
import { startHerald, type TestHerald } from './herald.ts';
import type { BackendName } from './postgres.ts';

/** The test host name: resolves to 127.0.0.1 in processes started with `toolEnv()`. */
export const TEST_HOST = 'herald.test';

export interface TestCertificate {
  /** The directory holding the files below (and the DNS preload). */
  dir: string;
  certFile: string;
  keyFile: string;
  /** PEM text of the certificate: a client trusts Herald by passing it as `ca`. */
  cert: string;
  /** The preload file (`node --import <url>`) that resolves TEST_HOST to 127.0.0.1. */
  preloadFile: string;
}

let made: TestCertificate | null = null;

/** The test certificate and the DNS preload, made once per test process. */
export function testCertificate(): TestCertificate {
  if (made) return made;
  const dir = mkdtempSync(join(tmpdir(), 'herald-tls-'));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  execFileSync('/usr/bin/openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', `/CN=${TEST_HOST}`,
    '-addext', `subjectAltName=DNS:${TEST_HOST},DNS:*.${TEST_HOST},IP:127.0.0.1`,
    '-keyout', keyFile, '-out', certFile,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  const preloadFile = join(dir, 'resolve-test-host.mjs');
  writeFileSync(preloadFile, preloadSource(TEST_HOST, '127.0.0.1'));
  made = { dir, certFile, keyFile, cert: readFileSync(certFile, 'utf8'), preloadFile };
  return made;
}

/**
 * The preload: wraps dns.lookup (callback and promise forms, which http, https, net and fetch use)
 * so that `host` and its subdomains answer `address`; other names go to the real lookup.
 */
function preloadSource(host: string, address: string): string {
  return `// Written by test/helpers/https.ts: ${host} resolves to ${address} in this process only.
import dns from 'node:dns';
import { syncBuiltinESMExports } from 'node:module';
const HOST = ${JSON.stringify(host)};
const ADDRESS = ${JSON.stringify(address)};
const ours = (name) => typeof name === 'string' && (name.toLowerCase() === HOST || name.toLowerCase().endsWith('.' + HOST));
const answer = (options) => {
  const all = typeof options === 'object' && options !== null && options.all;
  return all ? [{ address: ADDRESS, family: 4 }] : { address: ADDRESS, family: 4 };
};
const lookup = dns.lookup;
dns.lookup = function (name, options, callback) {
  if (!ours(name)) return lookup.apply(this, arguments);
  const cb = typeof options === 'function' ? options : callback;
  const a = answer(options);
  process.nextTick(() => (Array.isArray(a) ? cb(null, a) : cb(null, a.address, a.family)));
};
const plookup = dns.promises.lookup;
dns.promises.lookup = function (name, options) {
  if (!ours(name)) return plookup.apply(this, arguments);
  return Promise.resolve(answer(options));
};
syncBuiltinESMExports();
`;
}

export interface ToolEnvOptions {
  /** HOME (and XDG config/cache/data dirs) of the tool: a fresh temp dir by default, so its config never leaks between tests. */
  home?: string;
  /** Extra variables. */
  env?: Record<string, string>;
}

/**
 * Environment for a child process (a vendor tool) that must reach Herald at https://herald.test:
 * the DNS preload, the certificate trusted (NODE_EXTRA_CA_CERTS), an isolated HOME.
 */
export function toolEnv(opts: ToolEnvOptions = {}): NodeJS.ProcessEnv & { HOME: string } {
  const tls = testCertificate();
  const home = opts.home ?? mkdtempSync(join(tmpdir(), 'herald-tool-home-'));
  for (const sub of ['.config', '.cache', '.local/share']) mkdirSync(join(home, sub), { recursive: true });
  const inherited = process.env.NODE_OPTIONS ? `${process.env.NODE_OPTIONS} ` : '';
  return {
    ...process.env,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_CACHE_HOME: join(home, '.cache'),
    XDG_DATA_HOME: join(home, '.local/share'),
    NODE_OPTIONS: `${inherited}--import ${pathToFileURL(tls.preloadFile).href}`,
    NODE_EXTRA_CA_CERTS: tls.certFile,
    ...opts.env,
  };
}

export interface HttpsHerald extends TestHerald {
  /** https://herald.test:<port>: the origin to give tools started with `toolEnv()`. */
  origin: string;
  /** `herald.test:<port>`: a host without scheme, as csdx and the management SDK take it. */
  hostPort: string;
  tls: TestCertificate;
}

/**
 * Starts Herald in this process serving HTTPS with the test certificate (settings as startHerald).
 * Its `request` helper trusts the certificate. Asset URLs use the origin each request came in on,
 * so a tool reaching it as herald.test gets herald.test URLs (pass `publicUrl` to pin one).
 */
export async function startHttpsHerald(
  settings: Partial<Config> & { backend?: BackendName } = {},
  dataDir?: string,
): Promise<HttpsHerald> {
  const tls = testCertificate();
  const h = await startHerald({ ...settings, tlsCert: tls.certFile, tlsKey: tls.keyFile }, dataDir);
  const port = new URL(h.url).port;
  const request: TestHerald['request'] = (method, path, opts = {}) => httpsJson(h.url + path, tls.cert, method, opts);
  // newStack (from startHerald) calls `request` through the object: replacing it covers both.
  return Object.assign(h, { request, origin: `https://${TEST_HOST}:${port}`, hostPort: `${TEST_HOST}:${port}`, tls });
}

/** One JSON request over HTTPS, trusting `ca` (fetch in this process does not read NODE_EXTRA_CA_CERTS set later). */
export function httpsJson(
  url: string,
  ca: string,
  method: string,
  opts: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const payload = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method, ca, headers: { ...(payload !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {}
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
        resolve({ status: res.statusCode ?? 0, body, headers });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

export interface ToolRun {
  /** Exit code (null when killed, e.g. at the timeout). */
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a tool as a child process without blocking this one (Herald, started in this process,
 * must keep answering it: never spawnSync a tool that talks to an in-process Herald). Kills it
 * after `timeoutMs` (default 3 minutes) and resolves with what it printed.
 */
export function runTool(
  command: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; input?: string } = {},
): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: opts.env ?? toolEnv(), cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 180_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}
