import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { capabilityFile } from '../../content/asset-urls.ts';
import { notFound } from '../../errors.ts';
import type { Herald } from '../../herald.ts';
import { etagMatches, parseRange } from '../ranges.ts';
import { doc, Params, Query, TAGS, Text } from '../schemas.ts';

type Req = { Params: { api_key: string; uid: string; cap: string; filename: string }; Querystring: Record<string, string | string[] | undefined> };

/**
 * How long browsers and CDNs may keep a file, s. A published URL serves one version's bytes,
 * which never change, but an unpublish must take effect: purge a CDN on unpublish (README,
 * "Caching"), and browsers see it within this.
 */
export const PUBLIC_FILE_MAX_AGE_S = 300;

/**
 * Asset files at their capability URLs (content/asset-urls.ts): no credential, the capability in
 * the path is the permission. Published (`p`) URLs are what the delivery APIs show; management
 * (`m`) URLs what the management API, webhook payloads and export tools show. Everything that
 * does not resolve (a forged capability, an unpublished or deleted asset) is the same 404.
 * Served with its content type, ETag (304 on If-None-Match), one byte range (206/416),
 * Last-Modified and Cache-Control; never sniffed, inline only for raster images.
 */
export default function assetFileRoutes(app: FastifyInstance, h: Herald) {
  app.get<Req>(
    '/v3/assets/:api_key/:uid/:cap/:filename',
    doc(TAGS.assets, "An asset version's file at its capability URL (the asset's `url`): no credential needed; published URLs stop working at unpublish", {
      params: Params({ api_key: "the stack's API key", uid: 'the asset uid', cap: 'the capability (from the url)', filename: 'the file name (not checked)' }),
      querystring: Query({ branch: Text('the branch (default main)'), authtoken: Text('accepted and ignored (csdx appends it for secured assets): the capability is the permission') }),
      success: { status: 200, description: 'The file, with its content type', contentType: 'application/octet-stream' },
      security: [],
    }),
    async (req, reply) => {
      const q = req.query.branch;
      const branch = (Array.isArray(q) ? q[0] : q) || 'main';
      const file = await capabilityFile(h, req.params.api_key, branch, req.params.uid, req.params.cap);
      let info;
      try {
        info = file && (await stat(file.path));
      } catch {
        info = undefined;
      }
      if (!file || !info) throw notFound('File');
      const etag = `"${file.uid}-${file.version}"`;
      const size = info.size;
      const inline = /^image\/(png|jpe?g|gif|webp|avif)$/.test(file.content_type);
      const ascii = file.filename.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
      reply
        .header('etag', etag)
        .header('last-modified', info.mtime.toUTCString())
        .header('cache-control', `${file.scope === 'p' ? 'public' : 'private'}, max-age=${PUBLIC_FILE_MAX_AGE_S}`)
        .header('accept-ranges', 'bytes')
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', "default-src 'none'; sandbox")
        .header('access-control-allow-origin', '*')
        .header('content-disposition', `${inline ? 'inline' : 'attachment'}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(file.filename)}`);
      if (etagMatches(header(req.headers['if-none-match']), etag)) return reply.status(304).send();
      // If-Range: a range of these bytes only if the client's copy is of this version.
      const ifRange = header(req.headers['if-range']);
      const range = ifRange !== undefined && ifRange !== etag ? undefined : parseRange(header(req.headers.range), size);
      if (range === 'unsatisfiable') {
        return reply.status(416).header('content-range', `bytes */${size}`).send();
      }
      reply.header('content-type', file.content_type);
      if (range) {
        reply.status(206).header('content-range', `bytes ${range.start}-${range.end}/${size}`).header('content-length', String(range.end - range.start + 1));
        return reply.send(createReadStream(file.path, { start: range.start, end: range.end }));
      }
      reply.header('content-length', String(size));
      return reply.send(createReadStream(file.path));
    },
  );
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
