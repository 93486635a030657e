/**
 * What a recorded and delivered event leaves to V8's old generation: each byte promoted is paid
 * for by a mark-compact, whose pause and helper threads start most of the latency line's slow
 * bursts (bench/run.ts; session 26). Counts of bytes under forced collections, not times.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';

/**
 * A process with the collector at hand (--expose-gc): Herald on SQLite (executions written leased
 * for its dispatcher, prelease.ts) and a receiver that keeps nothing; 20 events (~1 KB of data
 * each) recorded together as the API's writes are (gathered), each batch waited for until
 * delivered, a scavenge every 10 batches, after 20 batches and a mark-compact not counted.
 * Prints the old generation's growth per event, bytes.
 */
const CHILD = `
import { createServer } from 'node:http';
import { getHeapSpaceStatistics } from 'node:v8';
import { startHerald, removeDir } from './test/helpers/herald.ts';
import { createWebhook } from './test/helpers/engine.ts';
const old = () => getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_used_size;
let got = 0;
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    got++;
    res.end('ok');
  });
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const h = await startHerald({ backend: 'sqlite' });
const stack = await h.newStack();
await createWebhook(h, stack, 'http://127.0.0.1:' + server.address().port + '/');
const pad = 'x'.repeat(1000);
let n = 0;
const record = (i) => h.herald.db.tx((tx) => h.herald.events.record(tx, { api_key: stack.api_key, branch: 'main', module: 'entry', action: 'update', uid: 'blt' + i, content_type_uid: 'post', locale: 'en-us', actor: 'test', data: { pad, i } }), { gather: true });
const batch = async () => {
  const want = got + 20;
  await Promise.all(Array.from({ length: 20 }, () => record(n++)));
  while (got < want) await new Promise((r) => setTimeout(r, 1));
};
for (let k = 0; k < 20; k++) await batch();
globalThis.gc();
const before = old();
for (let k = 0; k < 100; k++) {
  await batch();
  if (k % 10 === 9) globalThis.gc({ type: 'minor' });
}
console.log(JSON.stringify({ perEvent: (old() - before) / 2000 }));
await h.close();
server.close();
removeDir(h.dataDir);
`;

describe('what a delivered event leaves to the old generation', () => {
  it("leaves no transaction's pre-lease bookkeeping to be promoted (delivery.ts admittedIn)", () => {
    // The fan-out's per-transaction list of executions written leased was kept in a WeakMap by
    // transaction until a collection found the transaction dead: 1,007-1,132 bytes per event
    // reached the old generation here, 633-658 once the entry leaves at commit (session 27, h2).
    const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', CHILD], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const { perEvent } = JSON.parse(r.stdout.trim().split('\n').pop()!);
    assert.ok(perEvent < 850, `${perEvent.toFixed(0)} bytes reached the old generation per event delivered`);
  });
});
