import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Herald } from '../../herald.ts';
import { doc, TAGS } from '../schemas.ts';

/**
 * The web app (sources in web/), served by Herald itself and talking to it only through the public
 * /v3 API. Routing is by hash (`/#/webhooks`, `/#/content/blog`), so the server knows three paths:
 *   GET /              the page
 *   GET /app/app.js    the bundle (Preact and the app, minified)
 *   GET /app/app.css   its styles
 * Nothing here shadows `/v3/*` or `/healthz`.
 *
 * The bundle is built in memory by esbuild on the first request for it (about 100-300 ms, once per
 * process), so a fresh clone needs no build step and no build output is committed. esbuild and
 * preact are development dependencies: an install without them (`npm ci --omit=dev`) serves the API
 * as usual and answers the page with 503 and a sentence saying what to install.
 */

const WEB_DIR = fileURLToPath(new URL('../../../web/', import.meta.url));

/** The page's security policy: only our own script and styles, API calls to ourselves, blob: images (asset previews). */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

interface Asset {
  type: string;
  body: Buffer;
  gzip: Buffer;
  etag: string;
}

interface Bundle {
  page: Asset;
  files: Map<string, Asset>;
}

function asset(type: string, body: Buffer): Asset {
  return { type, body, gzip: gzipSync(body), etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
}

/** Builds web/src/main.tsx (and the CSS it imports) into memory. */
/** Thrown when esbuild itself is missing (an install without development dependencies). */
class BuilderMissing extends Error {}

async function build(): Promise<Bundle> {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch (err) {
    throw new BuilderMissing('esbuild is not installed', { cause: err });
  }
  const result = await esbuild.build({
    entryPoints: [WEB_DIR + 'src/main.tsx'],
    absWorkingDir: WEB_DIR,
    bundle: true,
    minify: true,
    write: false,
    outdir: WEB_DIR + 'out',
    entryNames: 'app',
    format: 'esm',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    logLevel: 'silent',
    // src/webhooks/conditions.ts (shared with the form) imports re2, a native addon: the browser
    // gets a RegExp stand-in that refuses what RE2 refuses (web/src/re2-browser.ts).
    plugins: [
      {
        name: 're2-browser',
        setup(b) {
          b.onResolve({ filter: /^re2$/ }, () => ({ path: WEB_DIR + 'src/re2-browser.ts' }));
        },
      },
    ],
  });
  const files = new Map<string, Asset>();
  for (const f of result.outputFiles) {
    const name = f.path.slice(f.path.lastIndexOf('/') + 1);
    files.set(name, asset(name.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8', Buffer.from(f.contents)));
  }
  const html = await readFile(WEB_DIR + 'index.html');
  return { page: asset('text/html; charset=utf-8', html), files };
}

function send(req: FastifyRequest, reply: FastifyReply, a: Asset) {
  reply
    .header('content-type', a.type)
    .header('etag', a.etag)
    // Revalidate every time: the ETag makes that a 304, and a restarted server may serve a new build.
    .header('cache-control', 'no-cache')
    .header('x-content-type-options', 'nosniff')
    .header('vary', 'accept-encoding');
  if (req.headers['if-none-match'] === a.etag) return reply.status(304).send();
  if (/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) return reply.header('content-encoding', 'gzip').send(a.gzip);
  return reply.send(a.body);
}

export default function webRoutes(app: FastifyInstance, h: Herald) {
  let built: Promise<Bundle> | undefined;
  const bundle = () => {
    built ??= build().catch((err) => {
      built = undefined; // try again on the next request (e.g. after `npm ci`)
      h.log.error({ err }, 'the web app could not be built');
      throw err;
    });
    return built;
  };

  const unavailable = (reply: FastifyReply, err: unknown) =>
    reply
      .status(503)
      .header('content-type', 'text/plain; charset=utf-8')
      .send(
        err instanceof BuilderMissing
          ? 'The Herald web app could not be built: it needs the development dependencies (esbuild, preact). Run `npm ci`, then reload.\n'
          : 'The Herald web app could not be built; the server log says why. The API at /v3 works as usual.\n',
      );

  app.get('/', doc(TAGS.web, 'The web app', { security: [], success: { status: 200, description: 'HTML', contentType: 'text/html' } }), async (req, reply) => {
    let b: Bundle;
    try {
      b = await bundle();
    } catch (err) {
      return unavailable(reply, err);
    }
    reply.header('content-security-policy', CSP).header('referrer-policy', 'no-referrer').header('x-frame-options', 'DENY');
    return send(req, reply, b.page);
  });

  for (const name of ['app.js', 'app.css']) {
    app.get(`/app/${name}`, doc(TAGS.web, `The web app's ${name.endsWith('.js') ? 'script' : 'styles'}`, { security: [], success: { status: 200, description: name, contentType: name.endsWith('.js') ? 'text/javascript' : 'text/css' } }), async (req, reply) => {
      let b: Bundle;
      try {
        b = await bundle();
      } catch (err) {
        return unavailable(reply, err);
      }
      return send(req, reply, b.files.get(name)!);
    });
  }
}
