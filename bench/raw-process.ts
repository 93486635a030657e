/**
 * The raw ceiling (raw.ts rawCeiling) measured in a process of its own, forked by bench/run.ts.
 *
 * Why not in the bench's own process: undici's functions (Client `_resume`, client-h1 `resumeH1`,
 * the Request constructor...) are shared by every undici client in a process, and their property
 * look-ups specialise to the objects they have seen. The ceiling's Pool, made first, left those
 * sites seeing one more kind of Client and request than Herald's own agent brings, and V8 turned
 * them megamorphic for the rest of the run: Herald's fan-out 10 line then spent 5.4% of its
 * samples in `Builtins_KeyedLoadIC_Megamorphic` against 1.9% with no ceiling measured first (perf,
 * session 22). A Herald server runs no benchmark Pool; the ceiling is the same POSTs either way.
 *
 * Asked {type: 'raw', url, warmupSeconds, seconds, receiverPid}: answers {type: 'raw', figures} and exits.
 */
import { fork } from 'node:child_process';
import { rawMeasured, type RawFigures } from './raw.ts';

interface Ask {
  type: 'raw';
  url: string;
  warmupSeconds: number;
  seconds: number;
  receiverPid: number;
}

/**
 * rawMeasured(url, warmupSeconds, seconds, receiverPid) from a child process started with this
 * process's node flags: POSTs/s, and CPU per POST of that process, its main thread and the receiver.
 */
export function rawApart(url: string, warmupSeconds: number, seconds: number, receiverPid: number): Promise<RawFigures> {
  const child = fork(new URL(import.meta.url).pathname, [], { execArgv: process.execArgv });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the raw ceiling's process exited (${code}) before answering`)));
    child.once('message', (m: { type: string; figures: RawFigures }) => {
      child.removeAllListeners('exit');
      child.disconnect();
      resolve(m.figures);
    });
    child.send({ type: 'raw', url, warmupSeconds, seconds, receiverPid } satisfies Ask);
  });
}

if (process.send && process.argv[1] === new URL(import.meta.url).pathname) {
  process.once('message', async (m: Ask) => {
    const figures = await rawMeasured(m.url, m.warmupSeconds, m.seconds, m.receiverPid);
    process.send!({ type: 'raw', figures }, () => process.exit(0));
  });
}
