import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTool, type ToolRun } from './https.ts';

const require = createRequire(import.meta.url);
/** The csdx binary of the devDependency @contentstack/cli. */
export const CSDX = join(process.cwd(), 'node_modules/.bin/csdx');

/**
 * Records in csdx's own config (through its config handler, in the HOME of `env`) that the
 * latest-version check ran today and found this version, as csdx itself does after a check. Without
 * it, every command first asks registry.npmjs.org and, with no network, logs
 * "ERROR: Failed to check the latest version": a test that requires "no error logged" could not tell
 * that line from a real error.
 */
export function skipCsdxVersionCheck(env: NodeJS.ProcessEnv): void {
  const version = (require('@contentstack/cli/package.json') as { version: string }).version;
  const cache = { lastChecked: Date.now(), lastWarnedDate: new Date().toISOString().split('T')[0], latestVersion: version };
  const script = `const { configHandler } = require('@contentstack/cli-utilities');
configHandler.set('CLI_VERSION', ${JSON.stringify(version)});
configHandler.set('versionUpgradeWarningCache', ${JSON.stringify(cache)});`;
  execFileSync(process.execPath, ['-e', script], { env, cwd: process.cwd(), stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * Runs csdx with `env` in a scratch working directory (csdx writes its logs under the cwd). Without
 * NODE_ENV: `npm test` sets NODE_ENV=test, and under it some csdx commands (cm:entries:unpublish)
 * print their configuration and return without doing anything.
 */
export function csdx(env: NodeJS.ProcessEnv, args: string[], timeoutMs = 240_000): Promise<ToolRun> {
  const { NODE_ENV: _, ...rest } = env;
  return runTool(CSDX, args, { env: rest, cwd: mkdtempSync(join(tmpdir(), 'herald-csdx-')), timeoutMs });
}
