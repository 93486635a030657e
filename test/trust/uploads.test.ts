import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startHerald, type TestHerald } from '../helpers/herald.ts';

/**
 * Uploads refused part-way never leave a connection that answers nothing more, a multipart body
 * without its boundary is a 400 that says so, and a full disk is a 503 to try again later.
 */

/** Sends raw bytes on one connection and collects everything that comes back until `ms` passes or the server closes. */
function exchange(port: number, bytes: Buffer[], ms: number): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let closed = false;
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closed });
    };
    const timer = setTimeout(done, ms);
    socket.on('data', (c) => {
      chunks.push(c);
      // Both answers in: no need to wait longer.
      if ((Buffer.concat(chunks).toString('latin1').match(/HTTP\/1\.1 \d{3} /g) ?? []).length >= 2) done();
    });
    socket.on('end', () => {
      closed = true;
      done();
    });
    socket.on('error', () => {
      closed = true;
      done();
    });
    for (const b of bytes) socket.write(b);
  });
}

/** A multipart request, headers and body as bytes. */
function multipart(path: string, headers: Record<string, string>, parts: Array<{ name: string; filename?: string; body: Buffer | string }>, boundary: string | null = 'herald-test-boundary') {
  const b = boundary ?? 'herald-test-boundary';
  const body = Buffer.concat([
    ...parts.flatMap((p) => [
      Buffer.from(`--${b}\r\ncontent-disposition: form-data; name="${p.name}"${p.filename ? `; filename="${p.filename}"\r\ncontent-type: application/octet-stream` : ''}\r\n\r\n`),
      Buffer.isBuffer(p.body) ? p.body : Buffer.from(p.body),
      Buffer.from('\r\n'),
    ]),
    Buffer.from(`--${b}--\r\n`),
  ]);
  const head = [
    `POST ${path} HTTP/1.1`,
    'host: 127.0.0.1',
    `content-type: multipart/form-data${boundary ? `; boundary=${boundary}` : ''}`,
    `content-length: ${body.length}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    '',
    '',
  ].join('\r\n');
  return Buffer.concat([Buffer.from(head), body]);
}

/**
 * Sends `request` then `next` on one connection: the refusal comes back, then `next` is answered
 * 200, or (a body too large to read through, when `expected` allows it) the refusal says
 * `Connection: close` and the connection ends. Never a connection left hanging.
 */
async function assertNextAnswered(port: number, what: string, request: Buffer, next: Buffer, refused: RegExp, expected: 'answered' | 'answered or closed') {
  const { text, closed } = await exchange(port, [request, next], 10_000);
  assert.match(text, refused, `${what}: the refusal (got ${JSON.stringify(text.slice(0, 300))})`);
  const answers = text.match(/HTTP\/1\.1 \d{3} /g) ?? [];
  if (answers.length >= 2) {
    assert.match(answers[1], /200/, `${what}: the next request on the connection is answered`);
  } else {
    assert.equal(expected, 'answered or closed', `${what}: a body this small is read to its end and the next request answered (got ${JSON.stringify(text.slice(0, 300))})`);
    // Closing is the other honest answer: the refusal says so and the connection ends.
    assert.match(text, /^connection: close/im, `${what}: the refusal says the connection closes (got ${JSON.stringify(text.slice(0, 300))})`);
    assert.equal(closed, true, `${what}: the connection is closed, not left hanging`);
  }
}

const get = (path: string, headers: Record<string, string>) =>
  Buffer.from([`GET ${path} HTTP/1.1`, 'host: 127.0.0.1', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n'));

describe('uploads refused part-way', () => {
  let h: TestHerald;
  let port: number;
  let headers: Record<string, string>;

  before(async () => {
    h = await startHerald({ assetLimit: 256 * 1024 });
    port = Number(new URL(h.url).port);
    const s = await h.newStack();
    headers = { api_key: s.api_key, authorization: s.token };
  });
  after(() => h.close());

  // 1 MiB after the refused part: more than socket buffers hold, so an unread body blocks the
  // connection; Herald reads up to 1 MiB of it to keep the connection, and closes it past that.
  const big = Buffer.alloc(1024 * 1024, 'x');
  const half = Buffer.alloc(512 * 1024, 'x');
  const cases: Array<[string, Buffer, RegExp, 'answered' | 'answered or closed']> = [];
  const octets = (path: string, hdrs: Record<string, string>, body: Buffer) =>
    Buffer.concat([
      Buffer.from([`POST ${path} HTTP/1.1`, 'host: 127.0.0.1', 'content-type: application/octet-stream', `content-length: ${body.length}`, ...Object.entries(hdrs).map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n')),
      body,
    ]);

  it('answers the next request on the same connection, or closes it, after refusing an upload part-way', async () => {
    const space = headers.api_key;
    const bearer = { authorization: `Bearer ${headers.authorization}` };
    cases.push(
      ['an unknown field first', multipart('/v3/assets', headers, [{ name: 'asset[colour]', body: 'red' }, { name: 'asset[upload]', filename: 'a.bin', body: big }]), /^HTTP\/1\.1 422/, 'answered or closed'],
      ['an unknown field first, 512 KiB', multipart('/v3/assets', headers, [{ name: 'asset[colour]', body: 'red' }, { name: 'asset[upload]', filename: 'a.bin', body: half }]), /^HTTP\/1\.1 422/, 'answered'],
      ['two files', multipart('/v3/assets', headers, [{ name: 'asset[upload]', filename: 'a.bin', body: 'one' }, { name: 'asset[upload]', filename: 'b.bin', body: big }]), /^HTTP\/1\.1 400/, 'answered or closed'],
      ['two files, 512 KiB', multipart('/v3/assets', headers, [{ name: 'asset[upload]', filename: 'a.bin', body: 'one' }, { name: 'asset[upload]', filename: 'b.bin', body: half }]), /^HTTP\/1\.1 400/, 'answered'],
      ['a file over the asset limit', multipart('/v3/assets', headers, [{ name: 'asset[upload]', filename: 'a.bin', body: Buffer.concat([big, big]) }]), /^HTTP\/1\.1 413/, 'answered or closed'],
      ['a wrong token', multipart('/v3/assets', { ...headers, authorization: 'nope' }, [{ name: 'asset[upload]', filename: 'a.bin', body: big }]), /^HTTP\/1\.1 (401|404)/, 'answered or closed'],
      ['a Contentful upload with a wrong token', octets(`/spaces/${space}/uploads`, { authorization: 'Bearer nope' }, half), /^HTTP\/1\.1 401/, 'answered'],
      ['a Contentful upload over the asset limit', octets(`/spaces/${space}/uploads`, bearer, Buffer.concat([big, big])), /^HTTP\/1\.1 413/, 'answered or closed'],
    );
    for (const [what, request, refused, expected] of cases) {
      await assertNextAnswered(port, what, request, get('/v3/webhooks', headers), refused, expected);
    }
  });

  it('refuses multipart/form-data without a boundary with 400 naming it, on POST and PUT', async () => {
    for (const [method, path] of [['POST', '/v3/assets'], ['PUT', '/v3/assets/blt0000000000000001']]) {
      const r = await fetch(`${h.url}${path}`, { method, headers: { ...headers, 'content-type': 'multipart/form-data' }, body: 'whatever' });
      assert.equal(r.status, 400, `${method} ${path}`);
      const body = await r.json();
      assert.match(body.error_message, /boundary/);
      assert.ok(body.errors['content-type'], JSON.stringify(body));
    }
    const raw = await exchange(port, [multipart('/v3/assets', headers, [{ name: 'asset[upload]', filename: 'a.bin', body: 'abc' }], null), get('/v3/webhooks', headers)], 10_000);
    assert.match(raw.text, /^HTTP\/1\.1 400/);
  });
});

/**
 * A data dir on a small tmpfs of the test's own, filled to the last byte: every write that needs
 * space answers 503 with Retry-After (never a 500), /readyz is not ready, and both recover once
 * space is freed. Needs root to mount; skips with the reason elsewhere.
 */
describe('a full disk', () => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-full-'));
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', dir], { encoding: 'utf8' });
  const skip = mounted.status === 0 ? false : `cannot mount a tmpfs to fill (${(mounted.stderr || mounted.error?.message || 'mount failed').trim()}): run as root to test a full disk`;
  let h: TestHerald;
  let headers: Record<string, string>;
  const filler = join(dir, 'filler');

  before(async () => {
    if (skip) return;
    h = await startHerald({ backend: 'sqlite' }, join(dir, 'data'));
    const s = await h.newStack();
    headers = { api_key: s.api_key, authorization: s.token };
  });
  after(async () => {
    if (skip) return;
    await h.close();
    spawnSync('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  });

  const upload = (method: string, path: string) => {
    const form = new FormData();
    form.append('asset[upload]', new Blob([Buffer.alloc(200 * 1024, 'a')]), 'a.bin');
    return fetch(`${h.url}${path}`, { method, headers, body: form });
  };

  it('answers 503 with Retry-After to every upload, is not ready meanwhile, and recovers once space is freed', { skip }, async () => {
    const asset = await upload('POST', '/v3/assets');
    assert.equal(asset.status, 201);
    const uid = (await asset.json()).asset.uid;
    // Fill what is left, to the last block.
    const fd = openSync(filler, 'w');
    try {
      const chunk = Buffer.alloc(1024 * 1024);
      for (let size = chunk.length; size >= 1; ) {
        try {
          writeSync(fd, chunk, 0, size);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
          size = Math.floor(size / 2);
        }
      }
    } finally {
      closeSync(fd);
    }
    const space = headers.api_key;
    const bearer = { authorization: `Bearer ${headers.authorization}` };
    const writes: Array<[string, () => Promise<Response>]> = [
      ['POST /v3/assets', () => upload('POST', '/v3/assets')],
      ['PUT /v3/assets/{uid}', () => upload('PUT', `/v3/assets/${uid}`)],
      ['POST /spaces/{s}/uploads', () => fetch(`${h.url}/spaces/${space}/uploads`, { method: 'POST', headers: { ...bearer, 'content-type': 'application/octet-stream' }, body: Buffer.alloc(200 * 1024, 'b') })],
      [
        'POST /spaces/{s}/assets with a data: URL',
        () =>
          fetch(`${h.url}/spaces/${space}/assets`, {
            method: 'POST',
            headers: { ...bearer, 'content-type': 'application/vnd.contentful.management.v1+json' },
            body: JSON.stringify({ fields: { title: { 'en-US': 'Full' }, file: { 'en-US': { fileName: 'f.bin', contentType: 'application/octet-stream', upload: `data:application/octet-stream;base64,${Buffer.alloc(200 * 1024, 'c').toString('base64')}` } } } }),
          }),
      ],
    ];
    for (const [what, write] of writes) {
      const r = await write();
      const text = await r.text();
      assert.equal(r.status, 503, `${what}: ${text.slice(0, 300)}`);
      assert.ok(Number(r.headers.get('retry-after')) > 0, `${what}: Retry-After`);
      assert.match(text, /no space left/i, what);
    }
    // Refused part-way for lack of space (item 3): the connection answers the next request, or closes.
    const port = Number(new URL(h.url).port);
    const rawUpload = (size: number) => multipart('/v3/assets', headers, [{ name: 'asset[upload]', filename: 'full.bin', body: Buffer.alloc(size, 'd') }]);
    await assertNextAnswered(port, 'a full disk, 512 KiB', rawUpload(512 * 1024), get('/v3/webhooks', headers), /^HTTP\/1\.1 503/, 'answered');
    await assertNextAnswered(port, 'a full disk, 2 MiB', rawUpload(2 * 1024 * 1024), get('/v3/webhooks', headers), /^HTTP\/1\.1 503/, 'answered or closed');
    const ready = await h.request('GET', '/readyz');
    assert.equal(ready.status, 503);
    assert.equal(ready.body.checks.disk, 'full');
    assert.match(ready.body.reasons.join(' '), /lack of space/);
    assert.equal((await h.request('GET', '/healthz')).status, 200, 'alive throughout');

    unlinkSync(filler);
    assert.equal((await h.request('GET', '/readyz')).status, 200);
    assert.equal((await upload('POST', '/v3/assets')).status, 201);
  });
});
