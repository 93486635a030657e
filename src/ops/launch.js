// Plain JavaScript on purpose (types: launch.d.ts): the `herald` command (bin/herald.js) runs this
// before it registers tsx, so the parent process it leaves beside `herald serve` holds ~6 MiB of
// its own memory, not the ~38 MiB tsx and the TypeScript sources would add.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * Each of the young generation's two semi-spaces in a `herald serve` process, MiB (Default: 32;
 * V8's own maximum on 64-bit is 16; V8 rounds a size up to a power of two).
 *
 * Why: every delivery allocates ~18-32 KB that dies within its HTTP exchange, and a scavenge copies
 * whatever is still in flight. Doubling the semi-spaces halves the scavenges (fan-out 10: ~67 -> ~33
 * per 50k deliveries) and the objects of finished exchanges are dead by the time one runs. The
 * cost is memory: the young generation of a busy Herald holds 2 x this (its two semi-spaces).
 * Figures for 16, 32, 64 and 128: NOTES.md, session 18.
 *
 * V8 reads the size once, when the heap is set up: it can only be given on node's command line or
 * in NODE_OPTIONS, never changed from inside (v8.setFlagsFromString has no effect on it).
 */
export const SEMI_SPACE_MB = 32;

/** The largest semi-space the setting takes, MiB. */
export const SEMI_SPACE_MAX_MB = 512;

/** Whether node's options (`execArgv`, or NODE_OPTIONS split at spaces) already set the semi-space size. */
function setsSemiSpace(options) {
  return options.some((a) => /^--max[-_]semi[-_]space[-_]size(=|$)/.test(a));
}

/**
 * The node flag a `herald serve` process must be started with for semi-spaces of `mb` MiB, or null
 * when none is needed: `mb` 0 (V8's own choice), or node's command line or NODE_OPTIONS already
 * chose a size (the user's own flag wins, as with the old generation's growth, src/ops/heap.ts).
 */
export function semiSpaceFlag(mb, execArgv, nodeOptions = '') {
  if (mb === 0 || setsSemiSpace(execArgv) || setsSemiSpace(nodeOptions.split(/\s+/))) return null;
  return `--max-semi-space-size=${mb}`;
}

/** Reads `--name value` or `--name=value` from command-line arguments, the last one winning, as commander does. */
function option(args, name) {
  let value;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === name) value = args[++i];
    else if (args[i].startsWith(`${name}=`)) value = args[i].slice(name.length + 1);
  }
  return value;
}

/** The `semiSpaceMb` key of a JSON config file, as text; undefined when absent or unreadable. */
function fileValue(path) {
  if (!path) return undefined;
  try {
    const v = JSON.parse(readFileSync(path, 'utf8'))?.semiSpaceMb;
    return v === undefined || v === null ? undefined : String(v);
  } catch {
    return undefined;
  }
}

/**
 * The node flags the `herald` command must start node with for `args` (what follows `herald`):
 * the semi-space size for `serve`, read as every setting is (flag `--semi-space-mb` > environment
 * HERALD_SEMI_SPACE_MB > config file key `semiSpaceMb` > SEMI_SPACE_MB). None for any other
 * command, for --help, or for a value that is not a whole number from 0 to SEMI_SPACE_MAX_MB:
 * `herald serve` itself then refuses it (src/config.ts), with exit code 2.
 */
export function launchFlags(args, env, execArgv) {
  if (args[0] !== 'serve' || args.includes('--help') || args.includes('-h')) return [];
  const text = option(args, '--semi-space-mb') ?? (env.HERALD_SEMI_SPACE_MB || undefined) ?? fileValue(option(args, '--config') ?? (env.HERALD_CONFIG || undefined));
  const mb = text === undefined ? SEMI_SPACE_MB : /^\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (!(mb <= SEMI_SPACE_MAX_MB)) return [];
  const flag = semiSpaceFlag(mb, execArgv, env.NODE_OPTIONS);
  return flag ? [flag] : [];
}

/**
 * How the `herald` command gives `herald serve` node flags V8 reads only at start. Node 20 cannot
 * replace its own process (no execve), so it starts a second node process with them and stays
 * beside it as its parent, doing nothing but this:
 *
 * - SIGTERM and SIGINT sent to the parent are relayed to the child over IPC, once each. The child
 *   ignores the same signals sent to it directly (relayedSignals below): a terminal's
 *   Ctrl-C and systemd's default stop (KillMode=control-group) signal both processes, and a signal
 *   seen twice would mean "exit at once" (src/ops/shutdown.ts).
 * - The parent exits as the child did: the same exit code, or killed by the same signal.
 * - If the parent dies (kill -9), the child kills itself at once, as if it had crashed with it.
 *
 * Runs this same command (`process.argv`) again with `nodeFlags` before this process's own node
 * options; returns at once, and this process exits when the child does.
 */
export function relaunch(nodeFlags) {
  const child = spawn(process.execPath, [...nodeFlags, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, [RELAUNCHED_ENV]: String(process.pid) },
  });
  const relay = (signal) => {
    if (child.connected) child.send({ signal });
  };
  for (const s of RELAYED) process.on(s, relay);
  child.on('error', (err) => {
    process.stderr.write(`herald: cannot start node: ${err.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    for (const s of RELAYED) process.off(s, relay);
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
}

/**
 * In a `herald serve` process the `herald` command relaunched: from the first call on (bin/herald.js
 * makes it before anything slow loads), SIGTERM and SIGINT sent to this process directly are
 * ignored (the parent relays them, once), the parent's death kills this process at once (already
 * dead: at once too), and a relayed signal ends it as an unhandled signal would until `listen`
 * hands the signals to handleSignals. Null in any other process: its signals are its own. Later
 * calls return what the first did.
 */
export function relayedSignals() {
  if (globalThis[RELAY] !== undefined) return globalThis[RELAY];
  globalThis[RELAY] = null;
  if (!process.env[RELAUNCHED_ENV] || !process.send) return null;
  // Not inherited by what this process starts (a `herald` it spawned would read it as its own).
  delete process.env[RELAUNCHED_ENV];
  const die = () => process.kill(process.pid, 'SIGKILL');
  if (!process.connected) die();
  let handler = (signal) => {
    for (const s of RELAYED) process.removeAllListeners(s);
    process.kill(process.pid, signal);
  };
  for (const s of RELAYED) process.on(s, () => {});
  process.on('message', (m) => {
    if (typeof m?.signal === 'string' && RELAYED.includes(m.signal)) handler(m.signal);
  });
  process.on('disconnect', die);
  // The channel alone must not keep the process alive (a 'message' listener refs it).
  process.channel?.unref();
  globalThis[RELAY] = { listen: (onSignal) => void (handler = onSignal) };
  return globalThis[RELAY];
}

/** Where relayedSignals keeps its answer: one per process, whichever module loader imported this file. */
const RELAY = Symbol.for('herald.relayedSignals');

/** Set in the child's environment (to the parent's pid); the child removes it from its own. */
export const RELAUNCHED_ENV = 'HERALD_RELAUNCHED_BY';

/** The signals `herald serve` handles (src/ops/shutdown.ts), relayed from the parent. */
export const RELAYED = ['SIGTERM', 'SIGINT'];
