import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets the old generation grow past what the last mark-compact left live before it
 * collects again, in a `herald serve` process: percent (Default: 30, i.e. 1.3x).
 *
 * Why: V8 picks this factor itself, from how fast its collector is against the program, between
 * 1.1x and 4x (on a machine with 2 GB of heap to spare). Herald's live heap is small (~50 MB), so
 * collecting it is quick and V8 chose 4x: while a 100k-execution backlog drained, each delivery's
 * objects (its claim, event, body, undici request) live across an HTTP exchange, past two
 * scavenges, ~9 KB of them reached the old generation per delivery, and the old generation climbed
 * to ~200 MB before each mark-compact: peak RSS 1.76x a 1k drain's. At 1.3x the old generation peaks
 * near 75 MB. The cost is more mark-compacts (each ~10-35 ms of pause for ~50 MB live), in
 * proportion to what is promoted. V8's floor still applies: the limit never grows by less than
 * its minimum step, so a small heap is not collected over and over.
 *
 * A `--heap-growing-percent` given to node itself wins (`node --heap-growing-percent=100
 * node_modules/.bin/herald serve`): V8's own choice returns with a large value.
 */
export const HEAP_GROWTH_PERCENT = 30;

/**
 * The V8 flag `herald serve` sets, or null when node's own command line (`execArgv`) already
 * chose the growth (V8 reads `--heap-growing-percent` and `--heap_growing_percent` alike).
 */
export function heapGrowthFlag(execArgv: readonly string[]): string | null {
  if (execArgv.some((a) => /^--heap[-_]growing[-_]percent(=|$)/.test(a))) return null;
  return `--heap-growing-percent=${HEAP_GROWTH_PERCENT}`;
}

/**
 * Applies heapGrowthFlag to this process. V8 reads the factor each time a mark-compact sets the
 * next limit, so it takes effect from the next collection: call it early, before the store opens.
 */
export function tuneHeap(execArgv: readonly string[] = process.execArgv): void {
  const flag = heapGrowthFlag(execArgv);
  if (flag) setFlagsFromString(flag);
}
