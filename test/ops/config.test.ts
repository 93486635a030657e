import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULTS, ENV, flagOf, formatDuration, loadConfig, resolveConfig, SETTING_KEYS, SETTINGS, settingsMarkdown, type Config } from '../../src/config.ts';
import { PROCESS_START_MS } from '../helpers/engine.ts';

const dir = mkdtempSync(join(tmpdir(), 'herald-config-'));
let files = 0;
/** Writes a config file and returns its path. */
function configFile(content: unknown): string {
  const path = join(dir, `herald-${files++}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

/** The HeraldError `fn` throws: its message and the names in `errors`. */
function problem(fn: () => unknown): { message: string; fields: string[] } {
  try {
    fn();
  } catch (err) {
    const e = err as { code?: string; message: string; errors?: Record<string, string[]> };
    assert.equal(e.code, 'validation_failed', e.message);
    return { message: e.message, fields: Object.keys(e.errors ?? {}) };
  }
  assert.fail('expected the configuration to be refused');
}

/** Runs the herald command; returns its exit code and output. */
function herald(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    encoding: 'utf8',
    timeout: PROCESS_START_MS,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('configuration', () => {
  it('takes each setting from flag, then environment, then config file, then default', () => {
    const file = configFile({ port: 4300, host: '0.0.0.0', logLevel: 'warn', maxInFlight: 8 });
    const env = { HERALD_CONFIG: file, HERALD_PORT: '4400', HERALD_LOG_LEVEL: 'debug' };
    const { config, sources } = resolveConfig({ env, flags: { port: '4500' } });
    assert.equal(config.port, 4500); // flag over environment and file
    assert.equal(sources.port, 'flag');
    assert.equal(config.logLevel, 'debug'); // environment over file
    assert.equal(sources.logLevel, 'env');
    assert.equal(config.host, '0.0.0.0'); // file over default
    assert.equal(sources.host, 'file');
    assert.equal(config.maxInFlight, 8);
    assert.equal(config.deliveryTimeoutMs, DEFAULTS.deliveryTimeoutMs); // default
    assert.equal(sources.deliveryTimeoutMs, 'default');
  });

  it('reads a config file given directly before the one HERALD_CONFIG names', () => {
    const chosen = configFile({ port: 1111 });
    const other = configFile({ port: 2222 });
    assert.equal(resolveConfig({ file: chosen, env: { HERALD_CONFIG: other } }).config.port, 1111);
  });

  it('accepts typed values and environment-style text in the config file', () => {
    const file = configFile({
      retryDelaysMs: ['1s', 2000, '1m'],
      deliveryTimeoutMs: '5s',
      autoSaveWindowMs: 750,
      allowPrivateTargets: ['127.0.0.0/8', '::1/128'],
      rateLimit: '0',
      role: 'all',
    });
    const { config } = resolveConfig({ file });
    assert.deepEqual(config.retryDelaysMs, [1000, 2000, 60_000]);
    assert.equal(config.deliveryTimeoutMs, 5000);
    assert.equal(config.autoSaveWindowMs, 750);
    assert.deepEqual(config.allowPrivateTargets, ['127.0.0.0/8', '::1/128']);
    assert.equal(config.rateLimit, 0);
  });

  it('names the setting and its source when a value is bad', () => {
    const flag = problem(() => resolveConfig({ flags: { port: 'eighty' } }));
    assert.deepEqual(flag.fields, ['--port']);
    assert.match(flag.message, /--port: "eighty" must be a whole number/);

    const env = problem(() => resolveConfig({ env: { HERALD_DELIVERY_TIMEOUT: 'soon' } }));
    assert.deepEqual(env.fields, ['HERALD_DELIVERY_TIMEOUT']);
    assert.match(env.message, /HERALD_DELIVERY_TIMEOUT: "soon" is not a duration/);

    const file = configFile({ maxInFlight: 0 });
    const inFile = problem(() => resolveConfig({ file }));
    assert.match(inFile.message, new RegExp(`"maxInFlight" in ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: "0" must be a whole number from 1`));
  });

  it('refuses an unknown key, a value of the wrong kind, bad JSON and a missing file in the config file', () => {
    assert.match(problem(() => resolveConfig({ file: configFile({ prot: 4100 }) })).message, /"prot" in .* is not a setting \(settings: host, port/);
    assert.match(problem(() => resolveConfig({ file: configFile({ port: true }) })).message, /"port" in .* must be a string, a number or a list/);
    assert.match(problem(() => resolveConfig({ file: configFile('{"port": 4100,') })).message, /is not valid JSON/);
    assert.match(problem(() => resolveConfig({ file: configFile('[1, 2]') })).message, /must hold a JSON object/);
    const missing = problem(() => resolveConfig({ env: { HERALD_CONFIG: join(dir, 'nope.json') } }));
    assert.deepEqual(missing.fields, ['HERALD_CONFIG']);
    assert.match(missing.message, /cannot read the config file .*nope\.json: ENOENT/);
  });

  it('checks settings against each other, naming where the value came from', () => {
    const fromFile = problem(() => resolveConfig({ file: configFile({ role: 'worker' }) }));
    assert.match(fromFile.message, /"role" in the config file: "worker" needs a database shared by several processes: set HERALD_DATABASE_URL/);
    const fromEnv = problem(() => loadConfig({}, { HERALD_ROLE: 'api' }));
    assert.deepEqual(fromEnv.fields, ['HERALD_ROLE']);
  });

  it('never echoes a secret it refuses', () => {
    const bad = 'short-secret';
    const p = problem(() => resolveConfig({ env: { HERALD_METRICS_TOKEN: bad } }));
    assert.ok(!p.message.includes(bad), p.message);
  });

  it('shows each default as a value its own parser reads back to the default', () => {
    for (const key of SETTING_KEYS) {
      const s = SETTINGS[key];
      if (s.default === undefined) continue;
      const text = s.shown === 'empty' ? '' : s.shown;
      assert.deepEqual(s.parse(text, key), s.default, `${key}: shown default ${s.shown}`);
    }
    assert.equal(formatDuration(60_000), '1m');
    assert.equal(formatDuration(1500), '1500ms');
    assert.equal(formatDuration(30_000), '30s');
  });

  it('gives every setting its own flag and environment variable, the flag named after the variable', () => {
    const flags = SETTING_KEYS.map(flagOf);
    assert.equal(new Set(flags).size, flags.length);
    assert.equal(new Set(Object.values(ENV)).size, SETTING_KEYS.length);
    assert.equal(flagOf('maxInFlightPerWebhook'), '--max-in-flight-per-webhook');
    assert.equal(flagOf('retryDelaysMs'), '--retry-delays');
  });

  it('keeps the README settings table equal to the settings table', () => {
    const readme = readFileSync('README.md', 'utf8');
    const m = /<!-- settings:start.*?-->\n([\s\S]*?)\n<!-- settings:end -->/.exec(readme);
    assert.ok(m, 'README.md has the settings markers');
    assert.equal(m[1], settingsMarkdown(), 'README settings table is stale: regenerate it with the command in its start marker');
  });
});

describe('herald serve (configuration at the command line)', () => {
  it('lists every setting in --help with its flag, environment variable and default', () => {
    const r = herald(['serve', '--help']);
    assert.equal(r.code, 0, r.err);
    const help = r.out.replace(/\s+/g, ' ');
    assert.match(help, /--config <file>/);
    for (const key of SETTING_KEYS) {
      const s = SETTINGS[key];
      // A flag that may stand alone (`--trust-proxy`) shows its value as optional.
      assert.ok(help.includes(s.bare === undefined ? `${flagOf(key)} <${s.arg}>` : `${flagOf(key)} [${s.arg}]`), `--help lists ${flagOf(key)}`);
      assert.ok(help.includes(`(${s.env}; default: ${s.shown})`), `--help gives ${s.env} and the default of ${key}`);
    }
  });

  it('stops with exit code 2 and a message naming a bad flag, variable or file key', () => {
    const flag = herald(['serve', '--max-in-flight', 'many', '--data-dir', join(dir, 'a')]);
    assert.equal(flag.code, 2);
    assert.match(flag.err, /Invalid setting --max-in-flight: "many" must be a whole number/);

    const env = herald(['serve', '--data-dir', join(dir, 'b')], { HERALD_LOG_LEVEL: 'loud' });
    assert.equal(env.code, 2);
    assert.match(env.err, /Invalid setting HERALD_LOG_LEVEL: "loud" is not a log level/);

    const file = configFile({ shutdownGraceMs: 'later' });
    const fromFile = herald(['serve', '--config', file, '--data-dir', join(dir, 'c')]);
    assert.equal(fromFile.code, 2);
    assert.match(fromFile.err, /Invalid setting "shutdownGraceMs" in .*: "later" is not a duration/);

    const unknown = herald(['serve', '--colour', 'blue']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /unknown option '--colour'/);
  });
});

// Keep the Config type and the table in step at compile time: every key has a row.
const _every: Record<keyof Config, unknown> = SETTINGS;
void _every;
