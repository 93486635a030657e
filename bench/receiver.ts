/**
 * The bench's receiver, in its own process (as a real receiver would be): answers 200 at once (or,
 * for a URL with `?delay=<ms>`, that many ms later, as an endpoint that does some work) and
 * remembers when each delivery's first attempt arrived, keyed by the event's sequence number.
 * Talks to the bench over IPC: prints nothing, answers `{ type: 'stats' }` and `{ type: 'reset' }`.
 * `{ type: 'count' }` stops remembering arrivals (until `{ type: 'track' }`): the fan-out lines
 * only need the count, and a Map entry per delivery (~10 us of a shared core, session 13, h3) was
 * work the raw ceiling's POSTs, which all share one key, never paid.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

let count = 0;
let tracking = true;
const firstArrival = new Map<string, number>();
const server = createServer((req, res) => {
  const key = `${req.headers['x-herald-seq']}:${req.url}`;
  req.on('data', () => {});
  const delay = req.url?.includes('?delay=') ? Number(req.url.split('?delay=')[1]) : 0;
  req.on('end', () => {
    count++;
    if (tracking && !firstArrival.has(key)) firstArrival.set(key, performance.timeOrigin + performance.now());
    const answer = () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
      res.end('ok');
    };
    if (delay > 0) setTimeout(answer, delay);
    else answer();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.send!({ type: 'ready', port: (server.address() as AddressInfo).port });
});
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
