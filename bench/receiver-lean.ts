/**
 * A receiver that costs its machine as little CPU as a node process can: HTTP/1.1 over `net` with
 * just enough parsing to answer keep-alive POSTs (Content-Length bodies, pipelined or not) with
 * `200 ok`. `BENCH_RECEIVER=lean` runs it instead of receiver.ts; it talks to the bench over IPC
 * the same way (receiver-state.ts), and takes `?delay=<ms>` as it does.
 *
 * Why: goal 1 of #21 compares Herald with plain undici POSTs to a receiver "in its own process"; on
 * this 2-core machine node's http server takes 40-60 us of a shared core per request, which both
 * sides pay from the same two cores. A receiver with cores of its own would take none of theirs;
 * this one takes about half (25-36 us per request against 49-65, session 25). It moved the ratios
 * by 0.04-0.05 at the same raw ceiling: the ceiling and Herald are each bound by one thread of their
 * own, not by the receiver's share of the cores (NOTES.md, session 25).
 * It is not a general HTTP server: chunked bodies, Expect: 100-continue and upgrades end the
 * process with an error rather than be miscounted.
 */
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { answerBench, arrived } from './receiver-state.ts';

const OK = Buffer.from('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nkeep-alive: timeout=60\r\n\r\nok');
const HEAD_END = Buffer.from('\r\n\r\n');

/** The value of header `name` (lower-case, with its colon) in a lower-cased head, or undefined. */
function header(head: string, name: string): string | undefined {
  const i = head.indexOf('\r\n' + name);
  if (i < 0) return undefined;
  const end = head.indexOf('\r\n', i + 2);
  return head.slice(i + 2 + name.length, end < 0 ? undefined : end).trim();
}

function serve(socket: Socket): void {
  socket.setNoDelay(true);
  let buffered: Buffer | null = null;
  socket.on('data', (chunk: Buffer) => {
    let data = buffered ? Buffer.concat([buffered, chunk]) : chunk;
    buffered = null;
    let answers = 0;
    const delayed: number[] = [];
    let at = 0;
    while (at < data.length) {
      const headEnd = data.indexOf(HEAD_END, at);
      if (headEnd < 0) break;
      const text = data.toString('latin1', at, headEnd + 2);
      const head = text.toLowerCase();
      if (head.includes('\r\ntransfer-encoding:') || head.includes('\r\nexpect:') || head.includes('\r\nupgrade:')) {
        throw new Error(`the lean receiver only takes Content-Length bodies: ${head.slice(0, 200)}`);
      }
      const length = Number(header(head, 'content-length:') ?? 0);
      const next = headEnd + 4 + length;
      if (next > data.length) break;
      const line = text.slice(0, text.indexOf('\r\n'));
      const url = line.slice(line.indexOf(' ') + 1, line.lastIndexOf(' '));
      arrived(() => `${header(head, 'x-herald-seq:')}:${url}`);
      const delay = url.includes('?delay=') ? Number(url.split('?delay=')[1]) : 0;
      // Answers keep the requests' order on the connection: once one is delayed, those after wait too.
      if (delay > 0 || delayed.length > 0) delayed.push(delay);
      else answers++;
      at = next;
    }
    if (at < data.length) buffered = data.subarray(at);
    if (answers > 0) socket.write(answers === 1 ? OK : Buffer.concat(Array.from({ length: answers }, () => OK)));
    for (const d of delayed) setTimeout(() => socket.write(OK), d);
    data = chunk = null!;
  });
  socket.on('error', () => socket.destroy());
}

const server = createServer(serve);
server.listen(0, '127.0.0.1', () => answerBench((server.address() as AddressInfo).port));
