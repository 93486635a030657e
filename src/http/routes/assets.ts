import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  assetFile,
  createAsset,
  deleteAsset,
  fetchAsset,
  listAssets,
  setAssetArchived,
  updateAsset,
} from '../../content/assets.ts';
import type { Scope } from '../../content/context.ts';
import * as files from '../../content/files.ts';
import { outcomeError } from '../../content/publications.ts';
import { bodyField } from '../../content/field-errors.ts';
import { isObject } from '../../content/guards.ts';
import { MAX_LIMIT, parsePaging, parseQuery, parseSort } from '../../content/read-query.ts';
import { HeraldError, invalid, notFound } from '../../errors.ts';
import type { Herald } from '../../herald.ts';
import { originOf } from '../origin.ts';
import { scopeTo } from '../auth.ts';
import { doc, CREATED, Envelope, LIST_QUERY, Paging, Params, Query, TAGS, Text, UID, Whole, wholeQuery } from '../schemas.ts';
import { branchOn, branchOnAnswer, branchOnOne, INCLUDE_BRANCH } from '../include-branch.ts';
import { Always, checkAlways, PROJECTION } from '../schemas.ts';
import { parseReferenceParams, project } from '../../content/query-params.ts';
import { publishOrSchedule } from '../../content/schedule.ts';
import { createWithUid, requestedUid } from '../requested-uid.ts';
import { EVENT_SEQ_HEADER, requestedEventSeq } from '../event-seq.ts';

type Q = Record<string, string | undefined>;
type One = { Params: { uid: string }; Querystring: Q };

/** The origin asset URLs are built on (src/http/origin.ts): the public URL, or the one the client reached Herald at. */
const origin = (req: FastifyRequest, h: Herald) => originOf(req, h.config.publicUrl);

/** What a read of assets takes besides paging: only/except (PROJECTION) and these. */
const ASSET_READ = { include_publish_details: Always('include publish_details'), ...INCLUDE_BRANCH };

function assetReadParams(q: Q) {
  checkAlways(q, ['include_publish_details']);
  return parseReferenceParams(q);
}

/** Multipart fields an asset upload may carry, as the official client names them. */
const FORM_FIELD = /^asset\[(title|description|tags|parent_uid|upload)\]$/;

/**
 * Reads a multipart asset body: the file (`asset[upload]`) is streamed to a temp file under the
 * assets dir (the size limit is enforced while streaming: 413), the other fields are collected.
 * On any error the temp file is removed.
 */
async function readForm(req: FastifyRequest, h: Herald, scope: Scope, fileRequired: boolean) {
  if (!req.isMultipart()) {
    throw new HeraldError('unsupported_media_type', 'Uploading an asset needs multipart/form-data with the file in asset[upload].', {
      errors: { 'asset[upload]': ['must be sent as multipart/form-data'] },
    });
  }
  if (!/;\s*boundary=("[^"]+"|[^\s;]+)/i.test(req.headers['content-type'] ?? '')) {
    throw new HeraldError('bad_request', 'multipart/form-data needs its boundary: Content-Type: multipart/form-data; boundary=...', {
      errors: { 'content-type': ['must name the multipart boundary (multipart/form-data; boundary=...)'] },
    });
  }
  const fields: Record<string, unknown> = {};
  let upload: files.Upload | undefined;
  try {
    for await (const part of req.parts()) {
      const m = FORM_FIELD.exec(part.fieldname);
      if (part.type === 'file') {
        if (!m || m[1] !== 'upload') {
          part.file.resume();
          throw invalid(part.fieldname, 'is not a file field of assets (send the file as asset[upload])');
        }
        const { tmp, size } = await files.receive(h.assetsDir, scope.api_key, part.file);
        upload = { tmp, size, filename: part.filename, mimetype: part.mimetype };
      } else {
        if (!m || m[1] === 'upload') throw invalid(part.fieldname, 'is not a field of assets (asset[title], asset[description], asset[tags], asset[parent_uid], asset[upload])');
        fields[m[1]] = part.value;
      }
    }
  } catch (err) {
    if (upload) await files.removeAbsolute(upload.tmp);
    throw err;
  }
  if (fileRequired && !upload) throw invalid('asset[upload]', 'is required (the file to upload)');
  return { fields, upload };
}

