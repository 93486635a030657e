import { setFlagsFromString } from 'node:v8';

/**
 * The node flags `npm start` runs `herald serve` with (package.json's start script; a test keeps
 * the two the same), and the bench its in-process lines and the processes it starts. V8 reads them
 * only when the process starts, so tuneHeap cannot set them: an installed `herald serve` gets them
 * from NODE_OPTIONS (README, Operations > Memory).
 *
 * `--max-semi-space-size=32` (MB; node 20's default is 16): each half of the young generation.
 * Every delivery allocates 20-36 KB that dies within tens of ms, across its HTTP exchange and the
 * outcome's group commit; with 16 MB halves a scavenge came every ~300 deliveries (~60-120 ms
 * under load), so a delivery's objects were often still alive at two of them and were promoted,
 * and the old generation filled with them (more mark-compacts, each marking the whole ~40 MB live
 * heap, mostly on V8's helper threads). With 32 MB halves, scavenges come half as often and promote
 * a quarter to a half less; alternated bench pairs (session 10) took 15-25% off the process's CPU
 * per delivery at fan-out 1 and 10. Cost: up to 32 MiB more resident memory, at a small backlog
 * and a large one alike (the bench's RSS line: +24-29 MiB, ratio 1.07x).
 */
export const SERVE_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=32'];

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
