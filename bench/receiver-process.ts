import { fork, type ChildProcess } from 'node:child_process';

/**
 * The bench's receiver (receiver.ts) as a child process, and the one way to talk to it: send a
 * message type, wait for the answer of the same type.
 */
export function ask<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: any) => {
      if (m.type === type) {
        child.off('message', on);
        resolve(m);
      }
    };
    child.on('message', on);
    child.send({ type });
  });
}

/**
 * Which receiver the benches run: node's http server (receiver.ts, the default), or with
 * BENCH_RECEIVER=lean the one that takes as little of the machine's CPU as it can (receiver-lean.ts).
 */
export const RECEIVER = process.env.BENCH_RECEIVER === 'lean' ? 'lean' : 'http';

export async function startReceiver() {
  const file = RECEIVER === 'lean' ? './receiver-lean.ts' : './receiver.ts';
  const child = fork(new URL(file, import.meta.url).pathname, [], { execArgv: ['--import', 'tsx'] });
  const ready = await new Promise<{ port: number }>((r) => child.once('message', (m: any) => r(m)));
  return { child, url: `http://127.0.0.1:${ready.port}` };
}
