import { environmentIdOf } from '../contentful/entities.ts';

/** Herald's own request header picking which asset a reused uid's version belongs to (src/http/event-seq.ts). */
const EVENT_SEQ_HEADER = 'x-herald-event-seq';

/**
 * The Herald the backup center reads from (`--source`), through its public API only: the event
 * feed, asset metadata and downloads, environments, locales and branches (with their Contentful
 * names, from the Contentful dialect, and how each was made, from Herald's own GET /v3/herald/branches). One token (`--token`) for every stack: a stack's management
 * token reaches that stack, the admin token every stack.
 */

/** Per request, ms: the whole exchange, body included. */
export const SOURCE_TIMEOUT_MS = 30_000;
/** Per asset download, ms (files may be large). */
export const DOWNLOAD_TIMEOUT_MS = 10 * 60_000;

/**
 * Why a call failed: `unreachable` (network error, timeout, 5xx: try again later), `no_access`
 * (401, or 404 for the stack: the token does not reach it), `refused` (another 4xx).
 */
export class SourceError extends Error {
  constructor(
    readonly kind: 'unreachable' | 'no_access' | 'refused',
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'SourceError';
  }
}

export interface FeedPage {
  events: unknown[];
  last_seq: number;
}

/** One branch's Contentful-dialect state as the dialect lists it (items as its GETs answer them). */
export interface ContentfulState {
  /** `GET .../content_types`: current definitions; `sys.publishedVersion` is set on activated ones. */
  content_types: unknown[];
  /** `GET .../public/content_types`: activated definitions (drafts left out, /v3 types as they are). */
  activated_content_types: unknown[];
  editor_interfaces: unknown[];
  /** Tags made through the dialect (`sys.version` > 0), and ids content carries (`sys.version` 0). */
  tags: unknown[];
}

export class Source {
  constructor(
    readonly url: string,
    private readonly token: string,
  ) {}

  private headers(apiKey: string, branch?: string): Record<string, string> {
    return { api_key: apiKey, authorization: this.token, ...(branch && branch !== 'main' ? { branch } : {}) };
  }

  private async call(path: string, apiKey: string, branch?: string, timeoutMs = SOURCE_TIMEOUT_MS, headers = this.headers(apiKey, branch)): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(this.url + path, { headers, signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
      throw new SourceError('unreachable', `${this.url} is unreachable (${cause})`);
    }
    // Busy (5xx) or rate-limited (429): try again at the next catch-up.
    if (res.status >= 500 || res.status === 429) {
      await res.body?.cancel();
      throw new SourceError('unreachable', `${this.url}${path.split('?')[0]} answered ${res.status}`, res.status);
    }
    return res;
  }

  /** `headers`: the Contentful dialect's (a Bearer token) instead of /v3's. */
  private async json(path: string, apiKey: string, branch?: string, headers?: Record<string, string>): Promise<Record<string, unknown>> {
    return this.parsed(await this.call(path, apiKey, branch, SOURCE_TIMEOUT_MS, headers), path, apiKey);
  }

