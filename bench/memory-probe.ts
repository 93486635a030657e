/**
 * Preloaded (`node --import`) into the Herald process whose backlog drain the bench measures, so
 * the bench can say where its resident memory goes, not only how much there is. Every 25 ms it
 * samples the process's memory; the bench asks over IPC (`{ type: 'memory' }`) for the sample
 * taken at the highest RSS so far, and for the garbage collections since start. Figures are bytes:
 * - rss: resident set (VmRSS), what the bench compares;
 * - rssFile: the resident part that maps files (node's binary, shared libraries; mmapped database
 *   pages would show here too); rssAnon: the rest (V8's heap, malloc: SQLite's page cache);
 * - heapTotal / heapUsed: V8's heap reserved / live; newSpace: its young generation (semi-spaces),
 *   which grows under a high allocation rate; oldUsed / oldSize: the old generation's objects (live
 *   or garbage not yet collected: what survived two scavenges waits here for a mark-compact) and
 *   the space reserved for it;
 * - external: memory outside the V8 heap that JavaScript objects own (Buffers, ArrayBuffers).
 * GC (`gc`): collections of this process's main heap since start (PerformanceObserver 'gc'
 * entries): scavenges (young generation) and mark-compacts (whole heap), with their pause time, ms.
 * HERALD_PROBE_SMAPS=<file> (the bench's BENCH_SMAPS=<prefix> sets it, one file per drain: <prefix>-1000,
 * <prefix>-100000): /proc/self/smaps as it was at the peak (read again each time the peak grew by
 * 512 KiB), written when the bench asks for the figures: which mappings hold the memory. The main
 * thread's malloc (SQLite's page caches and prepared statements) is the `[heap]` mapping; V8's heap
 * is in 256 KiB anonymous pages. How e88d540 found 26 MiB of kept statements.
 * Nothing here changes how Herald runs; it only reads.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';

export interface GcCounts {
  scavenges: number;
  scavengeMs: number;
  markCompacts: number;
  markCompactMs: number;
}

export interface MemorySample {
  rss: number;
  rssAnon: number;
  rssFile: number;
  heapTotal: number;
  heapUsed: number;
  newSpace: number;
  oldUsed: number;
  oldSize: number;
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
  const spaces = getHeapSpaceStatistics();
  const space = (name: string) => spaces.find((s) => s.space_name === name);
  return {
    rss: m.rss,
    rssAnon: anon,
    rssFile: file,
    heapTotal: m.heapTotal,
    heapUsed: m.heapUsed,
    newSpace: space('new_space')?.space_size ?? 0,
    oldUsed: space('old_space')?.space_used_size ?? 0,
    oldSize: space('old_space')?.space_size ?? 0,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
  };
}

if (process.send) {
  const gc: GcCounts = { scavenges: 0, scavengeMs: 0, markCompacts: 0, markCompactMs: 0 };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) {
        gc.scavenges++;
        gc.scavengeMs += e.duration;
      } else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
        gc.markCompacts++;
        gc.markCompactMs += e.duration;
      }
    }
  }).observe({ entryTypes: ['gc'] });
  let peak = sample();
  const smapsTo = process.env.HERALD_PROBE_SMAPS;
  let smaps = '';
  let smapsAt = 0;
  const timer = setInterval(() => {
    const s = sample();
    if (s.rss > peak.rss) {
      peak = s;
      if (smapsTo && s.rss - smapsAt > 512 * 1024) {
        smaps = readFileSync('/proc/self/smaps', 'utf8');
        smapsAt = s.rss;
      }
    }
  }, 25);
  timer.unref();
  process.on('message', (m: { type?: string }) => {
    if (m?.type === 'memory' && smapsTo) writeFileSync(smapsTo, smaps);
    if (m?.type === 'memory') process.send!({ type: 'memory', peak, now: sample(), gc });
  });
  // The IPC channel must not keep Herald alive on its own, nor stop it from being stopped.
  process.channel?.unref();
}