/** Sends an asset's file. Served as an attachment unless it is a raster image, never sniffed. */
async function sendFile(h: Herald, scope: Scope, uid: string, reply: FastifyReply, version?: number, atSeq?: number) {
  const { path, doc } = await assetFile(h, scope, uid, version, atSeq);
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch {
    throw notFound(`The file of asset ${uid}`);
  }
  const inline = /^image\/(png|jpe?g|gif|webp|avif)$/.test(doc.content_type);
  const ascii = doc.filename.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  reply
    .header('content-type', doc.content_type)
    .header('content-length', String(size))
    .header('x-content-type-options', 'nosniff')
    .header('content-security-policy', "default-src 'none'; sandbox")
    .header('content-disposition', `${inline ? 'inline' : 'attachment'}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(doc.filename)}`);
  // Said back: the file is the one the uid named at that event (an older Herald ignored the header).
  if (atSeq !== undefined) reply.header(EVENT_SEQ_HEADER, String(atSeq));
  // Small files go out in one write, which also ends the response at once; larger ones stream.
  return reply.send(size <= SMALL_FILE ? await readFile(path) : createReadStream(path));
}

/** The upload form (documentation: readForm checks its parts as they stream in). */
const ASSET_FORM = {
  type: 'object',
  required: ['asset[upload]'],
  properties: {
    'asset[upload]': { type: 'string', format: 'binary', description: 'the file (one)' },
    'asset[title]': { type: 'string' },
    'asset[description]': { type: 'string' },
    'asset[tags]': { type: 'string', description: 'comma-separated' },
    'asset[parent_uid]': { type: 'string' },
  },
};
const FILE = { status: 200, description: 'The file, with its content type', contentType: 'application/octet-stream' };
const PUBLISH = Envelope('asset', 'environments: [names], locales: [codes]', { required: false });

/** Files up to this many bytes are read whole instead of streamed. */
const SMALL_FILE = 256 * 1024;

