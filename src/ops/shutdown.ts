import type { Server } from 'node:http';
import type { Logger } from 'pino';

/**
 * Graceful shutdown. On SIGTERM or SIGINT Herald stops accepting work, lets in-flight requests and
 * delivery attempts finish within the grace period (HERALD_SHUTDOWN_GRACE), records what finished,
 * leaves the rest claimed (the claims expire and are redone after a restart: the store is the
 * truth), closes the store and exits 0. A second signal exits at once.
 */

/** How often idle keep-alive connections are closed while the server drains, ms. */
const IDLE_SWEEP_MS = 50;

/**
 * Stops an HTTP server within `graceMs`: `close` (fastify's app.close(): stop listening, answer
 * requests on kept connections with 503) waits for requests in flight, while keep-alive
 * connections are closed as soon as they are idle (a safety net: one left open would hold the close
 * for its keep-alive timeout, 72 s); at the deadline every connection still open is cut, so a
 * request that never ends (a stalled upload) cannot hold the shutdown.
 */
export async function drainServer(server: Server, close: () => Promise<unknown>, graceMs: number): Promise<void> {
  const closing = close();
  server.closeIdleConnections();
  const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
  const cut = setTimeout(() => server.closeAllConnections(), graceMs);
  try {
    await closing;
  } finally {
    clearInterval(sweep);
    clearTimeout(cut);
  }
}

/** Beyond the grace period, how long closing the store may take before the process exits anyway, ms. */
export const CLOSE_MARGIN_MS = 5_000;

export const SIGNAL_EXIT_CODES: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

/**
 * Installs the SIGTERM/SIGINT handlers of `herald serve`. The first signal runs `stop` and exits 0
 * (1 if stopping failed, or took longer than the grace period plus CLOSE_MARGIN_MS); a second
 * signal exits at once with 128 + the signal's number.
 */
export function handleSignals(opts: {
  log: Logger;
  graceMs: number;
  stop: () => Promise<void>;
  exit?: (code: number) => void;
  /** Where the signals come from; default: this process's own SIGTERM and SIGINT (src/ops/launch.js relays them instead). */
  listen?: (onSignal: (signal: NodeJS.Signals) => void) => void;
}): void {
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      opts.log.warn({ signal }, 'second signal: exiting now; unfinished deliveries are redone after a restart');
      exit(SIGNAL_EXIT_CODES[signal] ?? 1);
      return;
    }
    stopping = true;
    opts.log.info({ signal, graceMs: opts.graceMs }, 'shutting down: no new work; waiting for requests and deliveries in flight');
    const hard = setTimeout(() => {
      opts.log.error({ graceMs: opts.graceMs }, 'shutdown did not finish in time: exiting');
      exit(1);
    }, opts.graceMs + CLOSE_MARGIN_MS);
    hard.unref();
    opts.stop().then(
      () => {
        clearTimeout(hard);
        opts.log.info('stopped');
        exit(0);
      },
      (err) => {
        clearTimeout(hard);
        opts.log.error({ err }, 'shutdown failed');
        exit(1);
      },
    );
  };
  if (opts.listen) opts.listen(onSignal);
  else {
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }
}
