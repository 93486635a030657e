// Runs contentful-export, contentful-import or contentful-migration through its library API, in a
// process of its own started with toolEnv() (test/helpers/https.ts): the export's CLI crashes on
// Node 20 (yargs), the import's ESM entry does too (so they are loaded with require), and the
// migration's CLI drops the host of ~/.contentfulrc.json (its own --host-less argv overwrites it),
// while its runMigration() takes `host`.
//
//   node contentful-tool.mjs export|import|migration '<options as JSON>'
//
// Exits 0 when the tool resolved (export and import reject when they logged any error), 1 with
// its errors printed.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const [tool, json] = process.argv.slice(2);
const options = JSON.parse(json);
try {
  if (tool === 'migration') await require('contentful-migration').runMigration(options);
  else {
    const run = require(tool === 'export' ? 'contentful-export' : 'contentful-import');
    await (run.default ?? run)({ useVerboseRenderer: true, ...options });
  }
  process.exit(0);
} catch (err) {
  console.error(`${tool} failed: ${err.message}`);
  for (const e of err.errors ?? []) console.error(JSON.stringify(e.error?.data ?? e.error?.message ?? e.error ?? e).slice(0, 2000));
  process.exit(1);
}
