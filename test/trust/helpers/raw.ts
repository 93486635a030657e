import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A receiver that speaks raw TCP, for answers node:http would refuse to produce (malformed status
 * lines, control bytes in headers, headers sent one byte at a time). It reads one whole request
 * (headers and Content-Length body), then hands the socket to `answer`.
 */
export async function startRawReceiver(answer: (socket: Socket, request: Buffer) => void | Promise<void>) {
  const requests: Buffer[] = [];
  const closed: Socket[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => {
      sockets.delete(socket);
      closed.push(socket);
    });
    let buf = Buffer.alloc(0);
    let answered = false;
    socket.on('data', (chunk) => {
      if (answered) return;
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(buf.subarray(0, end).toString('latin1'))?.[1] ?? 0);
      if (buf.length < end + 4 + length) return;
      answered = true;
      requests.push(buf);
      void answer(socket, buf);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    /** Connections the other side (or we) closed so far. */
    closed,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