/** Assets (Contentstack CMA `/v3/assets`): upload, files, publish, plus archive and unarchive. */
export default function assetRoutes(app: FastifyInstance, h: Herald) {
  app.post<{ Querystring: Q }>('/v3/assets', doc(TAGS.assets, 'Upload an asset (multipart/form-data; Herald: x-herald-uid chooses its uid)', { querystring: Query(INCLUDE_BRANCH), multipart: ASSET_FORM, success: CREATED }), async (req, reply) => {
    const scope = await h.scope(req);
    // Checked before the upload streams in.
    const uid = requestedUid(req);
    const { fields, upload } = await readForm(req, h, scope, true);
    const asset = await createWithUid(uid, () => createAsset(h, scope, upload!, fields, origin(req, h), uid !== undefined ? { uid } : {}));
    reply.status(201);
    return { notice: 'Asset created successfully.', asset: branchOnOne(asset, req.query, scope.branch) };
  });

  app.get<{ Querystring: Q }>('/v3/assets', doc(TAGS.assets, 'List assets', { querystring: Query({ ...Paging(MAX_LIMIT), ...LIST_QUERY, ...ASSET_READ }, PROJECTION) }), async (req) => {
    const scope = await h.scope(req);
    const paging = parsePaging(req.query);
    const params = assetReadParams(req.query);
    const { assets, count } = await listAssets(h, scope, { paging, query: parseQuery(req.query.query), sort: parseSort(req.query) }, origin(req, h));
    if (paging.count) return { assets: count };
    const shown = branchOn(assets.map((a) => project(a, params.only.get('BASE'), params.except.get('BASE'))), req.query, scope.branch);
    return paging.includeCount ? { assets: shown, count } : { assets: shown };
  });

  app.get<One>('/v3/assets/:uid', doc(TAGS.assets, 'Get an asset', { params: UID, querystring: Query(ASSET_READ, PROJECTION) }), async (req) => {
    const scope = await h.scope(req);
    const params = assetReadParams(req.query);
    return { asset: branchOnOne(project(await fetchAsset(h, scope, req.params.uid, origin(req, h)), params.only.get('BASE'), params.except.get('BASE')), req.query, scope.branch) };
  });

  // JSON updates the metadata; multipart (the client's replace()) may also replace the file.
  app.put<One>('/v3/assets/:uid', doc(TAGS.assets, "Update an asset's metadata (JSON), or replace its file too (multipart)", { params: UID, querystring: Query(INCLUDE_BRANCH), body: Envelope('asset', 'title, description, tags, parent_uid', { required: false }), multipart: ASSET_FORM }), async (req) => {
    const scope = await h.scope(req);
    let meta: Record<string, unknown>;
    let upload: files.Upload | undefined;
    if (req.isMultipart()) ({ fields: meta, upload } = await readForm(req, h, scope, false));
    else {
      const raw = bodyField(req.body, 'asset');
      if (!isObject(raw)) throw invalid('asset', raw === undefined ? 'is required' : 'must be an object');
      meta = raw;
    }
    const asset = await updateAsset(h, scope, req.params.uid, meta, upload, origin(req, h));
    return { notice: 'Asset updated successfully.', asset: branchOnOne(asset, req.query, scope.branch) };
  });

  app.delete<One>('/v3/assets/:uid', doc(TAGS.assets, 'Delete an asset', { params: UID }), async (req) => {
    const scope = await h.scope(req);
    await deleteAsset(h, scope, req.params.uid, origin(req, h));
    return { notice: 'Asset deleted successfully.' };
  });

  app.get<One>(
    '/v3/assets/:uid/download',
    doc(TAGS.assets, "Download an asset's file: the current one, or with ?version= the file that version had (replaced and deleted files are kept for the log retention; Herald: the x-herald-event-seq header picks the asset a reused uid named at that event)", {
      params: UID,
      querystring: Query({ version: Whole('the asset version whose file to send (default: the current file)', 1) }),
      success: FILE,
    }),
    async (req, reply) => {
      const scope = await h.scope(req);
      const version = wholeQuery(req.query.version, 'version', undefined, Number.MAX_SAFE_INTEGER, 1);
      const atSeq = requestedEventSeq(req);
      if (atSeq !== undefined && version === undefined) throw invalid(EVENT_SEQ_HEADER, 'needs ?version= (it picks which asset a version belongs to)');
      return sendFile(h, scope, req.params.uid, reply, version, atSeq);
    },
  );

  // The asset's `url`. The stack is in the path; the branch comes from the header or `?branch=`.
  app.get<{ Params: { api_key: string; uid: string; filename: string }; Querystring: Q }>('/v3/assets/:api_key/:uid/:filename', doc(TAGS.assets, "An asset's file at its url (the branch from the header or ?branch=)", { params: Params({ api_key: "the stack's API key", uid: 'the asset uid', filename: 'the file name' }), querystring: Query({ branch: Text('the branch (default main)') }), success: FILE, security: [{ management_token: [] }, { authtoken: [] }] }), async (req, reply) => {
    const caller = await h.caller(req);
    const header = req.headers.branch;
    // `?branch=a&branch=b` parses to a list: the first one counts, as for a repeated header.
    const query = req.query.branch as string | string[] | undefined;
    const branch = (Array.isArray(header) ? header[0] : header) || (Array.isArray(query) ? query[0] : query) || 'main';
    const scope = await scopeTo(h.db, caller, req.params.api_key, branch);
    return sendFile(h, scope, req.params.uid, reply);
  });

  // With a future `scheduled_at` the change is stored and made then (src/content/schedule.ts).
  for (const action of ['publish', 'unpublish'] as const) {
    const summary = action === 'publish' ? 'Publish an asset to environments and locales (at `scheduled_at`, when given)' : 'Unpublish an asset from environments and locales (at `scheduled_at`, when given)';
    app.post<One>(`/v3/assets/:uid/${action}`, doc(TAGS.assets, summary, { params: UID, querystring: Query({ locale: Text('the locale'), ...INCLUDE_BRANCH }), body: PUBLISH }), async (req) => {
      const scope = await h.scope(req);
      const answer = <T extends object>(a: T) => branchOnAnswer(a, req.query, scope.branch);
      const done = await publishOrSchedule(h, scope, { module: 'asset', uid: req.params.uid }, action, req.body, { queryLocale: req.query.locale, origin: origin(req, h) });
      if ('scheduled' in done) return answer({ notice: `Asset is scheduled to be ${action}ed at ${done.scheduled.scheduled_at}.`, scheduled: done.scheduled });
      const failed = outcomeError(`asset ${req.params.uid}`, done.outcomes);
      if (failed) throw failed;
      return answer({ notice: `Asset ${action}ed successfully.`, outcomes: done.outcomes });
    });
  }

  app.post<One>('/v3/assets/:uid/archive', doc(TAGS.assets, 'Archive an asset', { params: UID, querystring: Query(INCLUDE_BRANCH) }), async (req) => {
    const scope = await h.scope(req);
    return { notice: 'Asset archived successfully.', asset: branchOnOne(await setAssetArchived(h, scope, req.params.uid, true, origin(req, h)), req.query, scope.branch) };
  });

  app.post<One>('/v3/assets/:uid/unarchive', doc(TAGS.assets, 'Unarchive an asset', { params: UID, querystring: Query(INCLUDE_BRANCH) }), async (req) => {
    const scope = await h.scope(req);
    return { notice: 'Asset unarchived successfully.', asset: branchOnOne(await setAssetArchived(h, scope, req.params.uid, false, origin(req, h)), req.query, scope.branch) };
  });
}
