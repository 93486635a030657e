import type { TestHerald } from '../../helpers/herald.ts';
import { createWebhook, emit, executions, until } from '../../helpers/engine.ts';

/** A stack with one of everything, and the ids a route sweep fills its parameters with. */
export interface SeededStack {
  api_key: string;
  token: string;
  headers: Record<string, string>;
  token_uid: string;
  environment: string;
  locale: string;
  branch: string;
  content_type: string;
  global_field: string;
  entry: string;
  asset: string;
  asset_filename: string;
  webhook: string;
  execution: string;
  /** One attempt of `execution` (a Contentful "call"). */
  attempt: string;
}

/**
 * Creates a stack (or fills `stack`) and, through the API, an environment, a locale, a branch, a
 * global field, a content type embedding it with an entry, an asset, and a webhook to `receiverUrl` with one finished execution.
 */
export async function seedStack(h: TestHerald, name: string, receiverUrl: string, stack?: { api_key: string; token: string }): Promise<SeededStack> {
  const { api_key, token } = stack ?? (await h.newStack(name));
  const headers = { api_key, authorization: token };
  const ok = async (method: string, path: string, body: unknown) => {
    const r = await h.request(method, path, { headers, body });
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  await ok('POST', '/v3/environments', { environment: { name: 'development' } });
  await ok('POST', '/v3/locales', { locale: { code: 'fr-fr', name: 'French' } });
  await ok('POST', '/v3/global_fields', { global_field: { title: 'SEO', uid: 'seo', schema: [{ uid: 'meta_title', display_name: 'Meta title', data_type: 'text' }] } });
  await ok('POST', '/v3/content_types', {
    content_type: {
      title: 'Blog',
      uid: 'blog',
      schema: [
        { uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true },
        { uid: 'seo', display_name: 'SEO', data_type: 'global_field', reference_to: 'seo' },
      ],
    },
  });
  const entry = (await ok('POST', '/v3/content_types/blog/entries', { entry: { title: `${name} entry` } })).entry.uid as string;
  const form = new FormData();
  form.append('asset[upload]', new Blob([`${name} file`], { type: 'text/plain' }), 'file.txt');
  const uploaded = await fetch(`${h.url}/v3/assets`, { method: 'POST', headers, body: form });
  if (uploaded.status !== 201) throw new Error(`asset upload: ${uploaded.status} ${await uploaded.text()}`);
  const asset = ((await uploaded.json()) as { asset: { uid: string } }).asset.uid;
  await ok('POST', '/v3/stacks/branches', { branch: { uid: 'dev', source: 'main' } });
  const tokens = await h.request('GET', '/v3/stacks/management_tokens', { headers });
  const token_uid = tokens.body.tokens[0].uid as string;
  const hook = await createWebhook(h, { api_key, token }, receiverUrl);
  await emit(h, { api_key, token }, { uid: entry });
  const delivered = await until(async () => (await executions(h, { api_key, token }, hook.uid)).find((x) => x.state === 'succeeded'), 10_000, 'seed delivery');
  return {
    api_key,
    token,
    headers,
    token_uid,
    environment: 'development',
    locale: 'fr-fr',
    branch: 'dev',
    content_type: 'blog',
    global_field: 'seo',
    entry,
    asset,
    asset_filename: 'file.txt',
    webhook: hook.uid,
    execution: delivered.uid as string,
    attempt: delivered.request_details[0].uid as string,
  };
}
