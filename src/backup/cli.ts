import { Command, InvalidArgumentError, Option } from 'commander';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { HeraldError } from '../errors.ts';
import { Blobs } from './blobs.ts';
import { startBackupCenter } from './center.ts';
import { BACKUP_DEFAULTS, loadBackupConfig, parseBackupSetting, parseUrl, type BackupConfig } from './config.ts';
import type { Module } from './event.ts';
import { Restorer, type RestoreReport } from './restore/restorer.ts';
import { Target } from './restore/target.ts';
import { parseSelection } from './selection.ts';
import { BackupStore, STORE_FILE } from './store.ts';

/**
 * `herald backup` and `herald restore`, registered in src/cli.ts with one line each.
 */

function flag<K extends keyof BackupConfig>(key: K, name: string) {
  return (text: string) => {
    try {
      return parseBackupSetting(key, text, name);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  };
}

/** Stops with the setting's message (exit 2) instead of a stack trace. */
function fail(err: unknown): never {
  if (err instanceof HeraldError) {
    process.stderr.write(`herald: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
}

export function backupCommand(): Command {
  const d = BACKUP_DEFAULTS;
  return new Command('backup')
    .description('run the backup center: receives Herald webhooks and keeps every version of every change, with asset files')
    .addOption(new Option('--port <port>', `port to listen on (HERALD_BACKUP_PORT); default ${d.port}`).argParser(flag('port', '--port')))
    .addOption(new Option('--host <host>', `address to listen on (HERALD_BACKUP_HOST); default ${d.host}`).argParser(flag('host', '--host')))
    .addOption(new Option('--data-dir <dir>', `where backup.db and blobs/ live (HERALD_BACKUP_DATA_DIR); default ${d.dataDir}`).argParser(flag('dataDir', '--data-dir')))
    .addOption(
      new Option('--secret <whsec>', "the webhook's signing secret; comma-separated for several (HERALD_BACKUP_SECRET)").argParser(flag('secrets', '--secret')),
    )
    .addOption(
      new Option('--basic-auth <user:pass>', 'accept deliveries with these credentials, and require them on the pages (HERALD_BACKUP_BASIC_AUTH)').argParser(
        flag('basicAuth', '--basic-auth'),
      ),
    )
    .addOption(new Option('--source <url>', 'Herald to catch up from and download asset files from (HERALD_BACKUP_SOURCE)').argParser(flag('source', '--source')))
    .addOption(new Option('--api-key <keys>', 'stacks to catch up from the start, comma-separated (HERALD_BACKUP_API_KEY)').argParser(flag('apiKeys', '--api-key')))
    .addOption(new Option('--token <token>', "a stack's management token, or the admin token for every stack (HERALD_BACKUP_TOKEN)").argParser(flag('token', '--token')))
    .addOption(
      new Option('--catch-up-interval <duration>', 'how often to read the event feed (HERALD_BACKUP_CATCH_UP_INTERVAL); default 60s').argParser(
        flag('catchUpIntervalMs', '--catch-up-interval'),
      ),
    )
    .addOption(
      new Option('--queue-interval <duration>', 'how often to read the publish queues between catch-ups, 0 at catch-up only (HERALD_BACKUP_QUEUE_INTERVAL); default 5s').argParser(
        flag('queueIntervalMs', '--queue-interval'),
      ),
    )
    .addOption(
      new Option('--settle-time <duration>', 'events younger than this are not yet counted as contiguous (HERALD_BACKUP_SETTLE_TIME); default 5s').argParser(
        flag('settleMs', '--settle-time'),
      ),
    )
    .action(async (o: Record<string, any>) => {
      // Commander names each value after its flag; the settings have their own names.
      const flags: Partial<BackupConfig> = {
        port: o.port,
        host: o.host,
        dataDir: o.dataDir,
        secrets: o.secret,
        basicAuth: o.basicAuth,
        source: o.source,
        apiKeys: o.apiKey,
        token: o.token,
        catchUpIntervalMs: o.catchUpInterval,
        queueIntervalMs: o.queueInterval,
        settleMs: o.settleTime,
      };
      let config: BackupConfig;
      try {
        config = loadBackupConfig(flags);
      } catch (err) {
        fail(err);
      }
      const running = await startBackupCenter(config);
      running.context.log.info(
        { url: running.url, dataDir: config.dataDir, source: config.source ?? null, stacks: config.apiKeys },
        'backup center is listening',
      );
      let stopping = false;
      const stop = async () => {
        if (stopping) process.exit(0);
        stopping = true;
        await running.close();
        process.exit(0);
      };
      process.on('SIGTERM', () => void stop());
      process.on('SIGINT', () => void stop());
    });
}

/** `herald restore`'s flags, as commander gives them. */
export interface RestoreFlags {
  from: string;
  to: string;
  apiKey: string;
  token?: string;
  stack?: string;
  branch: string;
  entry?: string;
  contentType?: string;
  asset?: string;
  version?: string;
  before?: string;
  locale?: string;
  seq?: string;
  incarnation?: string;
  json?: boolean;
}

export function restoreCommand(): Command {
  return new Command('restore')
    .description('restore from a backup into a Herald, through its public API: one entity (--entry, --content-type, --asset) or, without them, the whole stack')
    .requiredOption('--from <dir>', 'the backup center\'s data dir')
    .requiredOption('--to <url>', 'the Herald to restore into, e.g. http://127.0.0.1:4100')
    .requiredOption('--api-key <key>', 'the stack to restore into')
    .option('--token <token>', 'a management token of that stack, or the admin token (or HERALD_RESTORE_TOKEN)')
    .option('--stack <key>', 'the stack in the backup to read (default: --api-key, or the only stack the backup holds)')
    .option('--branch <branch>', 'branch to read and write', 'main')
    .option('--entry <uid>', 'restore this entry')
    .option('--content-type <uid>', "restore this content type; with --entry, the entry's content type (needed when the backup holds entries of several content types with that uid)")
    .option('--asset <uid>', 'restore this asset')
    .option('--version <n>', 'bring back this _version (entries: of --locale, default the locale it was created in)')
    .option('--before <time>', 'bring back the content it had just before this time (ISO 8601 or ms)')
    .option('--locale <code>', 'entries: only this locale')
    .option('--seq <seq>', 'bring back the content of exactly this event')
    .option('--incarnation <n>', 'where the uid named several entities one after another (made again once deleted): look in the nth (1: the first; the versions API numbers them)')
    .option('--json', 'print the report as JSON')
    .action(async (f: RestoreFlags) => {
      let report: RestoreReport;
      try {
        report = await runRestore(f);
      } catch (err) {
        fail(err);
      }
      if (f.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      else printReport(report);
    });
}

/**
 * The restore `herald restore` runs: checks the flags, opens the backup, restores into the target.
 * A refused restore throws a HeraldError (the command prints its message, exit code 2). Exported for
 * the tests, which run most restores in their own process (test/backup/helpers/backup.ts).
 */
export async function runRestore(f: RestoreFlags): Promise<RestoreReport> {
  const token = f.token ?? process.env.HERALD_RESTORE_TOKEN;
  if (!token) throw new HeraldError('validation_failed', 'Give --token (or HERALD_RESTORE_TOKEN): a management token of the target stack.', { errors: { token: ['is required'] } });
  const dir = resolve(f.from);
  if (!existsSync(join(dir, STORE_FILE))) throw new HeraldError('not_found', `${dir} holds no backup (no ${STORE_FILE}).`, { errors: { from: ['is not a backup data dir'] } });
  const url = parseUrl(f.to, '--to');
  // With --entry, --content-type names the entry's content type (an entry is keyed by both).
  const chosen = [f.entry && 'entry', f.contentType && !f.entry && 'content_type', f.asset && 'asset'].filter(Boolean) as Module[];
  if (chosen.length > 1) throw new HeraldError('validation_failed', 'Give at most one of --entry, --content-type and --asset.', { errors: { entry: ['only one entity at a time'] } });
  const sel = parseSelection({ seq: f.seq, version: f.version, before: f.before, locale: f.locale, incarnation: f.incarnation });
  if (chosen.length === 0 && Object.keys(sel).length) {
    throw new HeraldError('validation_failed', '--version, --before, --locale, --seq and --incarnation need --entry, --content-type or --asset.', { errors: { entry: ['is required with a version'] } });
  }
  const store = new BackupStore(dir);
  try {
    const stack = f.stack ?? (store.stack(f.apiKey) ? f.apiKey : store.stacks().length === 1 ? store.stacks()[0].api_key : undefined);
    if (!stack || !store.stack(stack)) {
      throw new HeraldError('not_found', `The backup does not hold stack ${f.stack ?? f.apiKey}; give --stack (it holds ${store.stacks().map((s) => s.api_key).join(', ') || 'none'}).`, {
        errors: { stack: ['is not in the backup'] },
      });
    }
    const target = new Target({ url, api_key: f.apiKey, token, branch: f.branch });
    const restorer = new Restorer(store, new Blobs(dir), target, { api_key: stack, branch: f.branch });
    if (chosen.length === 0) return await restorer.restoreStack();
    const uid = (f.entry ?? f.contentType ?? f.asset)!;
    return await restorer.restoreEntity(chosen[0], uid, sel, f.entry ? f.contentType : undefined, '--content-type');
  } finally {
    store.close();
  }
}

function printReport(r: RestoreReport) {
  const out: string[] = [];
  for (const s of r.steps) {
    const as = s.target_uid && s.target_uid !== s.uid ? ` as ${s.target_uid}` : '';
    const where = [s.locale, s.environment].filter(Boolean).join(' ');
    out.push(`${s.action.padEnd(9)} ${s.module} ${s.uid}${as}${where ? ` (${where})` : ''}${s.name ? ` named ${JSON.stringify(s.name)}` : ''}${s.version ? ` from version ${s.version}` : ''}${s.scheduled ? ` to ${s.scheduled} at ${s.scheduled_at}` : ''}${s.scheduled_by ? ` (scheduled by ${s.scheduled_by} at the source)` : ''}`);
  }
  for (const w of r.warnings) out.push(`warning: ${w}`);
  if (r.steps.length === 0) out.push('nothing to restore: the target already has everything');
  process.stdout.write(out.join('\n') + '\n');
}
