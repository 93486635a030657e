import { RELAUNCHED_ENV, RELAYED } from './launch.js';

/**
 * In a `herald serve` process the `herald` command relaunched with node flags (src/ops/launch.js),
 * call first thing: from then on SIGTERM and SIGINT sent to this process directly are ignored (the
 * parent relays them, once), the parent's death kills this process at once, and a relayed signal
 * ends it as an unhandled signal would until `listen` hands the signals to handleSignals.
 * Null in any other process: its signals are its own.
 */
export function relayedSignals(): { listen: (onSignal: (signal: NodeJS.Signals) => void) => void } | null {
  if (!process.env[RELAUNCHED_ENV] || !process.send) return null;
  // Not inherited by what this process starts (a `herald` it spawned would read it as its own).
  delete process.env[RELAUNCHED_ENV];
  let handler = (signal: NodeJS.Signals) => {
    for (const s of RELAYED) process.removeAllListeners(s);
    process.kill(process.pid, signal);
  };
  for (const s of RELAYED) process.on(s, () => {});
  process.on('message', (m: { signal?: unknown }) => {
    if (typeof m?.signal === 'string' && (RELAYED as readonly string[]).includes(m.signal)) handler(m.signal as NodeJS.Signals);
  });
  process.on('disconnect', () => process.kill(process.pid, 'SIGKILL'));
  // The channel alone must not keep the process alive (a 'message' listener refs it).
  process.channel?.unref();
  return { listen: (onSignal) => void (handler = onSignal) };
}
