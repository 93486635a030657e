import Fastify, { type FastifyInstance } from 'fastify';
import type { Config } from './config.ts';
import { openHerald, type Herald, type OpenOptions } from './herald.ts';
import { buildApp, type ServeOptions } from './http/app.ts';
import { tlsOptions } from './http/origin.ts';
import { errorHandler } from './http/errors.ts';
import healthRoutes from './http/routes/health.ts';
import metricsRoutes from './http/routes/metrics.ts';
import { pruneRetiredFiles } from './content/assets.ts';
import { startPruner } from './delivery/prune.ts';
import { pruneReplays } from './delivery/replay.ts';
import { drainServer } from './ops/shutdown.ts';

export interface Running {
  herald: Herald;
  app: FastifyInstance;
  /** Base URL the server listens on, e.g. http://127.0.0.1:4100 (https:// with tlsCert/tlsKey) */
  url: string;
  /**
   * Stops within `graceMs` (default: the shutdownGraceMs setting): closes the listener, lets
   * in-flight requests and delivery attempts finish, records their outcomes, closes the store.
   */
  close(graceMs?: number): Promise<void>;
}

/**
 * Opens the store, builds the app, starts the dispatcher and listens. By role (see Config.role):
 * `all` does everything; `api` serves the whole HTTP app but never starts the dispatcher (its
 * commits wake the workers through the database); `worker` runs the dispatcher and answers only
 * GET /healthz, /readyz and /metrics, so a load balancer never sends it API traffic.
 * Processes that deliver also prune the activity log (logRetentionDays) in the background.
 */
export async function startServer(config: Config, opts: OpenOptions = {}): Promise<Running> {
  // Certificate files first: an unreadable one stops Herald before the store opens.
  const https = tlsOptions(config);
  const herald = await openHerald(config, opts);
  const app = config.role === 'worker' ? await buildWorkerApp(herald, https) : await buildApp(herald, { https });
  await app.listen({ host: config.host, port: config.port });
  let stopPruner: (() => Promise<void>) | null = null;
  let stopReplayPruner: (() => Promise<void>) | null = null;
  if (config.role !== 'api') {
    await herald.delivery.start();
    stopPruner = startPruner(
      herald.db,
      config.logRetentionDays,
      (err) => herald.log.error({ err }, 'pruning the activity log failed; trying again at the next run'),
      (n) => herald.log.info({ executions: n, retentionDays: config.logRetentionDays }, 'pruned the activity log'),
    );
    // Replay jobs go with the activity log they count.
    stopReplayPruner = startPruner(
      herald.db,
      config.logRetentionDays,
      (err) => herald.log.error({ err }, 'pruning finished replays failed; trying again at the next run'),
      (n) => herald.log.info({ replays: n, retentionDays: config.logRetentionDays }, 'pruned finished replays'),
      (cutoff) => pruneReplays(herald.db, cutoff),
    );
  }
  // Replays whose executions were still being made when Herald last stopped go on (any role: a
  // job taken up by two processes at once makes each execution once, see delivery/replay.ts).
  await herald.replays.resume();
  // Replaced and deleted asset files (kept so earlier versions stay downloadable) live under the
  // data dir of the processes that serve the API. Those processes also make scheduled publishes
  // (workers commit asynchronously: no content changes there).
  let stopFilePruner: (() => Promise<void>) | null = null;
  if (config.role !== 'worker') {
    await herald.schedules.start();
    stopFilePruner = startPruner(
      herald.db,
      config.logRetentionDays,
      (err) => herald.log.error({ err }, 'pruning replaced asset files failed; trying again at the next run'),
      (n) => herald.log.info({ files: n, retentionDays: config.logRetentionDays }, 'pruned replaced and deleted asset files'),
      (cutoff) => pruneRetiredFiles(herald.db, herald.assetsDir, cutoff),
    );
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  let closed: Promise<void> | null = null;
  return {
    herald,
    app,
    url: `${https ? 'https' : 'http'}://${host}:${port}`,
    close(graceMs = config.shutdownGraceMs) {
      // Requests and deliveries drain side by side, within one grace period; then the store closes.
      closed ??= (async () => {
        await Promise.all([drainServer(app.server, () => app.close(), graceMs), herald.delivery.stop(graceMs), herald.schedules.stop()]);
        await stopPruner?.();
        await stopReplayPruner?.();
        await stopFilePruner?.();
        await herald.close();
      })();
      return closed;
    },
  };
}

/** A worker's HTTP face: liveness, readiness and metrics. */
async function buildWorkerApp(herald: Herald, https: ServeOptions['https']): Promise<FastifyInstance> {
  const app = Fastify({ ...(https ? { https } : {}), logger: false }) as unknown as FastifyInstance;
  app.setErrorHandler(errorHandler(herald.log, []));
  healthRoutes(app, herald);
  metricsRoutes(app, herald);
  return app;
}
