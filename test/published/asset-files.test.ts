import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { fileUrl } from '../../src/content/asset-urls.ts';
import { pruneRetiredFiles } from '../../src/content/assets.ts';
import { parseRange } from '../../src/http/ranges.ts';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { clientStack, type TestStack } from '../content/helpers/content.ts';

/**
 * Asset files at their capability URLs: fetched with no credential, as a page's <img src> or an
 * export tool does. Management URLs serve any existing version; published URLs only what is
 * published, and stop at unpublish or delete.
 */
describe('asset file URLs', () => {
  let h: TestHerald;
  let s: TestStack;
  const bytes = randomBytes(300 * 1024);

  before(async () => {
    h = await startHerald();
    s = await clientStack(h);
    await s.stack.environment().create({ environment: { name: 'production' } });
  });
  after(() => h.close());

  /** The published URL of an asset version, as the delivery API shows it. */
  const publishedUrl = (asset: { uid: string; filename: string; created_at: string }, version: number) =>
    fileUrl({ origin: h.url, key: h.herald.assetUrlKey }, 'p', s.api_key, 'main', { ...asset, version });

  it('serves a draft asset at its management url with no credential, and nothing at a guessed one', async () => {
    const asset = await s.stack.asset().create({ upload: bytes, filename: 'photo.png', content_type: 'image/png' });
    assert.match(asset.url, new RegExp(`^${h.url}/v3/assets/${s.api_key}/${asset.uid}/m1-[A-Za-z0-9_-]{27}/photo.png$`));
    const res = await fetch(asset.url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/png');
    assert.equal(res.headers.get('accept-ranges'), 'bytes');
    assert.match(res.headers.get('cache-control')!, /^private, max-age=\d+$/);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(bytes));

    // Another capability, a flipped character, another stack's key, a published scope: all 404.
    const forged = asset.url.replace(/m1-(.)/, (_: string, c: string) => `m1-${c === 'A' ? 'B' : 'A'}`);
    for (const url of [forged, asset.url.replace('/m1-', '/m2-'), asset.url.replace('/m1-', '/p1-'), `${h.url}/v3/assets/${s.api_key}/${asset.uid}/photo.png`]) {
      assert.notEqual((await fetch(url)).status, 200, url);
    }
    // The existing management route still asks for a token.
    assert.equal((await fetch(`${h.url}/v3/assets/${s.api_key}/${asset.uid}/photo.png`)).status, 401);
  });

  it('serves a published version publicly with Range, ETag and caching headers, and stops at unpublish', async () => {
    const asset = await s.stack.asset().create({ upload: bytes, filename: 'big file.bin', content_type: 'application/octet-stream' });
    const url = publishedUrl(asset, 1);
    assert.equal((await fetch(url)).status, 404, 'not published yet');
    await s.stack.asset(asset.uid).publish({ publishDetails: { environments: ['production'], locales: ['en-us'] } });

    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('cache-control')!, /^public, max-age=\d+$/);
    const etag = res.headers.get('etag')!;
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(bytes), 'the same bytes');

    const part = await fetch(url, { headers: { range: 'bytes=1000-1999' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 1000-1999/${bytes.length}`);
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(1000, 2000)));
    const tail = await fetch(url, { headers: { range: 'bytes=-10' } });
    assert.ok(Buffer.from(await tail.arrayBuffer()).equals(bytes.subarray(bytes.length - 10)));
    const past = await fetch(url, { headers: { range: `bytes=${bytes.length}-` } });
    assert.equal(past.status, 416);
    assert.equal(past.headers.get('content-range'), `bytes */${bytes.length}`);
    await past.arrayBuffer();

    const again = await fetch(url, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);

    // A new file replaces the draft: the published URL keeps serving what was published.
    await s.stack.asset(asset.uid).replace({ upload: Buffer.from('new bytes'), filename: 'big file.bin', content_type: 'application/octet-stream' });
    assert.ok(Buffer.from(await (await fetch(url)).arrayBuffer()).equals(bytes), 'the published version, not the draft');

    await s.stack.asset(asset.uid).unpublish({ publishDetails: { environments: ['production'], locales: ['en-us'] } });
    assert.equal((await fetch(url)).status, 404, 'gone at unpublish');
  });

  it('stops serving a deleted asset at both its urls', async () => {
    const asset = await s.stack.asset().create({ upload: Buffer.from('doomed'), filename: 'd.txt', content_type: 'text/plain' });
    await s.stack.asset(asset.uid).publish({ publishDetails: { environments: ['production'], locales: ['en-us'] } });
    const url = publishedUrl(asset, 1);
    assert.equal(await (await fetch(url)).text(), 'doomed');
    await s.stack.asset(asset.uid).delete();
    assert.equal((await fetch(url)).status, 404);
    assert.equal((await fetch(asset.url)).status, 404);
  });

  it("stops serving a deleted asset's urls when its uid is given to a new asset, whose own urls serve it", async () => {
    const publish = (uid: string) => s.stack.asset(uid).publish({ publishDetails: { environments: ['production'], locales: ['en-us'] } });
    const old = await s.stack.asset().create({ upload: Buffer.from('the old asset'), filename: 'same.txt', content_type: 'text/plain' });
    await publish(old.uid);
    const oldPublished = publishedUrl(old, 1);
    assert.equal(await (await fetch(oldPublished)).text(), 'the old asset');
    await s.stack.asset(old.uid).delete();
    // Made again under the deleted one's uid (x-herald-uid; a Contentful id reused is the same), and published at its version 1.
    const form = new FormData();
    form.append('asset[upload]', new Blob([new Uint8Array(Buffer.from('the new asset'))], { type: 'text/plain' }), 'same.txt');
    const made = await fetch(`${h.url}/v3/assets`, { method: 'POST', headers: { ...s.headers, 'x-herald-uid': old.uid }, body: form });
    assert.equal(made.status, 201);
    const fresh = ((await made.json()) as any).asset;
    assert.deepEqual([fresh.uid, fresh._version], [old.uid, 1]);
    await publish(fresh.uid);
    // A page or cache still holding the deleted asset's links gets a 404, never the new asset's file.
    assert.equal((await fetch(oldPublished)).status, 404);
    assert.equal((await fetch(old.url)).status, 404);
    assert.notEqual(fresh.url, old.url);
    assert.equal(await (await fetch(fresh.url)).text(), 'the new asset');
    assert.equal(await (await fetch(publishedUrl(fresh, 1))).text(), 'the new asset');
  });

  it("answers 404 at an earlier version's url once its file is no longer held (pruned, or replaced before a branch copy), never the current file", async () => {
    const asset = await s.stack.asset().create({ upload: Buffer.from('v1 bytes'), filename: 'k.txt', content_type: 'text/plain' });
    const v1 = asset.url;
    await s.stack.asset(asset.uid).replace({ upload: Buffer.from('v2 bytes'), filename: 'k.txt', content_type: 'text/plain' });
    assert.equal(await (await fetch(v1)).text(), 'v1 bytes');
    const url = (branch: string, version: number) => fileUrl({ origin: h.url, key: h.herald.assetUrlKey }, 'm', s.api_key, branch, { ...asset, version });
    await s.stack.branch().create({ branch: { uid: 'later', source: 'main' } });
    const onBranch = (version: number) => url('later', version);
    assert.equal((await fetch(onBranch(1))).status, 404, "replaced before the copy: not the copy's file");
    assert.equal(await (await fetch(onBranch(2))).text(), 'v2 bytes');
    await pruneRetiredFiles(h.herald.db, h.herald.assetsDir, Date.now() + 1);
    assert.equal((await fetch(v1)).status, 404, 'pruned: not the current file');
    assert.equal(await (await fetch(url('main', 2))).text(), 'v2 bytes', 'the current file');
  });
});

describe('asset url key', () => {
  it("keeps the urls of assets made before its epoch, and names the making of those made after", () => {
    const key = { secret: Buffer.alloc(32, 7), epoch: Date.parse('2026-12-01T00:00:00.000Z') };
    const links = { origin: 'http://h', key };
    const url = (created_at: unknown) => fileUrl(links, 'm', 'blt1', 'main', { uid: 'blta', filename: 'a.png', version: 1, created_at });
    // Before the epoch (or no time known): the url an older Herald made, MAC over scope|api_key|branch|uid|version.
    const before = url('2026-11-30T23:59:59.999Z');
    const mac = createHmac('sha256', key.secret).update('m|blt1|main|blta|1').digest().subarray(0, 20).toString('base64url');
    assert.equal(before, `http://h/v3/assets/blt1/blta/m1-${mac}/a.png`);
    assert.equal(url(undefined), before);
    // After it: each making its own url.
    const one = url('2026-12-02T00:00:00.000Z');
    const two = url('2026-12-03T00:00:00.000Z');
    assert.equal(new Set([before, one, two]).size, 3);
  });
});

describe('byte ranges', () => {
  it('reads one range, a suffix and an open end, and ignores what it does not serve', () => {
    assert.deepEqual(parseRange('bytes=0-9', 100), { start: 0, end: 9 });
    assert.deepEqual(parseRange('bytes=90-', 100), { start: 90, end: 99 });
    assert.deepEqual(parseRange('bytes=-5', 100), { start: 95, end: 99 });
    assert.deepEqual(parseRange('bytes=-500', 100), { start: 0, end: 99 });
    assert.deepEqual(parseRange('bytes=50-500', 100), { start: 50, end: 99 });
    assert.equal(parseRange('bytes=100-', 100), 'unsatisfiable');
    assert.equal(parseRange('bytes=-0', 100), 'unsatisfiable');
    assert.equal(parseRange('bytes=0-1,5-6', 100), undefined);
    assert.equal(parseRange('items=0-1', 100), undefined);
    assert.equal(parseRange('bytes=9-1', 100), undefined);
    assert.equal(parseRange(undefined, 100), undefined);
  });
});
