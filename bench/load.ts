/**
 * The read bench's load generator, in its own process (so it does not share Herald's event
 * loop): GETs with undici, `connections` at a time, for `seconds`, over the paths given in turn.
 * Answers with the count and every latency, ms.
 */
import { Pool } from 'undici';

process.on('message', async (m: { url: string; paths: string[]; headers: Record<string, string>; seconds: number; connections: number; status: number }) => {
  const pool = new Pool(m.url, { connections: m.connections, pipelining: 1 });
  const latencies: number[] = [];
  let bytes = 0;
  let failed = 0;
  let i = 0;
  const end = performance.now() + m.seconds * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      const path = m.paths[i++ % m.paths.length];
      const t0 = performance.now();
      const res = await pool.request({ path, method: 'GET', headers: m.headers });
      const body = await res.body.arrayBuffer();
      if (res.statusCode !== m.status) failed++;
      bytes += body.byteLength;
      latencies.push(performance.now() - t0);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: m.connections }, worker));
  const seconds = (performance.now() - t0) / 1000;
  await pool.close();
  process.send!({ count: latencies.length, seconds, failed, bytes, latencies });
});
process.send!({ ready: true });
