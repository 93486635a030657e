import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { formatPretty, isPretty, redacting, requestLogger } from '../../src/ops/log.ts';
import { ADMIN_TOKEN, removeDir, startHerald, type TestHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { createWebhook, emit, executions, PROCESS_START_MS, until } from '../helpers/engine.ts';

/** A stream that keeps every JSON line written to it. */
function sink() {
  const lines: Array<Record<string, any>> = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
      done();
    },
  });
  return { lines, stream };
}

describe('logs', () => {
  it('formats a JSON line for a person: time, level, message, fields, then the error stack', () => {
    const line = JSON.stringify({
      level: 50,
      time: Date.UTC(2026, 0, 2, 3, 4, 5, 6),
      pid: 1,
      hostname: 'h',
      msg: 'attempt crashed',
      deliveryId: 'exe_1',
      note: 'two words',
      err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at x (y.ts:1:1)' },
    });
    assert.equal(formatPretty(line), '03:04:05.006 ERROR attempt crashed deliveryId=exe_1 note="two words"\n    Error: boom\n        at x (y.ts:1:1)\n');
    assert.match(formatPretty(line, true), /\x1b\[31mERROR\x1b\[0m/);
    assert.equal(formatPretty('not json'), 'not json\n');
  });

  it('is pretty when asked, or by default when stdout is a terminal', () => {
    assert.equal(isPretty('pretty', false), true);
    assert.equal(isPretty('json', true), false);
    assert.equal(isPretty('auto', true), true);
    assert.equal(isPretty('auto', undefined), false);
  });

  it('redacts credential headers, secret fields and database URL passwords, whoever logs them', () => {
    const out = sink();
    const log = redacting(pino({ level: 'info' }, out.stream));
    log.info(
      {
        req: { headers: { authorization: 'Bearer cs-secret-token', authtoken: 'admin-secret-token', access_token: 'cs-delivery-secret', host: 'h' } },
        config: { adminToken: 'admin-secret-token', databaseUrl: 'postgres://herald:db-secret-pw@db:5432/herald', port: 4100 },
        destination: { http_basic_password: 'basic-secret-pw', target_url: 'https://a.example/hook' },
      },
      'everything at once',
    );
    log.child({ reqId: 'r1' }).info({ headers: { cookie: 'session=cookie-secret' }, password: 'pw-secret' }, 'child');
    // A request's logger (src/http/app.ts) and its children redact the same.
    requestLogger(log, 'r2"\\').child({ part: 1 }).info({ headers: { authorization: 'Bearer cs-secret-token' }, token: 'admin-secret-token' }, 'request child');
    const text = JSON.stringify(out.lines);
    for (const secret of ['cs-secret-token', 'admin-secret-token', 'cs-delivery-secret', 'db-secret-pw', 'basic-secret-pw', 'cookie-secret', 'pw-secret']) {
      assert.ok(!text.includes(secret), `${secret} was logged: ${text}`);
    }
    assert.equal(out.lines[0]!.config.databaseUrl, 'postgres://herald:****@db:5432/herald');
    assert.equal(out.lines[0]!.req.headers.host, 'h');
    assert.equal(out.lines[0]!.destination.target_url, 'https://a.example/hook');
    assert.equal(out.lines[1]!.reqId, 'r1');
    assert.equal(out.lines[2]!.reqId, 'r2"\\');
    assert.equal(out.lines[2]!.part, 1);
    assert.equal(out.lines[2]!.headers.authorization, '[redacted]');
  });

  describe('a running Herald', () => {
    let h: TestHerald;
    const out = sink();
    before(async () => {
      h = await startHerald({ logLevel: 'trace', logTo: out.stream, retryDelaysMs: [50] });
    });
    after(() => h.close());

    it('puts the request id on every line about a request, and the delivery id on every line about a delivery', async () => {
      let calls = 0;
      const rx = await startReceiver((_r, res) => {
        if (calls++ === 0) res.statusCode = 500; // one failure, then its retry
      });
      try {
        const stack = await h.newStack();
        const headers = { api_key: stack.api_key, authorization: stack.token };
        const hook = await createWebhook(h, stack, rx.url);
        // Requests of several kinds: JSON, a multipart upload (its plugin logs at trace level), errors.
        const form = new FormData();
        form.append('asset[upload]', new Blob(['hello']), 'hello.txt');
        assert.equal((await fetch(`${h.url}/v3/assets`, { method: 'POST', headers, body: form })).status, 201);
        assert.equal((await h.request('GET', '/v3/webhooks/nope', { headers })).status, 404);
        assert.equal((await h.request('POST', '/v3/webhooks', { headers, body: '{"webhook": ' })).status, 400);
        await emit(h, stack, { uid: 'bltLogs1', action: 'publish' });
        await until(async () => (await executions(h, stack, hook.uid, '&state=succeeded')).length === 2, 5000, 'deliveries');
        // Flushes pino's buffered writes.
        await new Promise((r) => setTimeout(r, 50));
      } finally {
        await rx.close();
      }
      const requests = out.lines.filter((l) => l.msg === 'request');
      assert.ok(requests.length >= 8, `request lines: ${requests.length}`);
      for (const l of requests) {
        assert.match(String(l.reqId), /^[0-9a-f-]{36}$/, JSON.stringify(l));
        assert.ok(l.level === 30 && typeof l.method === 'string' && l.url.startsWith('/') && typeof l.status === 'number' && typeof l.ms === 'number', JSON.stringify(l));
      }
      // Lines logged through a request's logger (the multipart plugin's, at trace level) carry it too.
      const routeLines = out.lines.filter((l) => l.msg !== 'request' && (l.req || l.res || /multipart|busboy/i.test(l.msg ?? '')));
      assert.ok(routeLines.length >= 2, `route-level lines: ${routeLines.length}`);
      for (const l of routeLines) assert.ok(l.reqId, `no reqId on ${JSON.stringify(l)}`);
      const attempts = out.lines.filter((l) => l.msg === 'attempt');
      assert.ok(attempts.length >= 3, `attempt lines: ${attempts.length}`);
      for (const l of attempts) assert.match(String(l.deliveryId), /^exe_/, JSON.stringify(l));
      // Nothing logged carries a credential.
      const text = JSON.stringify(out.lines);
      assert.ok(!text.includes(ADMIN_TOKEN));
    });
  });

  it('writes readable lines when HERALD_LOG_FORMAT=pretty, and exits 0 on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-pretty-'));
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve', '--port', '0', '--data-dir', dir], {
      env: { ...process.env, HERALD_ADMIN_TOKEN: ADMIN_TOKEN, HERALD_LOG_FORMAT: 'pretty', HERALD_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      await until(() => /herald is listening/.test(output), PROCESS_START_MS, 'the server to listen');
      const line = output.split('\n').find((l) => l.includes('herald is listening'))!;
      assert.match(line, /^\d\d:\d\d:\d\d\.\d{3} INFO  herald is listening url=http:\/\/127\.0\.0\.1:\d+ /);
      child.kill('SIGTERM');
      assert.equal(await exited, 0, output);
      assert.match(output, /INFO  shutting down/);
      assert.match(output, /INFO  stopped/);
    } finally {
      child.kill('SIGKILL');
      removeDir(dir);
    }
  });
});
