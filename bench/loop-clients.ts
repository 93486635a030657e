/**
 * The closed loop's clients (bench/run.ts closedLoop) in a process of their own, as a site's
 * clients are (BENCH_LOOP_CLIENTS_PROCESS=1): in Herald's process their fetch() calls took ~15-20%
 * of the main thread the line measures (profile, session 10).
 * Asked {type: 'run', url, headers, path, from, to, clients, fetch}: creates entries `Post from`..`Post to-1`
 * with `clients` clients (over an undici Pool of as many connections, or fetch() when `fetch`, as
 * run.ts's LOOP_FETCH), each sending its next create when its last one is answered; answers
 * {type: 'run', sent: [[entry uid, ms since the epoch when its create was sent], ...]}.
 */
import { Pool } from 'undici';

interface Run {
  type: 'run';
  url: string;
  headers: Record<string, string>;
  path: string;
  from: number;
  to: number;
  clients: number;
  fetch?: boolean;
}

process.on('message', async (m: Run) => {
  if (m.type !== 'run') return;
  const sent: Array<[string, number]> = [];
  let next = m.from;
  const pool = new Pool(m.url, { connections: m.clients, pipelining: 1 });
  const client = async () => {
    for (let i = next++; i < m.to; i = next++) {
      const at = performance.timeOrigin + performance.now();
      const body = JSON.stringify({ entry: { title: `Post ${i}` } });
      let status: number;
      let json: any;
      if (m.fetch) {
        const r = await fetch(m.url + m.path, { method: 'POST', headers: m.headers, body });
        [status, json] = [r.status, await r.json()];
      } else {
        const r = await pool.request({ method: 'POST', path: m.path, headers: m.headers, body });
        [status, json] = [r.statusCode, await r.body.json()];
      }
      if (status >= 300) throw new Error(`${m.path}: ${status} ${JSON.stringify(json)}`);
      sent.push([json.entry.uid, at]);
    }
  };
  await Promise.all(Array.from({ length: m.clients }, client));
  await pool.close();
  process.send!({ type: 'run', sent });
});
process.send!({ type: 'ready' });