  /** The JSON body of `res`, the answer to `path`; a SourceError for a refusal or a body that is not JSON. */
  private async parsed(res: Response, path: string, apiKey: string): Promise<Record<string, unknown>> {
    const text = await res.text();
    if (res.status === 401 || res.status === 403) throw new SourceError('no_access', `the token is not accepted for stack ${apiKey} (${res.status})`, res.status);
    if (!res.ok) {
      let message = text.slice(0, 300);
      try {
        const body = JSON.parse(text) as { error_message?: string; message?: string };
        message = body.error_message ?? body.message ?? message;
      } catch {}
      throw new SourceError(res.status === 404 ? 'no_access' : 'refused', `${path.split('?')[0]}: ${res.status} ${message}`, res.status);
    }
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new SourceError('refused', `${path.split('?')[0]} did not answer JSON`);
    }
  }

  /** One page of a stack's event feed after `after` (exclusive). */
  async feed(apiKey: string, after: number, limit: number): Promise<FeedPage> {
    const body = await this.json(`/v3/events?after=${after}&limit=${limit}`, apiKey);
    if (!Array.isArray(body.events)) throw new SourceError('refused', 'the event feed answered without an events list');
    return { events: body.events, last_seq: Number(body.last_seq) };
  }

  /** An asset's current metadata, or undefined when it does not exist (any more). */
  async asset(apiKey: string, branch: string, uid: string): Promise<Record<string, unknown> | undefined> {
    const res = await this.call(`/v3/assets/${encodeURIComponent(uid)}`, apiKey, branch);
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      throw new SourceError('no_access', `the token is not accepted for stack ${apiKey} (${res.status})`, res.status);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new SourceError('refused', `asset ${uid}: ${res.status}`, res.status);
    }
    const body = (await res.json()) as { asset?: Record<string, unknown> };
    return body.asset;
  }

  /**
   * The file asset version `version` had, as a stream of chunks, or undefined when it is gone.
   * `atSeq`: the seq of the event the version was read from; sent as Herald's x-herald-event-seq
   * header, it picks the asset the uid named then (a deleted asset's uid may have been given to a
   * new one, whose versions start at 1 again). `exact`: the source said it honoured it (it sends the
   * header back); an older Herald ignores it and serves the current asset's, or the last deleted one's.
   */
  async download(apiKey: string, branch: string, uid: string, version: number, atSeq?: number): Promise<{ stream: AsyncIterable<Uint8Array>; exact: boolean } | undefined> {
    const headers = { ...this.headers(apiKey, branch), ...(atSeq !== undefined ? { [EVENT_SEQ_HEADER]: String(atSeq) } : {}) };
    const res = await this.call(`/v3/assets/${encodeURIComponent(uid)}/download?version=${version}`, apiKey, branch, DOWNLOAD_TIMEOUT_MS, headers);
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    if (!res.ok || !res.body) {
      await res.body?.cancel();
      throw new SourceError(res.status === 401 ? 'no_access' : 'refused', `downloading asset ${uid}: ${res.status}`, res.status);
    }
    const exact = atSeq !== undefined && res.headers.get(EVENT_SEQ_HEADER) === String(atSeq);
    return { stream: guarded(res.body as unknown as AsyncIterable<Uint8Array>, uid), exact };
  }

  async environments(apiKey: string): Promise<unknown[]> {
    const body = await this.json('/v3/environments?limit=100', apiKey);
    return Array.isArray(body.environments) ? body.environments : [];
  }

  /** The stack's name, for the pages. */
  async stackName(apiKey: string): Promise<string | null> {
    const body = await this.json('/v3/stacks', apiKey);
    const name = (body.stack as { name?: unknown } | undefined)?.name;
    return typeof name === 'string' && name !== '' ? name : null;
  }

  async locales(apiKey: string): Promise<unknown[]> {
    const body = await this.json('/v3/locales?limit=100', apiKey);
    return Array.isArray(body.locales) ? body.locales : [];
  }

  /** The stack's branches (`uid`, `source`, ...); 100 is /v3's largest page. */
  async branches(apiKey: string): Promise<unknown[]> {
    const body = await this.json('/v3/stacks/branches?limit=100', apiKey);
    return Array.isArray(body.branches) ? body.branches : [];
  }

  /**
   * How each branch was made (`uid`, `source`, `publications_copied`: Herald's own GET
   * /v3/herald/branches, every branch in one answer), or undefined from a Herald older than that
   * route (404): a restore then guesses from the Contentful names, as it did before.
   */
  async branchOrigins(apiKey: string): Promise<unknown[] | undefined> {
    const path = '/v3/herald/branches';
    const res = await this.call(path, apiKey);
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    const body = await this.parsed(res, path, apiKey);
    return Array.isArray(body.branches) ? body.branches : undefined;
  }

  /**
   * A branch's publishes and unpublishes scheduled for later (`GET /v3/publish-queue`, soonest
   * first), a page of 100 (/v3's largest) at a time. Scheduling records no event: only this shows them.
   */
  async publishQueue(apiKey: string, branch: string): Promise<unknown[]> {
    const out: unknown[] = [];
    for (;;) {
      const body = await this.json(`/v3/publish-queue?limit=100&skip=${out.length}&include_count=true`, apiKey, branch);
      const items = Array.isArray(body.queue) ? body.queue : [];
      out.push(...items);
      if (items.length === 0 || out.length >= Number(body.count)) return out;
    }
  }

  /** publishQueue of each branch in `branches` (as `branches()` listed them; main when none), by branch uid; a branch deleted meanwhile is left out. */
  async publishQueues(apiKey: string, branches: unknown[]): Promise<Record<string, unknown[]>> {
    const uids = new Set((branches as Array<{ uid?: unknown }>).map((b) => b.uid).filter((u): u is string => typeof u === 'string'));
    if (uids.size === 0) uids.add('main');
    const out: Record<string, unknown[]> = {};
    for (const uid of uids) {
      try {
        out[uid] = await this.publishQueue(apiKey, uid);
      } catch (err) {
        if (err instanceof SourceError && err.status === 404 && uid !== 'main') continue;
        throw err;
      }
    }
    return out;
  }

  /** The stack's branches as Contentful environments (`name`, `sys.id`, `sys.version`, ...); 1000 is the dialect's largest page. */
  async contentfulEnvironments(apiKey: string): Promise<unknown[]> {
    const body = await this.json(`/spaces/${encodeURIComponent(apiKey)}/environments?limit=1000`, apiKey, undefined, { authorization: `Bearer ${this.token}` });
    return Array.isArray(body.items) ? body.items : [];
  }

  /**
   * What the Contentful dialect keeps of one branch beyond its content (the event log has no
   * events for editor interfaces and tags, and a content type's activated definition is the
   * dialect's own), read through the dialect as its tools read it.
   */
  async contentfulState(apiKey: string, environmentId: string): Promise<ContentfulState> {
    const base = `/spaces/${encodeURIComponent(apiKey)}/environments/${encodeURIComponent(environmentId)}`;
    return {
      content_types: await this.contentfulItems(apiKey, `${base}/content_types`),
      activated_content_types: await this.contentfulItems(apiKey, `${base}/public/content_types`),
      editor_interfaces: await this.contentfulItems(apiKey, `${base}/editor_interfaces`),
      tags: await this.contentfulItems(apiKey, `${base}/tags`),
    };
  }

  /**
   * contentfulState of each branch in `branches` (as `branches()` listed them), by branch uid. A
   * branch deleted since the list was read answers 404: it is left out (it has no state to keep),
   * not a failure of the whole catch-up, which would open a gap until the next one.
   */
  async contentfulStates(apiKey: string, branches: unknown[]): Promise<Record<string, ContentfulState>> {
    const out: Record<string, ContentfulState> = {};
    for (const b of branches as Array<{ uid?: unknown }>) {
      if (typeof b.uid !== 'string') continue;
      try {
        out[b.uid] = await this.contentfulState(apiKey, environmentIdOf(b.uid));
      } catch (err) {
        if (err instanceof SourceError && err.status === 404) continue;
        throw err;
      }
    }
    return out;
  }

  /** Every item of a dialect collection, a page of 1000 (its largest) at a time. */
  private async contentfulItems(apiKey: string, path: string): Promise<unknown[]> {
    const out: unknown[] = [];
    for (;;) {
      const body = await this.json(`${path}?limit=1000&skip=${out.length}`, apiKey, undefined, { authorization: `Bearer ${this.token}` });
      const items = Array.isArray(body.items) ? body.items : [];
      out.push(...items);
      if (items.length === 0 || out.length >= Number(body.total)) return out;
    }
  }
}

/** A download broken off midway is the source being unreachable, not a fault of the backup. */
async function* guarded(body: AsyncIterable<Uint8Array>, uid: string): AsyncIterable<Uint8Array> {
  try {
    for await (const chunk of body) yield chunk;
  } catch (err) {
    throw new SourceError('unreachable', `the download of asset ${uid} broke off (${(err as Error).message})`);
  }
}
