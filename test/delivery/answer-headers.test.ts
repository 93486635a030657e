import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { Agent } from 'undici';
import { send } from '../../src/delivery/send.ts';

/**
 * A receiver answering each request with the next of `answers` (raw header lines), keep-alive: every
 * answer but the first comes on a connection that already answered, as most of Herald's do.
 */
async function receiver(answers: string[][]) {
  let n = 0;
  const server = createServer((socket) => {
    let buf = '';
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const length = Number(/content-length: *(\d+)/i.exec(buf.slice(0, end))?.[1] ?? 0);
        if (buf.length < end + 4 + length) return;
        buf = buf.slice(end + 4 + length);
        const lines = answers[n++ % answers.length]!;
        socket.write(`HTTP/1.1 200 OK\r\n${lines.join('\r\n')}\r\ncontent-length: 2\r\n\r\nok`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, close: () => server.close() };
}

describe("an answer's headers in the attempt log (send.ts answerHeaders)", () => {
  it('each answer logs its own headers, whether the last one had the same bytes or differed by one byte, a header, or a repeat', async () => {
    const answers = [
      ['x-n: 1', 'date: Tue, 08 Dec 2026 00:00:01 GMT'],
      ['x-n: 1', 'date: Tue, 08 Dec 2026 00:00:01 GMT'],
      ['x-n: 2', 'date: Tue, 08 Dec 2026 00:00:01 GMT'],
      ['x-n: 2', 'date: Tue, 08 Dec 2026 00:00:02 GMT'],
      ['x-n: 2', 'date: Tue, 08 Dec 2026 00:00:02 GMT', 'x-more: yes'],
      ['x-n: 2', 'set-cookie: a=1', 'set-cookie: b=2'],
      ['x-n: 2', 'set-cookie: a=1', 'set-cookie: b=3'],
    ];
    const r = await receiver(answers);
    const agent = new Agent({ connections: 1 });
    try {
      const got = [];
      for (let i = 0; i < answers.length; i++) {
        const record = await send(agent, { url: r.url, headers: { 'content-type': 'application/json' }, body: '{}' }, 5_000);
        assert.equal(record.outcome, 'success');
        got.push(record.response!.headers);
      }
      const expected = answers.map((lines) => {
        const h: Record<string, string | string[]> = {};
        for (const l of lines) {
          const [k, v] = l.split(': ') as [string, string];
          h[k] = h[k] === undefined ? v : ([] as string[]).concat(h[k]!, v);
        }
        h['content-length'] = '2';
        return h;
      });
      assert.deepEqual(got, expected);
    } finally {
      await agent.close();
      r.close();
    }
  });
});
