/**
 * What both bench receivers (receiver.ts, receiver-lean.ts) remember, and their side of the IPC
 * the benches talk to them with (receiver-process.ts ask()): `{ type: 'stats' }` answers the count
 * and the first arrivals, `{ type: 'count' }` stops remembering arrivals (until `{ type: 'track' }`),
 * `{ type: 'reset' }` forgets both. Prints nothing.
 */
let count = 0;
let tracking = true;
const firstArrival = new Map<string, number>();

/**
 * One delivery arrived; `key` (`<x-herald-seq>:<url>`) is made only while tracking: the fan-out
 * lines only need the count, and a Map entry per delivery (~10 us of a shared core, session 13, h3)
 * was work the raw ceiling's POSTs, which all share one key, never paid.
 */
export function arrived(key: () => string): void {
  count++;
  if (!tracking) return;
  const k = key();
  if (!firstArrival.has(k)) firstArrival.set(k, performance.timeOrigin + performance.now());
}

/** Reports `port` as ready and answers the bench's messages until it disconnects. */
export function answerBench(port: number): void {
  process.send!({ type: 'ready', port });
  process.on('message', (m: { type: string }) => {
    if (m.type === 'stats') process.send!({ type: 'stats', count, arrivals: [...firstArrival] });
    if (m.type === 'count' || m.type === 'track') {
      tracking = m.type === 'track';
      process.send!({ type: m.type });
    }
    if (m.type === 'reset') {
      count = 0;
      firstArrival.clear();
      process.send!({ type: 'reset' });
    }
  });
  process.on('disconnect', () => process.exit(0));
}
