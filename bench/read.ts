/**
 * The read figure (`npm run bench:read`, and the last section of `npm run bench`): Contentstack
 * CDA entry lists, `limit=100` with `include[]` one level, against a stack of 10,000 published
 * entries (each referencing one of 100 published authors), side by side with a plain fastify
 * route answering a fixed body of the same size, in the same process and run. Requests per
 * second and p99 from a load generator in its own process (bench/load.ts).
 *
 * Three Herald figures: the same page over and over (answered from the response cache, as a
 * popular page is), a different URL every time (skip varies; each answer is built from the
 * published view, as after every publish), and with If-None-Match (304s). Then Contentful's CDA
 * over the same posts (published to the environment master too): one page again and again, and a
 * different page each time. "server CPU" is this process's CPU time per request while the load
 * runs (the load generator is another process): steadier than req/s on a shared machine.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { pino } from 'pino';
import { loadConfig } from '../src/config.ts';
import { createContentType } from '../src/content/content-types.ts';
import type { Scope } from '../src/content/context.ts';
import { createEntry, publishEntry } from '../src/content/entries.ts';
import { createEnvironment } from '../src/content/environments.ts';
import { createApiKey } from '../src/published/contentful-keys.ts';
import { createDeliveryToken } from '../src/published/tokens.ts';
import { startServer, type Running } from '../src/server.ts';

const ADMIN = 'bench-admin-token-0123456789';
const ENTRIES = Number(process.env.BENCH_READ_ENTRIES ?? 10_000);
const AUTHORS = 100;
const SECONDS = Number(process.env.BENCH_READ_SECONDS ?? 5);
const CONNECTIONS = 16;

const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

interface Load {
  rate: number;
  p50: number;
  p99: number;
  failed: number;
  bytes: number;
  /** CPU time of this process (the server, and nothing else while the load runs) per request, ms. */
  cpu: number;
}

function load(url: string, paths: string[], headers: Record<string, string>, status = 200): Promise<Load> {
  const child = fork(new URL('./load.ts', import.meta.url).pathname, [], { execArgv: ['--import', 'tsx'] });
  let c0 = process.cpuUsage();
  return new Promise((resolve, reject) => {
    child.on('message', (m: any) => {
      if (m.ready) {
        c0 = process.cpuUsage();
        return child.send({ url, paths, headers, seconds: SECONDS, connections: CONNECTIONS, status });
      }
      const c = process.cpuUsage(c0);
      const lat = (m.latencies as number[]).sort((a, b) => a - b);
      child.kill();
      resolve({ rate: m.count / m.seconds, p50: pct(lat, 50), p99: pct(lat, 99), failed: m.failed, bytes: m.bytes / Math.max(1, m.count), cpu: (c.user + c.system) / 1000 / Math.max(1, m.count) });
    });
    child.on('error', reject);
  });
}

export async function seed(h: Running) {
  const api_key = 'bltbenchread0000001';
  const now = Date.now();
  await h.herald.db.run('INSERT INTO stacks (api_key, name, doc, created_at, updated_at) VALUES (?, ?, ?, ?, ?)', [api_key, 'read bench', JSON.stringify({ api_key, name: 'read bench', master_locale: 'en-us' }), now, now]);
  await h.herald.db.run('INSERT INTO branches (api_key, uid, source, doc, created_at) VALUES (?, ?, NULL, ?, ?)', [api_key, 'main', JSON.stringify({ uid: 'main' }), now]);
  await h.herald.db.run('INSERT INTO locales (api_key, code, uid, doc, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)', [api_key, 'en-us', 'bltlocale', JSON.stringify({ code: 'en-us', name: 'English', fallback_locale: null }), now, now]);
  const scope: Scope = { api_key, branch: 'main', caller: { kind: 'admin', actor: 'admin' } };
  await createEnvironment(h.herald.db, scope, { name: 'production' });
  // Contentful's environment master reads what is published to Herald's environment named master.
  await createEnvironment(h.herald.db, scope, { name: 'master' });
  await createContentType(h.herald, scope, { title: 'Author', uid: 'author', schema: [{ uid: 'title', display_name: 'Name', data_type: 'text', mandatory: true }, { uid: 'bio', display_name: 'Bio', data_type: 'text' }] });
  await createContentType(h.herald, scope, {
    ...{
      title: 'Post',
      uid: 'post',
      schema: [
        { uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true },
        { uid: 'url', display_name: 'URL', data_type: 'text' },
        { uid: 'summary', display_name: 'Summary', data_type: 'text' },
        { uid: 'rank', display_name: 'Rank', data_type: 'number' },
        { uid: 'author', display_name: 'Author', data_type: 'reference', reference_to: ['author'], multiple: true },
      ],
    },
  });
  const publish = { entry: { environments: ['production', 'master'], locales: ['en-us'] } };
  const authors: string[] = [];
  for (let i = 0; i < AUTHORS; i++) {
    const a = await createEntry(h.herald, scope, 'author', { title: `Author ${i}`, bio: 'writes about webhooks and content. '.repeat(3) });
    await publishEntry(h.herald, scope, 'author', a.uid as string, publish);
    authors.push(a.uid as string);
  }
  for (let i = 0; i < ENTRIES; i++) {
    const e = await createEntry(h.herald, scope, 'post', {
      ...{ title: `Post ${i}`, url: `/posts/${i}`, summary: 'A post about publishing content and reading it back. '.repeat(4), rank: i, author: [{ uid: authors[i % AUTHORS], _content_type_uid: 'author' }] },
    });
    await publishEntry(h.herald, scope, 'post', e.uid as string, publish);
  }
  const token = await createDeliveryToken(h.herald.db, api_key, 'admin', { token: { name: 'bench', scope: [{ module: 'environment', environments: ['production'] }] } });
  const cf = await createApiKey(h.herald.db, api_key, 'admin', { name: 'bench', environments: [{ sys: { type: 'Link', linkType: 'Environment', id: 'master' } }] });
  return { api_key, token: token.token, contentfulKey: cf.accessToken as string };
}

