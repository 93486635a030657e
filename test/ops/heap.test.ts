import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { HEAP_GROWTH_PERCENT, heapGrowthFlag } from '../../src/ops/heap.ts';

/**
 * A process that holds ~45 MB live and then promotes ~300 MB of garbage: 1 KB strings kept in a ring
 * of 20k (20 MB) long enough to survive two scavenges, as a delivery's objects survive its HTTP
 * exchange. Prints the most its old generation held and what stays live after a full collection, MB.
 * A fixed amount of work, not a time: V8 at its own choice let this reach ~290 MB, tuned ~110 MB.
 */
const CHURN = `
import { getHeapSpaceStatistics } from 'node:v8';
import { tuneHeap } from './src/ops/heap.ts';
if (process.env.TUNE) tuneHeap([]);
const old = () => getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_used_size / 1048576;
const pad = 'x'.repeat(1000);
const live = [];
for (let i = 0; i < 40_000; i++) live.push((pad + i).slice(1));
const ring = new Array(20_000).fill('');
let max = 0;
for (let k = 0; k < 300_000; k++) {
  ring[k % ring.length] = (pad + k).slice(1);
  if (k % 1000 === 0) max = Math.max(max, old());
}
ring.fill('');
globalThis.gc();
console.log(JSON.stringify({ max, live: old(), kept: live.length }));
`;

function churn(tune: boolean): { max: number; live: number } {
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', CHURN], {
    env: { ...process.env, TUNE: tune ? '1' : '' },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

describe('the old generation of a herald serve process (ops/heap.ts)', () => {
  it('is collected once it grows 30% past what was live, not at up to 4x as V8 would choose', () => {
    const tuned = churn(true);
    // What is live at each collection: the 45 MB kept and the ring's 20 MB. V8's floor: a limit
    // grows by at least its minimum step (16 MB) over that; and garbage promoted while a
    // collection's marking runs concurrently lands on top (30 MB of slack for a busy machine).
    const ceiling = (tuned.live + 20) * (1 + HEAP_GROWTH_PERCENT / 100) + 16 + 30;
    assert.ok(tuned.max <= ceiling, `old generation peaked at ${tuned.max.toFixed(0)} MB with ${tuned.live.toFixed(0)} MB live (at most ${ceiling.toFixed(0)})`);
  });

  it("leaves the growth to node's own --heap-growing-percent when one is given", () => {
    assert.equal(heapGrowthFlag([]), `--heap-growing-percent=${HEAP_GROWTH_PERCENT}`);
    assert.equal(heapGrowthFlag(['--import', 'tsx']), `--heap-growing-percent=${HEAP_GROWTH_PERCENT}`);
    assert.equal(heapGrowthFlag(['--heap-growing-percent=100']), null);
    assert.equal(heapGrowthFlag(['--heap_growing_percent=80']), null);
    assert.equal(heapGrowthFlag(['--heap-growing-percent-x']), `--heap-growing-percent=${HEAP_GROWTH_PERCENT}`);
  });
});
