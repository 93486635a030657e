import { Command, Option } from 'commander';
import { request } from 'undici';
import WebSocket from 'ws';

/**
 * `herald listen`: develop against localhost with a Herald that cannot reach your machine. It opens
 * an outbound WebSocket to Herald (GET /v3/webhooks/listen, src/http/routes/listen.ts), receives
 * each delivery of a relay webhook (`--webhook`) or of a temporary one made for this session
 * (`--channels`, removed when it ends), makes the same request (method, headers, body) to `--to`,
 * and sends the local answer back, so Herald's activity log shows the local receiver's status and
 * body as the attempt. The transport on Herald's side is src/delivery/relay.ts.
 */

/** Bytes of a local response body sent back (the activity log keeps 64 KiB). */
const MAX_BODY_BYTES = 64 * 1024;
/** Request headers not forwarded: they belong to the hop (undici sets its own). */
const HOP_HEADERS = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive', 'upgrade']);

export interface ListenOptions {
  to: string;
  webhook?: string;
  channels?: string;
  branches?: string;
  url: string;
  apiKey: string;
  token: string;
  /** Deadline of one local request, ms. */
  timeoutMs: number;
  out: (line: string) => void;
}

/** Runs until the connection closes; resolves with the exit code (0: closed by a signal or by Herald normally). */
export function listen(o: ListenOptions): { done: Promise<number>; close(): void } {
  const base = new URL(o.url);
  base.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
  base.pathname = base.pathname.replace(/\/$/, '') + '/v3/webhooks/listen';
  if (o.webhook) base.searchParams.set('webhook', o.webhook);
  if (o.channels) base.searchParams.set('channels', o.channels);
  if (o.branches) base.searchParams.set('branches', o.branches);
  const ws = new WebSocket(base, { headers: { api_key: o.apiKey, authorization: o.token } });
  let closing = false;
  const done = new Promise<number>((resolve) => {
    ws.on('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        let message = Buffer.concat(chunks).toString();
        try {
          message = JSON.parse(message).error_message ?? message;
        } catch {}
        o.out(`herald listen: Herald refused (HTTP ${res.statusCode}): ${message}`);
        resolve(2);
      });
    });
    ws.on('error', (err) => {
      o.out(`herald listen: ${err.message}`);
      resolve(1);
    });
    ws.on('close', (code) => {
      if (!closing) o.out(`herald listen: the connection closed (${code})`);
      resolve(closing ? 0 : 1);
    });
  });
  ws.on('message', (data) => {
    let frame: { type: string; id?: string; method?: string; headers?: Record<string, string>; body?: string; webhook?: { uid: string; name: string; channels: string[]; temporary: boolean } };
    try {
      frame = JSON.parse(String(data));
    } catch {
      return;
    }
    if (frame.type === 'hello' && frame.webhook) {
      const w = frame.webhook;
      o.out(`herald listen: relaying ${w.temporary ? 'temporary ' : ''}webhook ${w.uid} (${w.channels.join(', ')}) to ${o.to}; Ctrl-C to stop`);
      return;
    }
    if (frame.type === 'delivery' && frame.id) void relay(frame as Required<typeof frame>);
  });

  async function relay(f: { id: string; method: string; headers: Record<string, string>; body: string }) {
    const started = Date.now();
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(f.headers ?? {})) if (!HOP_HEADERS.has(k.toLowerCase())) headers[k] = v;
    const event = headers['x-herald-event'] ?? '';
    try {
      const res = await request(o.to, {
        method: f.method as 'POST',
        headers,
        body: f.method === 'GET' || f.method === 'HEAD' ? undefined : f.body,
        headersTimeout: o.timeoutMs,
        bodyTimeout: o.timeoutMs,
        signal: AbortSignal.timeout(o.timeoutMs),
      });
      const chunks: Buffer[] = [];
      let kept = 0;
      let truncated = false;
      for await (const c of res.body) {
        const b = c as Buffer;
        if (kept + b.length > MAX_BODY_BYTES) {
          chunks.push(b.subarray(0, MAX_BODY_BYTES - kept));
          truncated = true;
          res.body.destroy();
          break;
        }
        chunks.push(b);
        kept += b.length;
      }
      const resHeaders: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) resHeaders[k] = v;
      ws.send(JSON.stringify({ type: 'response', id: f.id, status: res.statusCode, headers: resHeaders, body: Buffer.concat(chunks).toString('base64'), encoding: 'base64', truncated }));
      o.out(`${new Date().toISOString()} ${event} -> ${f.method} ${o.to} ${res.statusCode} (${Date.now() - started} ms)`);
    } catch (err) {
      const e = err as { code?: string; name?: string; cause?: { code?: string }; message?: string };
      const code = e.code ?? e.cause?.code ?? '';
      const outcome = e.name === 'TimeoutError' || e.name === 'AbortError' || /TIMEOUT/.test(code) ? 'timeout' : code === 'ECONNREFUSED' ? 'refused' : code === 'ENOTFOUND' ? 'dns' : 'network';
      ws.send(JSON.stringify({ type: 'error', id: f.id, outcome, message: e.message ?? String(err) }));
      o.out(`${new Date().toISOString()} ${event} -> ${f.method} ${o.to} failed: ${outcome} (${e.message ?? err})`);
    }
  }

  return {
    done,
    close() {
      closing = true;
      ws.close(1000);
    },
  };
}

export function listenCommand(): Command {
  const cmd = new Command('listen')
    .description('relay a webhook\'s deliveries to a local URL over an outbound WebSocket (develop against localhost; Herald never connects to your machine)')
    .requiredOption('--to <url>', 'the local receiver, e.g. http://localhost:3000/hook')
    .option('--webhook <uid>', 'a relay webhook (target_url "relay:") to listen to')
    .option('--channels <list>', 'instead: channels, comma-separated, for a temporary webhook removed when listen stops')
    .option('--branches <list>', 'with --channels: branches, comma-separated (default main)')
    .addOption(new Option('--url <url>', 'Herald').env('HERALD_URL').default('http://127.0.0.1:4100'))
    .addOption(new Option('--api-key <key>', "the stack's api_key").env('HERALD_API_KEY').makeOptionMandatory())
    .addOption(new Option('--token <token>', 'a management token of the stack (prefer HERALD_TOKEN: flags show in the process list)').env('HERALD_TOKEN').makeOptionMandatory())
    .option('--timeout <ms>', 'deadline of one local request, ms', '30000');
  cmd.action(async (opts: { to: string; webhook?: string; channels?: string; branches?: string; url: string; apiKey: string; token: string; timeout: string }) => {
    if (!opts.webhook === !opts.channels) {
      process.stderr.write('herald listen: give --webhook <uid> or --channels <list> (one of them)\n');
      process.exit(2);
    }
    try {
      new URL(opts.to);
    } catch {
      process.stderr.write(`herald listen: --to ${JSON.stringify(opts.to)} is not a URL\n`);
      process.exit(2);
    }
    const session = listen({ ...opts, timeoutMs: Number(opts.timeout) || 30_000, out: (l) => process.stdout.write(l + '\n') });
    const stop = () => session.close();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    process.exit(await session.done);
  });
  return cmd;
}