export async function readBench() {
  const dir = mkdtempSync(join(tmpdir(), 'herald-bench-read-'));
  const config = loadConfig({ port: 0, dataDir: dir, adminToken: ADMIN, logLevel: 'silent', rateLimit: 0 }, {});
  const h = await startServer(config, { log: pino({ level: 'silent' }) });
  const fixed = Fastify({ logger: false });
  try {
    const t0 = performance.now();
    const { api_key, token, contentfulKey } = await seed(h);
    console.log(`read bench: ${fmt(ENTRIES)} published posts and ${AUTHORS} authors seeded in ${((performance.now() - t0) / 1000).toFixed(1)} s (SQLite)`);
    const headers = { api_key, access_token: token };
    const page = (skip: number) => `/v3/content_types/post/entries?environment=production&limit=100&skip=${skip}&include[]=author`;
    const sample = await fetch(h.url + page(0), { headers });
    const body = await sample.text();
    if (sample.status !== 200 || (JSON.parse(body) as { entries: unknown[] }).entries.length !== 100) throw new Error(`read bench: unexpected answer ${sample.status} ${body.slice(0, 200)}`);
    const etag = sample.headers.get('etag')!;
    // Contentful's CDA over the same posts (published to master too): a page of 100 with its linked authors in includes.
    const cfHeaders = { authorization: `Bearer ${contentfulKey}` };
    const cfPage = (skip: number) => `/spaces/${api_key}/environments/master/entries?content_type=post&limit=100&skip=${skip}&include=1`;
    const cfSample = await fetch(h.url + cfPage(0), { headers: cfHeaders });
    const cfBody = await cfSample.text();
    if (cfSample.status !== 200 || (JSON.parse(cfBody) as { items: unknown[] }).items.length !== 100) throw new Error(`read bench: unexpected Contentful answer ${cfSample.status} ${cfBody.slice(0, 200)}`);

    fixed.get('/fixed', async (_req, reply) => reply.header('content-type', 'application/json; charset=utf-8').send(body));
    await fixed.listen({ host: '127.0.0.1', port: 0 });
    const fixedUrl = `http://127.0.0.1:${(fixed.server.address() as { port: number }).port}`;

    const ceiling = await load(fixedUrl, ['/fixed'], {});
    const same = await load(h.url, [page(0)], headers);
    // Every skip from 0 to ENTRIES - 100: far more distinct pages than the response cache keeps.
    const skips = Array.from({ length: ENTRIES - 99 }, (_, i) => (i * 7919) % (ENTRIES - 99));
    const pages = await load(h.url, skips.map(page), headers);
    const notModified = await load(h.url, [page(0)], { ...headers, 'if-none-match': etag }, 304);
    const cfSame = await load(h.url, [cfPage(0)], cfHeaders);
    const cfPages = await load(h.url, skips.map(cfPage), cfHeaders);
    const line = (name: string, l: Load) =>
      `${name.padEnd(62)} ${fmt(l.rate).padStart(6)} req/s  p50 ${l.p50.toFixed(1)} ms  p99 ${l.p99.toFixed(1)} ms  server CPU ${l.cpu.toFixed(2)} ms/req  (${(l.rate / ceiling.rate).toFixed(2)} of ceiling${l.failed ? `, ${l.failed} failed` : ''})`;
    const [load1] = loadavg();
    console.log(`entry list, limit=100, include[]=author (${fmt(body.length)} bytes a page), ${CONNECTIONS} connections, ${SECONDS} s each, load average ${load1.toFixed(1)} on ${availableParallelism()} cores:`);
    console.log(line('  fastify route, fixed body of the same size (ceiling)', ceiling));
    console.log(line('  Herald CDA, one page again and again (response cache)', same));
    console.log(line('  Herald CDA, a different page each time (built from the view)', pages));
    console.log(line('  Herald CDA, If-None-Match (304)', notModified));
    console.log(`Contentful CDA, the same posts, limit=100, include=1 (${fmt(cfBody.length)} bytes a page; the ceiling above is for ${fmt(body.length)}):`);
    console.log(line('  Herald Contentful CDA, one page again and again', cfSame));
    console.log(line('  Herald Contentful CDA, a different page each time', cfPages));
    return { ceiling, same, pages, notModified, cfSame, cfPages };
  } finally {
    await fixed.close();
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await readBench();
