#!/usr/bin/env node
// The installed `herald` command. `herald serve` needs node flags V8 reads only at start (the young
// generation's size): when node was not given them, it is started again with them and this process
// stays as its parent, relaying signals (src/ops/launch.js, plain JavaScript: no tsx loaded here).
// Otherwise: registers tsx so the TypeScript sources run as they are (no build step to forget),
// then hands over to the CLI.
import { launchFlags, relaunch, relayedSignals } from '../src/ops/launch.js';

// Relaunched by a `herald` command: watch it from now on, before the slow part (tsx, the sources).
relayedSignals();

const flags = launchFlags(process.argv.slice(2), process.env, process.execArgv);
if (flags.length > 0) relaunch(flags);
else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli.ts');
}
