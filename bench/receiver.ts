/**
 * The bench's receiver, in its own process (as a real receiver would be): node's http server,
 * answering 200 at once (or, for a URL with `?delay=<ms>`, that many ms later, as an endpoint that
 * does some work) and remembering when each delivery's first attempt arrived, keyed by the event's
 * sequence number (receiver-state.ts, which also holds its IPC with the bench).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { answerBench, arrived } from './receiver-state.ts';

const server = createServer((req, res) => {
  req.on('data', () => {});
  const delay = req.url?.includes('?delay=') ? Number(req.url.split('?delay=')[1]) : 0;
  req.on('end', () => {
    arrived(() => `${req.headers['x-herald-seq']}:${req.url}`);
    const answer = () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
      res.end('ok');
    };
    if (delay > 0) setTimeout(answer, delay);
    else answer();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => answerBench((server.address() as AddressInfo).port));
