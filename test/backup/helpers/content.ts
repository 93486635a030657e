import type { SpawnedHerald, TestHerald } from '../../helpers/herald.ts';

type HeraldLike = Pick<SpawnedHerald | TestHerald, 'url' | 'request'>;

/**
 * A stack's public API for test scripts: JSON calls that fail loudly on anything but 2xx, and
 * asset uploads and downloads.
 */
export function stackApi(h: HeraldLike, s: { api_key: string; token: string }) {
  const headers = { api_key: s.api_key, authorization: s.token };
  const call = async (method: string, path: string, body?: unknown) => {
    const r = await h.request(method, path, { body, headers });
    if (r.status < 200 || r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  return {
    headers,
    get: (path: string) => call('GET', path),
    post: (path: string, body?: unknown) => call('POST', path, body ?? {}),
    put: (path: string, body: unknown) => call('PUT', path, body),
    del: (path: string) => call('DELETE', path),
    /** GET that answers 404 instead of throwing. */
    async find(path: string) {
      const r = await h.request('GET', path, { headers });
      if (r.status === 404) return undefined;
      if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    },
    async upload(filename: string, bytes: Buffer, type: string, title?: string) {
      const form = new FormData();
      form.append('asset[upload]', new Blob([new Uint8Array(bytes)], { type }), filename);
      if (title) form.append('asset[title]', title);
      const res = await fetch(h.url + '/v3/assets', { method: 'POST', headers, body: form });
      const body = (await res.json()) as any;
      if (res.status !== 201) throw new Error(`upload: ${res.status} ${JSON.stringify(body)}`);
      return body.asset;
    },
    /** Replaces an asset's file (a new version). */
    async replace(uid: string, filename: string, bytes: Buffer, type: string) {
      const form = new FormData();
      form.append('asset[upload]', new Blob([new Uint8Array(bytes)], { type }), filename);
      const res = await fetch(`${h.url}/v3/assets/${uid}`, { method: 'PUT', headers, body: form });
      const body = (await res.json()) as any;
      if (res.status !== 200) throw new Error(`replace: ${res.status} ${JSON.stringify(body)}`);
      return body.asset;
    },
    async download(uid: string): Promise<Buffer> {
      const res = await fetch(`${h.url}/v3/assets/${uid}/download`, { headers });
      if (res.status !== 200) throw new Error(`download ${uid}: ${res.status}`);
      return Buffer.from(await res.arrayBuffer());
    },
    /** Every event of the stack, through the feed. */
    async events(): Promise<any[]> {
      const out: any[] = [];
      let after = 0;
      for (;;) {
        const page = await call('GET', `/v3/events?after=${after}&limit=1000`);
        out.push(...page.events);
        if (page.events.length < 1000) return out;
        after = page.last_seq;
      }
    },
  };
}

export type StackApi = ReturnType<typeof stackApi>;

/** The content fields of an entry (what an editor typed), without system keys. */
export function contentOf(entry: Record<string, unknown>, fields: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) if (entry[f] !== undefined) out[f] = assetUid(entry[f]);
  return out;
}

/** A file field read through the management API shows the asset; the store (and a backup) hold its uid. */
const assetUid = (v: unknown): unknown => {
  const o = v as { uid?: unknown; filename?: unknown } | null;
  return o && typeof o === 'object' && !Array.isArray(o) && typeof o.filename === 'string' && typeof o.uid === 'string' ? o.uid : v;
};
