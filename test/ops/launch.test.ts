import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { launchFlags, SEMI_SPACE_MB, semiSpaceFlag } from '../../src/ops/launch.js';
import { PROCESS_START_MS, until } from '../helpers/engine.ts';

const DEFAULT_FLAG = `--max-semi-space-size=${SEMI_SPACE_MB}`;

describe("the node flags the herald command starts herald serve with (ops/launch.js)", () => {
  it('gives serve the semi-space size, from the flag, the environment, the config file or the default, in that order', () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-launch-'));
    try {
      const file = join(dir, 'herald.json');
      writeFileSync(file, JSON.stringify({ semiSpaceMb: 8 }));
      assert.deepEqual(launchFlags(['serve'], {}, []), [DEFAULT_FLAG]);
      assert.deepEqual(launchFlags(['serve', '--config', file], {}, []), ['--max-semi-space-size=8']);
      assert.deepEqual(launchFlags(['serve'], { HERALD_CONFIG: file }, []), ['--max-semi-space-size=8']);
      assert.deepEqual(launchFlags(['serve', '--config', file], { HERALD_SEMI_SPACE_MB: '64' }, []), ['--max-semi-space-size=64']);
      assert.deepEqual(launchFlags(['serve', '--semi-space-mb', '128'], { HERALD_SEMI_SPACE_MB: '64' }, []), ['--max-semi-space-size=128']);
      assert.deepEqual(launchFlags(['serve', '--semi-space-mb=4', '--port', '0'], {}, []), ['--max-semi-space-size=4']);
      // An empty variable is unset, as for every setting.
      assert.deepEqual(launchFlags(['serve'], { HERALD_SEMI_SPACE_MB: '' }, []), [DEFAULT_FLAG]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("adds nothing when turned off (0), when node's command line or NODE_OPTIONS chose a size, or for other commands and --help", () => {
    assert.deepEqual(launchFlags(['serve', '--semi-space-mb', '0'], {}, []), []);
    assert.deepEqual(launchFlags(['serve'], { HERALD_SEMI_SPACE_MB: '0' }, []), []);
    assert.deepEqual(launchFlags(['serve'], {}, ['--max-semi-space-size=16']), []);
    assert.deepEqual(launchFlags(['serve'], {}, ['--max_semi_space_size=8']), []);
    assert.deepEqual(launchFlags(['serve'], { NODE_OPTIONS: '--inspect --max-semi-space-size=16' }, []), []);
    assert.deepEqual(launchFlags(['serve', '--help'], {}, []), []);
    for (const cmd of ['backup', 'restore', 'replay', 'listen', 'db']) assert.deepEqual(launchFlags([cmd], {}, []), [], cmd);
    assert.deepEqual(launchFlags([], {}, []), []);
    assert.equal(semiSpaceFlag(32, ['--max-semi-space-size-x']), '--max-semi-space-size=32');
  });

  it('leaves a value that is no size to herald serve, which refuses it', () => {
    assert.deepEqual(launchFlags(['serve', '--semi-space-mb', 'lots'], {}, []), []);
    assert.deepEqual(launchFlags(['serve'], { HERALD_SEMI_SPACE_MB: '100000' }, []), []);
  });
});

interface Started {
  child: ChildProcess;
  output: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  text: () => string;
}

/** Runs `node bin/herald.js serve` (the installed command) on a fresh data dir. */
function startCommand(dir: string, env: Record<string, string> = {}, opts: { detached?: boolean; args?: string[] } = {}): Started {
  const child = spawn(process.execPath, ['bin/herald.js', 'serve', '--port', '0', '--data-dir', dir, ...(opts.args ?? [])], {
    // SQLite whatever backend the suite runs on: this is about processes, not the store.
    env: { ...process.env, HERALD_TEST_BACKEND: '', HERALD_DATABASE_URL: '', HERALD_ADMIN_TOKEN: 'test-admin-token-0123456789', HERALD_LOG_LEVEL: 'info', HERALD_LOG_FORMAT: 'json', HERALD_SEMI_SPACE_MB: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: opts.detached ?? false,
  });
  const output: string[] = [];
  child.stdout!.on('data', (c) => output.push(String(c)));
  child.stderr!.on('data', (c) => output.push(String(c)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
  return { child, output, exited, text: () => output.join('') };
}

/** The pid of the process that logged "herald is listening". */
async function listening(s: Started): Promise<number> {
  const pid = await until(() => /"pid":(\d+)[^\n]*herald is listening/.exec(s.text())?.[1], PROCESS_START_MS, 'Herald to listen');
  return Number(pid);
}

const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/State:\s+Z/.test(readFileSync(`/proc/${pid}/status`, 'utf8'));

describe('herald serve started by the herald command', () => {
  it('runs with the semi-space size, and on SIGTERM to the command shuts down gracefully and exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-launch-'));
    const s = startCommand(dir);
    try {
      const server = await listening(s);
      assert.notEqual(server, s.child.pid, 'a second node process serves');
      assert.ok(cmdline(server).includes(DEFAULT_FLAG), cmdline(server).join(' '));
      s.child.kill('SIGTERM');
      assert.deepEqual(await s.exited, { code: 0, signal: null }, s.text());
      assert.equal(s.text().match(/shutting down/g)?.length, 1, s.text());
      assert.match(s.text(), /"msg":"stopped"/);
      assert.equal(alive(server), false);
    } finally {
      s.child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("shuts down once on a Ctrl-C that reaches both processes (the terminal's process group): the server's own signals are the command's to relay", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-launch-'));
    // Its own process group, as a shell gives a foreground job: SIGINT to the group reaches both.
    const s = startCommand(dir, {}, { detached: true });
    try {
      const server = await listening(s);
      // Sent to the server alone, it is ignored: had it counted, the command's relay of the same
      // Ctrl-C would be a second signal, which exits at once (systemd's default stop too).
      process.kill(server, 'SIGINT');
      await new Promise((r) => setTimeout(r, 500));
      assert.ok(alive(server));
      assert.doesNotMatch(s.text(), /shutting down/);
      process.kill(-s.child.pid!, 'SIGINT');
      assert.deepEqual(await s.exited, { code: 0, signal: null }, s.text());
      assert.equal(s.text().match(/shutting down/g)?.length, 1, s.text());
      assert.doesNotMatch(s.text(), /second signal/);
    } finally {
      try {
        process.kill(-s.child.pid!, 'SIGKILL');
      } catch {}
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('dies with the command when the command is killed (kill -9), listening or still starting, and exits with the code herald serve exited with', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-launch-'));
    const s = startCommand(dir);
    try {
      const server = await listening(s);
      s.child.kill('SIGKILL');
      assert.deepEqual(await s.exited, { code: null, signal: 'SIGKILL' });
      await until(() => !alive(server) || undefined, 10_000, 'herald serve to die with the command');
    } finally {
      s.child.kill('SIGKILL');
    }
    // Killed while the server is still starting (loading its sources takes seconds): it must not
    // live on as an orphan holding the data dir.
    const early = startCommand(dir);
    try {
      const server = Number(await until(() => readFileSync(`/proc/${early.child.pid}/task/${early.child.pid}/children`, 'utf8').trim(), 10_000, 'the server process'));
      early.child.kill('SIGKILL');
      await early.exited;
      await until(() => !alive(server) || undefined, 10_000, 'the starting server to die with the command');
    } finally {
      early.child.kill('SIGKILL');
    }
    // A setting the command does not read (it only reads the semi-space size) but serve refuses: exit 2.
    const bad = startCommand(dir, { HERALD_RATE_LIMIT: 'lots' });
    try {
      assert.deepEqual(await bad.exited, { code: 2, signal: null }, bad.text());
      assert.match(bad.text(), /HERALD_RATE_LIMIT/);
    } finally {
      bad.child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("runs in the command's own process when turned off or when node was given a size", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-launch-'));
    try {
      for (const env of [{ HERALD_SEMI_SPACE_MB: '0' }, { NODE_OPTIONS: '--max-semi-space-size=16' }] as Record<string, string>[]) {
        const s = startCommand(dir, env);
        try {
          assert.equal(await listening(s), s.child.pid, JSON.stringify(env));
          s.child.kill('SIGTERM');
          assert.deepEqual(await s.exited, { code: 0, signal: null }, s.text());
        } finally {
          s.child.kill('SIGKILL');
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
