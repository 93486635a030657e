import { createHmac, randomBytes } from 'node:crypto';
import { pino, type Logger } from 'pino';
import { HeraldError } from '../errors.ts';
import { deliveryVerifier } from './auth.ts';
import { Blobs } from './blobs.ts';
import { CatchUp } from './catch-up.ts';
import type { BackupConfig } from './config.ts';
import { AssetFiles } from './files.ts';
import { Ingest } from './ingest.ts';
import { Restorer } from './restore/restorer.ts';
import { Target } from './restore/target.ts';
import type { BackupContext } from './context.ts';
import { buildBackupApp } from './server.ts';
import { Source } from './source.ts';
import { BackupStore } from './store.ts';

export interface RunningBackup {
  url: string;
  context: BackupContext;
  close(): Promise<void>;
}

export async function startBackupCenter(config: BackupConfig, opts: { log?: Logger } = {}): Promise<RunningBackup> {
  const log = opts.log ?? pino({ level: config.logLevel });
  const store = new BackupStore(config.dataDir);
  const blobs = new Blobs(config.dataDir);
  const source = config.source && config.token ? new Source(config.source, config.token) : undefined;
  const ingest = new Ingest(store, new AssetFiles(store, blobs, source), log);
  const catchUp = source ? new CatchUp({ store, source, ingest, log, intervalMs: config.catchUpIntervalMs, queueIntervalMs: config.queueIntervalMs, settleMs: config.settleMs }) : undefined;
  for (const k of config.apiKeys) store.ensureStack(k);
  const context: BackupContext = {
    config,
    store,
    blobs,
    ingest,
    source,
    catchUp,
    log,
    verify: deliveryVerifier({ secrets: config.secrets, basicAuth: config.basicAuth }),
    csrf: createHmac('sha256', randomBytes(32)).update('restore').digest('base64url'),
    async restore(apiKey, branch, module, uid, sel, contentTypeUid) {
      if (!config.source || !config.token) {
        throw new HeraldError('validation_failed', 'Restoring from the backup center needs --source and --token (the Herald to restore into).', {
          errors: { source: ['is not configured'] },
        });
      }
      const target = new Target({ url: config.source, api_key: apiKey, token: config.token, branch });
      return new Restorer(store, blobs, target, { api_key: apiKey, branch }).restoreEntity(module, uid, sel, contentTypeUid);
    },
  };
  const app = await buildBackupApp(context);
  await app.listen({ host: config.host, port: config.port });
  catchUp?.start();
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return {
    url: `http://${host}:${port}`,
    context,
    async close() {
      await app.close();
      await catchUp?.stop();
      store.close();
    },
  };
}
