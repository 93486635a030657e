import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type DestinationStream } from 'pino';
import { loadConfig, type Config } from '../../src/config.ts';
import { startServer, type Running } from '../../src/server.ts';
import { freshSchema, schemaForDataDir, type BackendName } from './postgres.ts';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

/** Settings tests run with: loopback targets allowed, short retries. */
export const TEST_SETTINGS: Partial<Config> = {
  host: '127.0.0.1',
  port: 0,
  adminToken: ADMIN_TOKEN,
  allowPrivateTargets: ['127.0.0.0/8', '::1/128'],
  retryDelaysMs: [200, 200, 200, 200],
  logLevel: 'silent',
  // Tests send bursts far above the default limit; the limit itself is tested in test/trust/management.test.ts.
  rateLimit: 1_000_000,
};

export interface TestHerald extends Running {
  dataDir: string;
  /** Creates a stack and a management token for it. */
  newStack(name?: string): Promise<{ api_key: string; token: string }>;
  /** fetch against the server, JSON in and out. */
  request(method: string, path: string, opts?: { body?: unknown; headers?: Record<string, string> }): Promise<{ status: number; body: any; headers: Headers }>;
}

/** HERALD_TEST_BACKEND=postgres runs every test server on PostgreSQL (a schema per data dir). */
const ALL_ON_POSTGRES = process.env.HERALD_TEST_BACKEND === 'postgres';

/**
 * Starts Herald in this process on a free port with a fresh data dir (or the one given).
 * `backend: 'postgres'` stores it in a fresh PostgreSQL schema, dropped on close.
 */
export async function startHerald(
  settings: Partial<Config> & { backend?: BackendName; /** Where log lines go (default stdout); tests that read the log pass a stream. */ logTo?: DestinationStream } = {},
  dataDir?: string,
): Promise<TestHerald> {
  const { backend, logTo, ...rest } = settings;
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'herald-test-'));
  const schema = backend === 'postgres' && !rest.databaseUrl ? await freshSchema() : null;
  const kept = !schema && ALL_ON_POSTGRES && backend !== 'sqlite' && !rest.databaseUrl ? await schemaForDataDir(dir) : null;
  const databaseUrl = (schema ?? kept)?.url;
  const config = loadConfig({ ...TEST_SETTINGS, ...rest, dataDir: dir, ...(databaseUrl ? { databaseUrl } : {}) }, {});
  const log = logTo ? pino({ level: config.logLevel }, logTo) : pino({ level: config.logLevel });
  const running = await startServer(config, { log });
  if (schema) {
    const close = running.close.bind(running);
    running.close = async () => {
      await close();
      await schema.drop();
    };
  }
  return withHelpers(running.url, dir, running);
}

function withHelpers<T extends { url: string; close(): Promise<void> }>(url: string, dataDir: string, base: T) {
  const request: TestHerald['request'] = async (method, path, opts = {}) => {
    const res = await fetch(url + path, {
      method,
      headers: { ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers },
      body: opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {}
    return { status: res.status, body, headers: res.headers };
  };
  // Through the returned object: a helper that swaps `request` (test/helpers/https.ts) covers this too.
  const newStack = async (name = 'Test stack') => {
    const request = helpers.request;
    const s = await request('POST', '/v3/stacks', { body: { stack: { name } }, headers: { authtoken: ADMIN_TOKEN } });
    if (s.status !== 201) throw new Error(`stack create failed: ${s.status} ${JSON.stringify(s.body)}`);
    const api_key = s.body.stack.api_key as string;
    const t = await request('POST', '/v3/stacks/management_tokens', {
      body: { token: { name: 'tests' } },
      headers: { authtoken: ADMIN_TOKEN, api_key },
    });
    if (t.status !== 201) throw new Error(`token create failed: ${t.status} ${JSON.stringify(t.body)}`);
    return { api_key, token: t.body.token.token as string };
  };
  const helpers = Object.assign(base, { dataDir, request, newStack });
  return helpers;
}

export interface SpawnedHerald {
  url: string;
  dataDir: string;
  child: ChildProcess;
  /** Lines the process wrote to stdout and stderr. */
  output: string[];
  newStack: TestHerald['newStack'];
  request: TestHerald['request'];
  /** Sends a signal and waits for the exit; resolves with the exit code (null when killed). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  close(): Promise<void>;
}

/** Runs `herald serve` as a real child process (for kill -9 and SIGTERM tests). */
export async function spawnHerald(env: Record<string, string> = {}, dataDir?: string): Promise<SpawnedHerald> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'herald-proc-'));
  if (ALL_ON_POSTGRES && !env.HERALD_DATABASE_URL) env = { ...env, HERALD_DATABASE_URL: (await schemaForDataDir(dir)).url };
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve', '--port', '0', '--data-dir', dir], {
    env: {
      ...process.env,
      HERALD_ADMIN_TOKEN: ADMIN_TOKEN,
      HERALD_ALLOW_PRIVATE_TARGETS: '127.0.0.0/8,::1/128',
      HERALD_RETRY_DELAYS: '200ms,200ms,200ms,200ms',
      HERALD_LOG_LEVEL: 'info',
      // As TEST_SETTINGS: load tests send bursts far above the default limit (tested on its own).
      HERALD_RATE_LIMIT: String(TEST_SETTINGS.rateLimit),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    let buf = '';
    const onData = (chunk: Buffer) => {
      buf += chunk.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        output.push(line);
        const m = /"url":"(https?:\/\/[^"]+)".*herald is listening/.exec(line);
        if (m) resolve(m[1]);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`herald exited with ${code} before listening:\n${output.join('\n')}`)));
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  const base = { url, child, output, stop, close: async () => void (await stop('SIGKILL')) };
  return withHelpers(url, dir, base) as unknown as SpawnedHerald;
}

export function removeDir(dir: string) {
  rmSync(dir, { recursive: true, force: true });
}
