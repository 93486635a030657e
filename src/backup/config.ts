import { resolve } from 'node:path';
import { parseDuration } from '../config.ts';
import { HeraldError } from '../errors.ts';

/**
 * Settings of `herald backup`, each a flag and an environment variable (flag > environment >
 * default). A bad value stops the backup center at start with a message naming the setting.
 */
export interface BackupConfig {
  host: string;
  /** TCP port; 0 picks a free one (tests). */
  port: number;
  /** Where the SQLite store (backup.db) and asset files (blobs/) live. */
  dataDir: string;
  /**
   * Standard Webhooks signing secrets (`whsec_...`); a delivery signed by any of them is accepted
   * (one per webhook pointing here, or the old and new one during a rotation).
   */
  secrets: string[];
  /** Accept deliveries carrying these basic auth credentials (and protect the browse pages). */
  basicAuth?: { user: string; password: string };
  /** Herald's URL, for catching up from its event feed and downloading asset files. */
  source?: string;
  /** Stacks to catch up even before a delivery from them arrives. */
  apiKeys: string[];
  /** Token for the source: a management token of the stack, or the admin token for every stack. */
  token?: string;
  /** How often each stack catches up from the feed, ms (default one minute). */
  catchUpIntervalMs: number;
  /**
   * How often each stack's publish queues are read between catch-ups, ms (default 5 s; 0: at
   * catch-up only). Scheduling records no event, so no delivery hints at it as one does at a change.
   */
  queueIntervalMs: number;
  /**
   * Events younger than this (ms) are stored but not yet counted as contiguous: a source with
   * several writers (PostgreSQL) may still commit a smaller seq. Default 5 s.
   */
  settleMs: number;
  /** Largest delivery body, bytes (default 16 MiB). */
  bodyLimit: number;
  logLevel: string;
}

export const BACKUP_DEFAULTS: BackupConfig = {
  host: '127.0.0.1',
  port: 4200,
  dataDir: './backup',
  secrets: [],
  apiKeys: [],
  catchUpIntervalMs: 60_000,
  queueIntervalMs: 5_000,
  settleMs: 5_000,
  bodyLimit: 16 * 1024 * 1024,
  logLevel: 'info',
};

/** The environment variable of each setting. */
export const BACKUP_ENV: Record<keyof BackupConfig, string> = {
  host: 'HERALD_BACKUP_HOST',
  port: 'HERALD_BACKUP_PORT',
  dataDir: 'HERALD_BACKUP_DATA_DIR',
  secrets: 'HERALD_BACKUP_SECRET',
  basicAuth: 'HERALD_BACKUP_BASIC_AUTH',
  source: 'HERALD_BACKUP_SOURCE',
  apiKeys: 'HERALD_BACKUP_API_KEY',
  token: 'HERALD_BACKUP_TOKEN',
  catchUpIntervalMs: 'HERALD_BACKUP_CATCH_UP_INTERVAL',
  queueIntervalMs: 'HERALD_BACKUP_QUEUE_INTERVAL',
  settleMs: 'HERALD_BACKUP_SETTLE_TIME',
  bodyLimit: 'HERALD_BACKUP_BODY_LIMIT',
  logLevel: 'HERALD_BACKUP_LOG_LEVEL',
};

function settingError(setting: string, problem: string) {
  return new HeraldError('validation_failed', `Invalid setting ${setting}: ${problem}`, { errors: { [setting]: [problem] } });
}

function int(text: string, setting: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw settingError(setting, `"${text}" must be a whole number from ${min} to ${max}`);
  return n;
}

/** A `whsec_` secret whose key is base64 of at least 24 bytes, as the scheme asks. */
export function parseSecret(text: string, setting: string): string {
  const key = text.startsWith('whsec_') ? text.slice(6) : '';
  if (!key || !/^[A-Za-z0-9+/]+={0,2}$/.test(key) || Buffer.from(key, 'base64').length < 24) {
    throw settingError(setting, 'must be a Standard Webhooks secret: whsec_ followed by base64 of at least 24 bytes (the webhook\'s signing_secret)');
  }
  return text;
}

