import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import type { Logger } from 'pino';
import { hashToken, newToken } from './auth/secrets.ts';
import type { Config } from './config.ts';
import { assetUrlKey, type AssetUrlKey } from './content/asset-urls.ts';
import { createEventLog, type EventLog } from './events/record.ts';
import type { Caller, StackScope } from './auth/caller.ts';
import { authenticate, stackScope, type WithHeaders } from './auth/access.ts';
import type { Db } from './store/db.ts';
import { openSqlite } from './store/sqlite.ts';
import { openPostgres } from './store/postgres.ts';
import { createWebhookIndex, type WebhookIndex } from './webhooks/match-index.ts';
import { createWebhookService, type WebhookService } from './webhooks/service.ts';
import { shareWebhookIndex } from './webhooks/shared-index.ts';
import { createDelivery, type Delivery } from './delivery/delivery.ts';
import { webhookExecutions } from './delivery/queue/index.ts';
import { createReplays, type Replays } from './delivery/replay.ts';
import { createLogger, redacting } from './ops/log.ts';
import { createScheduler, type Scheduler } from './content/schedule.ts';
import { createMailer } from './ops/mail.ts';
import { createOperational, type Operational } from './delivery/operational.ts';

/**
 * Everything a running Herald is made of, wired once here and passed explicitly to the HTTP
 * routes and the delivery engine. Nothing else constructs these.
 */
export interface Herald {
  config: Config;
  db: Db;
  log: Logger;
  /** SHA-256 of the admin token; the token itself is never stored. */
  adminHash: string;
  events: EventLog;
  /** Each stack's enabled webhooks, compiled for matching events. */
  matchIndex: WebhookIndex;
  /** Operational events and the notifiers' email (delivery/operational.ts). */
  operational: Operational;
  /** Webhook changes (both dialects' routes). */
  webhooks: WebhookService;
  delivery: Delivery;
  /** Replays of webhooks' failed executions or past events (POST /v3/webhooks/{uid}/replay). */
  replays: Replays;
  /** Where uploaded asset files live. */
  assetsDir: string;
  /** The key asset capability URLs are made with (content/asset-urls.ts); never shown or logged. */
  assetUrlKey: AssetUrlKey;
  /** Scheduled publishes (content/schedule.ts): started by processes that serve the API. */
  schedules: Scheduler;
  caller(req: WithHeaders): Promise<Caller>;
  /** Authenticates a Contentstack-dialect request and checks access to its stack and branch. */
  scope(req: WithHeaders): Promise<StackScope>;
  close(): Promise<void>;
}

export interface OpenOptions {
  log?: Logger;
  /** Called once with a freshly generated admin token (first start without HERALD_ADMIN_TOKEN). */
  onAdminTokenGenerated?: (token: string) => void;
}

export async function openHerald(config: Config, opts: OpenOptions = {}): Promise<Herald> {
  // Every logger Herald uses redacts credentials and secrets (src/ops/log.ts).
  const log = opts.log ? redacting(opts.log) : createLogger(config);
  mkdirSync(config.dataDir, { recursive: true });
  // PostgreSQL when a database URL is given (several processes, one database), else SQLite.
  const db = config.databaseUrl
    ? await openPostgres(config.databaseUrl, {
        poolSize: config.databasePoolSize,
        applicationName: `herald-${config.role}`,
        // A worker only writes delivery bookkeeping, redone if a database crash loses it.
        asyncCommit: config.role === 'worker',
      })
    : await openSqlite(join(config.dataDir, 'herald.db'), {
        // WAL checkpoints off the event loop (store/sqlite-checkpoint.ts).
        checkpointThread: true,
        onCheckpointError: (err) => log.warn({ err }, 'the WAL checkpoint thread failed; SQLite checkpoints inside commits from now on'),
      });
  const adminHash = await adminTokenHash(db, config, opts.onAdminTokenGenerated ?? ((t) => printAdminToken(t)));
  const matchIndex = await shareWebhookIndex(db, createWebhookIndex());
  // Operational events are recorded through the event log, which fans out through the delivery
  // engine that records them: bound late, once both exist.
  let events: EventLog | null = null;
  const mailer = config.smtpUrl ? createMailer(config.smtpUrl, log) : undefined;
  const operational = createOperational({ record: (tx, input) => events!.record(tx, input), mailer, log });
  const delivery = createDelivery({ db, config, log, webhooks: matchIndex, operational });
  const webhooks = createWebhookService({ db, index: matchIndex, executions: webhookExecutions, wake: () => delivery.wake(), announcer: operational.announcer });
  events = createEventLog(delivery.fanOut);
  const replays = createReplays({ db, log, wake: () => delivery.wake(), autoSaveWindowMs: config.autoSaveWindowMs });
  const assetsDir = join(config.dataDir, 'assets');
  mkdirSync(assetsDir, { recursive: true });
  const herald: Herald = {
    config,
    db,
    log,
    adminHash,
    events: events!,
    matchIndex,
    operational,
    webhooks,
    delivery,
    replays,
    assetsDir,
    assetUrlKey: await assetUrlKey(db),
    schedules: undefined as unknown as Scheduler,
    caller: (req) => authenticate(req, db, adminHash),
    scope: (req) => stackScope(req, db, adminHash),
    async close() {
      await herald.schedules.stop();
      await replays.stop();
      await delivery.stop();
      mailer?.close();
      await db.close();
    },
  };
  // The scheduler makes changes as content code does: with this Herald as its dependencies.
  herald.schedules = createScheduler(herald, log);
  return herald;
}

function printAdminToken(token: string) {
  process.stderr.write(
    `\nHerald generated an admin token. It is shown once; only its hash is stored:\n\n  ${token}\n\n` +
      'Send it as the `authtoken` header. Set HERALD_ADMIN_TOKEN to choose your own.\n\n',
  );
}

/**
 * The admin token's hash: from HERALD_ADMIN_TOKEN when set (and stored, so a later start without
 * it still accepts it), else the stored one, else a new token generated and printed once.
 */
async function adminTokenHash(db: Db, config: Config, onGenerated: (token: string) => void): Promise<string> {
  if (config.adminToken) {
    const hash = hashToken(config.adminToken);
    await db.run(
      "INSERT INTO meta (key, value) VALUES ('admin_token_hash', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      [hash],
    );
    return hash;
  }
  const row = await db.get<{ value: string }>("SELECT value FROM meta WHERE key = 'admin_token_hash'");
  if (row) return row.value;
  const token = newToken('hrd_');
  const hash = hashToken(token);
  // Several processes may start at once on a new PostgreSQL database: the first one's token wins.
  const { changes } = await db.run("INSERT INTO meta (key, value) VALUES ('admin_token_hash', ?) ON CONFLICT (key) DO NOTHING", [hash]);
  if (changes === 0) return (await db.get<{ value: string }>("SELECT value FROM meta WHERE key = 'admin_token_hash'"))!.value;
  onGenerated(token);
  return hash;
}
