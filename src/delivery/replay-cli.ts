import { Command, Option } from 'commander';
import type { ReplayJob } from './replay.ts';

/**
 * `herald replay`: starts a replay (POST /v3/webhooks/{uid}/replay) on a running Herald, through its
 * public API, and follows the job until every execution ended: a progress bar on a terminal, one
 * line per change otherwise (logs, CI). Exit codes: 0 every execution succeeded; 1 some failed
 * again, or Herald could not be reached; 2 the request was refused (bad option, unknown webhook,
 * range too large: the message names the field). Interrupting it leaves the replay running in
 * Herald; the job uid it prints follows it at GET /v3/webhooks/{uid}/replays/{job}.
 */

/** How often the job's progress is read, ms. */
const POLL_MS = 500;
/** Plain output: at most one progress line per this many ms (and one at the end). */
const PLAIN_EVERY_MS = 2000;

/** One line of progress: a bar of `width` cells on a terminal, words otherwise. Pure. */
export function progressLine(job: Pick<ReplayJob, 'uid' | 'state' | 'total' | 'done' | 'succeeded' | 'failed'>, width = 0): string {
  const counts = `${job.done}/${job.total} done (${job.succeeded} succeeded, ${job.failed} failed)`;
  if (width <= 0) return `replay ${job.uid}: ${job.state}, ${counts}`;
  const filled = job.total === 0 ? width : Math.round((job.done / job.total) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${counts}`;
}

class Refused extends Error {}

export function replayCommand(): Command {
  const cmd = new Command('replay')
    .description('replay a webhook: send its failed executions of a time range again (--mode failed), or the events of the range (--mode events), and follow the job')
    .addOption(new Option('--url <url>', "Herald's address").env('HERALD_URL').default('http://127.0.0.1:4100'))
    .addOption(new Option('--api-key <key>', "the stack's API key").env('HERALD_API_KEY').makeOptionMandatory())
    .addOption(new Option('--token <token>', 'a management token of the stack (prefer the environment: flags show in the process list)').env('HERALD_TOKEN').makeOptionMandatory())
    .requiredOption('--webhook <uid>', 'the webhook to replay')
    .requiredOption('--from <time>', 'range start: an ISO date (2026-12-05T08:00:00Z) or milliseconds since the epoch')
    .option('--to <time>', 'range end (default: now)')
    .addOption(new Option('--mode <mode>', 'failed: executions that failed for good; events: every event the webhook matches now').choices(['failed', 'events']).default('failed'));
  cmd.exitOverride((err) => {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help') process.exit(0);
    process.exit(2);
  });
  cmd.action(async (opts: { url: string; apiKey: string; token: string; webhook: string; from: string; to?: string; mode: string }) => {
    try {
      process.exitCode = await replay(opts, process.stdout);
    } catch (err) {
      process.stderr.write(`herald replay: ${(err as Error).message}\n`);
      process.exitCode = err instanceof Refused ? 2 : 1;
    }
  });
  return cmd;
}

async function replay(opts: { url: string; apiKey: string; token: string; webhook: string; from: string; to?: string; mode: string }, out: NodeJS.WriteStream): Promise<number> {
  const base = opts.url.replace(/\/+$/, '');
  const headers = { api_key: opts.apiKey, authorization: opts.token, 'content-type': 'application/json' };
  const webhook = encodeURIComponent(opts.webhook);
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(base + path, { method, headers, ...(body ? { body: JSON.stringify(body) } : {}) }).catch((err) => {
      throw new Error(`cannot reach ${base}: ${(err as Error).cause ?? (err as Error).message}`);
    });
    const text = await res.text();
    let json: any = null;
    try {
      json = JSON.parse(text);
    } catch {}
    if (!res.ok) {
      const fields = json?.errors ? Object.entries(json.errors as Record<string, string[]>).map(([f, p]) => `${f} ${p.join(', ')}`) : [];
      const message = `${res.status} ${json?.error_message ?? text.slice(0, 200)}${fields.length ? ` (${fields.join('; ')})` : ''}`;
      throw res.status < 500 ? new Refused(message) : new Error(message);
    }
    return json;
  };
  const number = (t: string) => (/^\d+$/.test(t) ? Number(t) : t);
  const started = await call('POST', `/v3/webhooks/${webhook}/replay`, { from: number(opts.from), to: opts.to ? number(opts.to) : Date.now(), mode: opts.mode });
  let job = started.job as ReplayJob;
  const tty = out.isTTY === true;
  const width = tty ? Math.max(10, Math.min(40, (out.columns ?? 80) - 50)) : 0;
  out.write(`replay ${job.uid} of webhook ${opts.webhook} (${opts.mode}): ${job.total} execution${job.total === 1 ? '' : 's'}\n`);
  let printed = '';
  let lastAt = 0;
  for (;;) {
    const line = progressLine(job, width);
    if (tty) out.write(`\r${line}\x1b[K`);
    else if (line !== printed && (job.state === 'done' || Date.now() - lastAt >= PLAIN_EVERY_MS)) {
      out.write(`${line}\n`);
      printed = line;
      lastAt = Date.now();
    }
    if (job.state === 'done') break;
    await new Promise((r) => setTimeout(r, POLL_MS));
    job = (await call('GET', `/v3/webhooks/${webhook}/replays/${encodeURIComponent(job.uid)}`)).job as ReplayJob;
  }
  if (tty) out.write('\n');
  if (job.failed > 0) {
    out.write(`${job.failed} execution${job.failed === 1 ? '' : 's'} failed again: see the webhook's activity log (state=failed)\n`);
    return 1;
  }
  return 0;
}