export function parseUrl(text: string, setting: string): string {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw settingError(setting, `"${text}" is not a URL (expected e.g. http://127.0.0.1:4100)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw settingError(setting, 'must be an http or https URL');
  if (u.username || u.password) throw settingError(setting, 'must not carry credentials (give --token)');
  return u.origin + u.pathname.replace(/\/+$/, '');
}

const list = (text: string) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

const PARSE: { [K in keyof BackupConfig]-?: (text: string, setting: string) => BackupConfig[K] } = {
  host: (t) => t,
  port: (t, s) => int(t, s, 0, 65535),
  dataDir: (t) => t,
  secrets: (t, s) => list(t).map((x) => parseSecret(x, s)),
  basicAuth: (t, s) => {
    const i = t.indexOf(':');
    if (i <= 0 || i === t.length - 1) throw settingError(s, 'must be user:password');
    return { user: t.slice(0, i), password: t.slice(i + 1) };
  },
  source: (t, s) => parseUrl(t, s),
  apiKeys: (t, s) => {
    const keys = list(t);
    for (const k of keys) if (!/^[A-Za-z0-9_-]{1,64}$/.test(k)) throw settingError(s, `"${k}" is not a stack api_key`);
    return keys;
  },
  token: (t, s) => {
    if (t.trim() === '') throw settingError(s, 'must not be empty');
    return t.trim();
  },
  catchUpIntervalMs: (t, s) => {
    const ms = parseDuration(t, s);
    if (ms < 100) throw settingError(s, 'must be at least 100ms');
    return ms;
  },
  queueIntervalMs: (t, s) => {
    const ms = parseDuration(t, s);
    if (ms !== 0 && ms < 100) throw settingError(s, 'must be 0 (at catch-up only) or at least 100ms');
    return ms;
  },
  settleMs: (t, s) => parseDuration(t, s),
  bodyLimit: (t, s) => int(t, s, 1024, 1024 ** 3),
  logLevel: (t, s) => {
    if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(t)) throw settingError(s, `"${t}" is not a log level`);
    return t;
  },
};

/** Parses one flag's text with the rules of its environment variable. */
export function parseBackupSetting<K extends keyof BackupConfig>(key: K, text: string, name: string): BackupConfig[K] {
  return PARSE[key](text, name) as BackupConfig[K];
}

/**
 * Builds the settings: `flags` (already parsed) over the environment over the defaults. The
 * backup center refuses to start without a way to tell Herald's deliveries from anyone else's
 * (a secret or basic auth), and with a source but no token.
 */
export function loadBackupConfig(flags: Partial<BackupConfig> = {}, env: NodeJS.ProcessEnv = process.env): BackupConfig {
  const config: BackupConfig = { ...BACKUP_DEFAULTS };
  for (const key of Object.keys(BACKUP_ENV) as Array<keyof BackupConfig>) {
    const raw = env[BACKUP_ENV[key]];
    if (raw !== undefined && raw !== '') (config as unknown as Record<string, unknown>)[key] = PARSE[key](raw, BACKUP_ENV[key]);
  }
  for (const [key, value] of Object.entries(flags)) {
    if (value !== undefined) (config as unknown as Record<string, unknown>)[key] = value;
  }
  config.dataDir = resolve(config.dataDir);
  if (config.secrets.length === 0 && !config.basicAuth) {
    throw settingError(
      `${BACKUP_ENV.secrets} (--secret)`,
      `is required, or ${BACKUP_ENV.basicAuth} (--basic-auth): without either the backup center cannot tell Herald's deliveries from anyone else's`,
    );
  }
  if (config.source && !config.token) {
    throw settingError(`${BACKUP_ENV.token} (--token)`, 'is required with --source: a management token of the stack, or the admin token');
  }
  if (config.token && !config.source) throw settingError(`${BACKUP_ENV.source} (--source)`, 'is required with --token (the Herald to catch up from)');
  return config;
}
