import { Command, CommanderError, Option } from 'commander';
import { CONFIG_ENV, describeDatabaseUrl, flagOf, resolveConfig, SETTING_KEYS, SETTINGS, type Config } from './config.ts';
import { HeraldError } from './errors.ts';
import { backupCommand, restoreCommand } from './backup/cli.ts';
import { replayCommand } from './delivery/replay-cli.ts';
import { listenCommand } from './listen/cli.ts';
import { handleSignals } from './ops/shutdown.ts';
import { tuneHeap } from './ops/heap.ts';
import { relayedSignals } from './ops/launch.js';
import { backupStore } from './ops/db-backup.ts';
import { formatStatus, migrateStore, storeStatus } from './ops/db-migrations.ts';

const program = new Command('herald').description('Herald: a headless content service whose webhooks are its heart');

/** Stops with the error's message and exit code 2 (a bad setting, a refused command), or rethrows. */
function fail(err: unknown): never {
  if (err instanceof HeraldError) {
    process.stderr.write(`herald: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
}

/**
 * Adds a flag for each of `keys` (all settings by default), described from the settings table in
 * src/config.ts, plus --config; returns how commander names each option's value.
 */
function settingOptions(cmd: Command, keys: Array<keyof Config> = SETTING_KEYS): Map<string, keyof Config> {
  cmd.addOption(new Option('--config <file>', `a JSON file of settings keyed as Config (${CONFIG_ENV}); flags and environment win over it`));
  const byAttribute = new Map<string, keyof Config>();
  for (const key of keys) {
    const s = SETTINGS[key];
    const option = new Option(s.bare === undefined ? `${flagOf(key)} <${s.arg}>` : `${flagOf(key)} [${s.arg}]`, `${s.help} (${s.env}; default: ${s.shown})`);
    cmd.addOption(option);
    byAttribute.set(option.attributeName(), key);
  }
  // A bad flag or an unknown option is a usage error: exit 2, like a bad setting.
  cmd.exitOverride((err) => {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version') process.exit(0);
    process.exit(2);
  });
  return byAttribute;
}

/** Runs an upkeep command: a refusal exits 2, any other failure (e.g. an unreachable database) 1, both with one line. */
async function upkeep(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof HeraldError) fail(err);
    process.stderr.write(`herald: ${(err as Error).message || String(err)}\n`);
    process.exit(1);
  }
}

/** The configuration from flags (as text), the environment and the config file, checked. */
function configFrom(opts: Record<string, string | boolean | undefined>, byAttribute: Map<string, keyof Config>): Config {
  const flags: Partial<Record<keyof Config, string>> = {};
  for (const [attribute, key] of byAttribute) {
    const value = opts[attribute];
    // A bare flag (`--trust-proxy`) arrives as `true`: it means the setting's `bare` text.
    if (value !== undefined) flags[key] = value === true ? (SETTINGS[key].bare ?? 'true') : String(value);
  }
  try {
    return resolveConfig({ flags, env: process.env, file: opts.config as string | undefined }).config;
  } catch (err) {
    fail(err);
  }
}

const serve = program.command('serve').description('run the Herald server (API, web app and delivery); every setting below is also an environment variable and a config file key');
const serveOptions = settingOptions(serve);
serve.action(async (opts: Record<string, string | undefined>) => {
  // Started by the `herald` command with node flags (src/ops/launch.js): signals come from it.
  const relayed = relayedSignals();
  const config = configFrom(opts, serveOptions);
  // The old generation is collected at 1.3x what was live, not V8's up to 4x (src/ops/heap.ts).
  tuneHeap();
  // Loaded here, not at the top: the server is most of the sources (~1.5 s of CPU to load under
  // tsx), and the other commands (restore, backup, replay, listen, db) start without it.
  const { startServer } = await import('./server.ts');
  const running = await startServer(config).catch(fail); // e.g. the database cannot be reached
  // Handlers first: a supervisor that sends SIGTERM as soon as it reads "listening" must get a
  // graceful stop, not the default action of a signal nobody handles yet.
  handleSignals({ log: running.herald.log, graceMs: config.shutdownGraceMs, stop: () => running.close(config.shutdownGraceMs), listen: relayed?.listen });
  running.herald.log.info(
    { url: running.url, dataDir: config.dataDir, role: config.role, database: config.databaseUrl ? describeDatabaseUrl(config.databaseUrl) : 'sqlite' },
    'herald is listening',
  );
});

program.addCommand(backupCommand());
program.addCommand(restoreCommand());
program.addCommand(replayCommand());
program.addCommand(listenCommand());

// herald db backup | migrate | status: upkeep of the store (src/ops/db-*.ts).
const db = program.command('db').description('upkeep of the store: online backup, migrations');
{
  const cmd = db
    .command('backup')
    .description('write a consistent copy of the SQLite store to FILE, online: Herald may keep running (PostgreSQL: use pg_dump)')
    .requiredOption('--to <file>', 'the new backup file (never overwritten)');
  const keys = settingOptions(cmd, ['dataDir', 'databaseUrl']);
  cmd.action(async (opts: Record<string, string | undefined>) => {
    const config = configFrom(opts, keys);
    if (config.databaseUrl) fail(new HeraldError('bad_request', 'herald db backup copies the SQLite store; for PostgreSQL use pg_dump.'));
    await upkeep(async () => {
      const r = await backupStore(config.dataDir, opts.to!);
      process.stdout.write(`backed up ${r.pages} pages (${r.bytes} bytes) to ${r.file}; integrity check: ${r.check}\n`);
    });
  });
}
{
  const cmd = db.command('status').description('list the migrations this Herald knows and whether the store has them');
  const keys = settingOptions(cmd, ['dataDir', 'databaseUrl']);
  cmd.action(async (opts: Record<string, string | undefined>) => {
    const config = configFrom(opts, keys);
    await upkeep(async () => void process.stdout.write(`${formatStatus(await storeStatus(config))}\n`));
  });
}
{
  const cmd = db.command('migrate').description('apply the pending migrations (herald serve also applies them at start)');
  const keys = settingOptions(cmd, ['dataDir', 'databaseUrl']);
  cmd.action(async (opts: Record<string, string | undefined>) => {
    const config = configFrom(opts, keys);
    await upkeep(async () => {
      const { status, applied } = await migrateStore(config);
      process.stdout.write(`${applied.length ? `applied ${applied.join(', ')}` : 'nothing to apply'}\n${formatStatus(status)}\n`);
    });
  });
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // exitOverride() turned a usage error into this; commander already printed it.
  if (err instanceof CommanderError) process.exit(2);
  throw err;
}
