import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { restoreCommand, runRestore as restore, type RestoreFlags } from '../../../src/backup/cli.ts';
import { HeraldError } from '../../../src/errors.ts';

/** A signing secret for tests: whsec_ + base64 of 32 bytes. */
export function testSecret(fill = 7): string {
  return 'whsec_' + Buffer.alloc(32, fill).toString('base64');
}

export interface SpawnedBackup {
  url: string;
  dataDir: string;
  child: ChildProcess;
  output: string[];
  /** JSON in and out against the backup center. */
  get(path: string, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs `herald backup` as a real child process on a free port. */
export async function spawnBackup(args: string[], opts: { dataDir?: string; env?: Record<string, string> } = {}): Promise<SpawnedBackup> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'herald-backup-'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'backup', '--port', '0', '--data-dir', dataDir, ...args], {
    env: { ...process.env, HERALD_BACKUP_LOG_LEVEL: 'info', ...opts.env },
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
        const m = /"url":"(http:\/\/[^"]+)".*backup center is listening/.exec(line);
        if (m) resolve(m[1]);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`herald backup exited with ${code} before listening:\n${output.join('\n')}`)));
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    url,
    dataDir,
    child,
    output,
    async get(path, headers = {}) {
      const res = await fetch(url + path, { headers });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {}
      return { status: res.status, body };
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Runs `herald restore ... --json` as a child process; resolves with its exit code and report. */
export async function runRestore(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; report: any; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'restore', '--json', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c) => (stdout += c));
  child.stderr!.on('data', (c) => (stderr += c));
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  let report: unknown;
  try {
    report = JSON.parse(stdout);
  } catch {}
  return { code, report, stderr };
}

/**
 * `herald restore ... --json` in this process: the command's own flags (commander) and the same
 * restore, without starting a process (1.5-5 s each on a loaded machine, 14 in restore.test.ts).
 * A refused restore answers code 2 and the message the command prints; any other error throws.
 * runRestore covers the command itself (its process, exit code and output).
 */
export async function runRestoreHere(args: string[], env: { HERALD_RESTORE_TOKEN?: string } = {}): Promise<{ code: number | null; report: any; stderr: string }> {
  let flags: RestoreFlags | undefined;
  await restoreCommand()
    .exitOverride()
    .action((f: RestoreFlags) => void (flags = f))
    .parseAsync(['--json', ...args], { from: 'user' });
  const before = process.env.HERALD_RESTORE_TOKEN;
  if (env.HERALD_RESTORE_TOKEN !== undefined) process.env.HERALD_RESTORE_TOKEN = env.HERALD_RESTORE_TOKEN;
  try {
    return { code: 0, report: JSON.parse(JSON.stringify(await restore(flags!))), stderr: '' };
  } catch (err) {
    if (err instanceof HeraldError) return { code: 2, report: undefined, stderr: `herald: ${err.message}\n` };
    throw err;
  } finally {
    if (before === undefined) delete process.env.HERALD_RESTORE_TOKEN;
    else process.env.HERALD_RESTORE_TOKEN = before;
  }
}

/** Polls `check` until it returns a truthy value; fails with `what` after `ms`. */
export async function until<T>(what: string, check: () => Promise<T | undefined | false | null>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Waits until backup `b` holds every event of stack `apiKey` up to seq `last` and, with `settingsSince`
 * (ms since the epoch), has read the stack's settings (branches, Contentful state) after that time.
 */
export async function caughtUp(b: SpawnedBackup, apiKey: string, last: number, settingsSince?: number): Promise<void> {
  const what = settingsSince === undefined ? 'the backup to hold every event' : 'the backup to hold every event and to have read the stack since';
  await until(what, async () => {
    const s = (await b.get('/stacks')).body.stacks.find((x: any) => x.api_key === apiKey);
    if (!s || s.feed_cursor !== last) return false;
    return settingsSince === undefined || (s.settings_fetched_at && Date.parse(s.settings_fetched_at) > settingsSince);
  });
}

/** A delivery as Herald sends it, signed with `secret` (by the standardwebhooks library). */
export function signedDelivery(secret: string, body: unknown, id = `exe_test_${Math.random().toString(36).slice(2)}`) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const now = new Date();
  return {
    body: text,
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': new Webhook(secret).sign(id, now, text),
    } as Record<string, string>,
  };
}
