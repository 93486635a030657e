/**
 * The raw ceiling and the bench's event data, shared by bench/run.ts and bench/floor.ts so that
 * both measure the ceiling the same way (same pool settings, same body, same concurrency), and the
 * CPU time readers (/proc) the benches print figures from.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Pool } from 'undici';

/** A body the size of a typical entry update payload (~1.2 KB). */
export function sampleData(i: number) {
  return {
    entry: { uid: `blt${i.toString(16).padStart(16, '0')}`, title: `Entry ${i}`, url: `/posts/${i}`, body: 'x'.repeat(900), _version: 2, locale: 'en-us' },
    content_type: { uid: 'post', title: 'Post' },
  };
}

/** POSTs/s, and CPU per POST, µs: the sending process (all threads), its main thread, the receiver's process. */
export interface RawFigures {
  rate: number;
  cpuUs: number;
  mainUs: number;
  receiverUs: number;
}

/**
 * The ratios to the raw ceiling a line's CPU per delivery allows, each resource taken as the only
 * limit and wholly Herald's (and the receiver's):
 * - "cores": every core busy with the line's process and the receiver: cores / (process +
 *   receiver per delivery), over raw's POSTs/s;
 * - "1 thread": the line's main thread (the store's owner) busy all the time: 1 / main thread per
 *   delivery, over raw's POSTs/s.
 * A measured ratio is at most the lower of the two, and under it by what the machine's other work,
 * waits for a core and the line's own waits took. A run whose "cores" figure is under goal 1's
 * (0.5 at fan-out 1, 0.6 at fan-out 10) could not meet it with that CPU per delivery however the
 * work were split between threads; "1 thread" is what sender threads raise.
 * Earlier (bench:floor until session 27) "2 cores" was raw's CPU per POST over the line's, which
 * assumed raw kept both cores busy: it does not (28k POST/s at 56 us is 1.6 cores), and a line
 * with a sender thread then measured above its bound.
 */
export function cpuBounds(raw: { rate: number }, line: { cpuUs: number; mainUs: number; receiverUs: number }): { cores: number; thread: number } {
  return { cores: (availableParallelism() * 1e6) / (line.cpuUs + line.receiverUs) / raw.rate, thread: 1e6 / line.mainUs / raw.rate };
}

/**
 * Plain undici POSTs per second to `url` (16 connections, 64 requests in flight, no Herald in
 * between), for `seconds` after `warmupSeconds` of the same not counted, with CPU per POST over the
 * counted seconds, µs: this process (all threads), its main thread, and the receiver's process when
 * its pid is given (else NaN).
 */
export async function rawMeasured(url: string, warmupSeconds: number, seconds: number, receiverPid = NaN): Promise<RawFigures> {
  const pool = new Pool(url, { connections: 16, pipelining: 1 });
  const body = JSON.stringify({ event: 'update', module: 'entry', data: sampleData(0) });
  let done = 0;
  const drive = async (seconds: number) => {
    done = 0;
    const end = Date.now() + seconds * 1000;
    const worker = async () => {
      while (Date.now() < end) {
        const res = await pool.request({ path: '/raw', method: 'POST', body, headers: { 'content-type': 'application/json' } });
        await res.body.dump();
        done++;
      }
    };
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 64 }, worker));
    return done / ((performance.now() - t0) / 1000);
  };
  if (warmupSeconds > 0) await drive(warmupSeconds);
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadCpuMs();
  const receiver0 = processCpuMs(receiverPid);
  const rate = await drive(seconds);
  const cpu = process.cpuUsage(cpu0);
  const perPost = (ms: number) => (ms * 1000) / done;
  const figures = { rate, cpuUs: (cpu.user + cpu.system) / done, mainUs: perPost(mainThreadCpuMs() - main0), receiverUs: perPost(processCpuMs(receiverPid) - receiver0) };
  await pool.close();
  return figures;
}

/**
 * CPU ms (user + system) so far of this process's main thread (/proc; NaN elsewhere), 10 ms ticks:
 * the thread that owns Herald's store, whatever other threads (sender threads, the checkpoint
 * thread) do. Read over a whole line, not per delivery.
 */
export function mainThreadCpuMs(): number {
  return threadCpuMs(process.pid);
}

/** CPU ms (user + system) so far of this process's thread `tid` (/proc; NaN elsewhere or once it ended), 10 ms ticks. */
export function threadCpuMs(tid: number | string): number {
  return statCpuMs(`/proc/self/task/${tid}/stat`);
}

/** CPU ms (user + system) so far of process `pid`, all its threads (/proc; NaN elsewhere), 10 ms ticks. */
export function processCpuMs(pid: number): number {
  return statCpuMs(`/proc/${pid}/stat`);
}

function statCpuMs(file: string): number {
  try {
    const { userMs, sysMs } = statSplitMs(file);
    return userMs + sysMs;
  } catch {
    return NaN;
  }
}

/** CPU ms so far of this process's thread `tid`, user and system apart (/proc); throws once it ended. */
export function threadSplitMs(tid: number | string): { userMs: number; sysMs: number } {
  return statSplitMs(`/proc/self/task/${tid}/stat`);
}

/** utime and stime of a /proc stat file, ms (USER_HZ: 100 ticks a second). */
function statSplitMs(file: string): { userMs: number; sysMs: number } {
  const stat = readFileSync(file, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { userMs: Number(f[11]) * 10, sysMs: Number(f[12]) * 10 };
}
