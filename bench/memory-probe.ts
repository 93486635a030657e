/**
 * Preloaded (`node --import`) into the Herald process whose backlog drain the bench measures, so
 * the bench can say where its resident memory goes, not only how much there is. Every 25 ms it
 * samples the process's memory; the bench asks over IPC (`{ type: 'memory' }`) for the sample
 * taken at the highest RSS so far. Figures are bytes:
 * - rss: resident set (VmRSS), what the bench compares;
 * - rssFile: the resident part that maps files (node's binary, shared libraries; mmapped database
 *   pages would show here too); rssAnon: the rest (V8's heap, malloc: SQLite's page cache);
 * - heapTotal / heapUsed: V8's heap reserved / live; newSpace: its young generation (semi-spaces),
 *   which grows under a high allocation rate;
 * - external: memory outside the V8 heap that JavaScript objects own (Buffers, ArrayBuffers).
 * Nothing here changes how Herald runs; it only reads.
 */
import { readFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';

export interface MemorySample {
  rss: number;
  rssAnon: number;
  rssFile: number;
  heapTotal: number;
  heapUsed: number;
  newSpace: number;
  external: number;
  arrayBuffers: number;
}

function status(): { anon: number; file: number } {
  const s = readFileSync('/proc/self/status', 'utf8');
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(s)?.[1] ?? 0) * 1024;
  return { anon: kb('RssAnon'), file: kb('RssFile') + kb('RssShmem') };
}

function sample(): MemorySample {
  const m = process.memoryUsage();
  const { anon, file } = status();
  const newSpace = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
  return { rss: m.rss, rssAnon: anon, rssFile: file, heapTotal: m.heapTotal, heapUsed: m.heapUsed, newSpace, external: m.external, arrayBuffers: m.arrayBuffers };
}

if (process.send) {
  let peak = sample();
  const timer = setInterval(() => {
    const s = sample();
    if (s.rss > peak.rss) peak = s;
  }, 25);
  timer.unref();
  process.on('message', (m: { type?: string }) => {
    if (m?.type === 'memory') process.send!({ type: 'memory', peak, now: sample() });
  });
  // The IPC channel must not keep Herald alive on its own, nor stop it from being stopped.
  process.channel?.unref();
}
