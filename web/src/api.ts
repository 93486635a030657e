/**
 * A small client for Herald's public API (/v3), the only way the web app talks to the server.
 * Every request carries `api_key` and `authorization` (a management token, or the admin token,
 * which Herald also accepts there). An error body `{ error_message, errors }` becomes an ApiError
 * whose `fields` tell each form which field to mark.
 */

export interface Session {
  api_key: string;
  token: string;
  stack_name: string;
  /** Signed in with the admin token: may switch and create stacks. */
  admin: boolean;
  /** "Keep me signed in on this device": kept in localStorage (every tab, after a restart), else in this tab only. */
  keep?: boolean;
}

const STORAGE_KEY = 'herald.session';

export function loadSession(): Session | null {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY) ?? localStorage.getItem(STORAGE_KEY);
    if (!raw) return null;
    const s = JSON.parse(raw) as Session;
    return typeof s.token === 'string' && typeof s.api_key === 'string' ? s : null;
  } catch {
    return null;
  }
}

export function saveSession(s: Session | null): void {
  sessionStorage.removeItem(STORAGE_KEY);
  localStorage.removeItem(STORAGE_KEY);
  if (s) (s.keep ? localStorage : sessionStorage).setItem(STORAGE_KEY, JSON.stringify(s));
}

export class ApiError extends Error {
  readonly status: number;
  /** Field path (as the API names it: `name`, `destinations.0.target_url`, `entry.title`) -> problems. */
  readonly fields: Record<string, string[]>;
  constructor(status: number, message: string, fields: Record<string, string[]> = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.fields = fields;
  }
}

/** The words for an error of any kind, for a message next to an action. */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Problems with one field (exact path), joined; '' when none. */
export function fieldError(err: unknown, path: string): string {
  if (!(err instanceof ApiError)) return '';
  const list = err.fields[path];
  return list?.length ? list.join('; ') : '';
}

/** Problems of fields under a prefix (`channels` matches `channels.2`), as "channels.2 is not ...". */
export function fieldErrorsUnder(err: unknown, prefix: string): string[] {
  if (!(err instanceof ApiError)) return [];
  const out: string[] = [];
  for (const [k, list] of Object.entries(err.fields)) {
    if (k === prefix || k.startsWith(prefix + '.') || k.startsWith(prefix + '[')) for (const p of list) out.push(k === prefix ? p : `${k} ${p}`);
  }
  return out;
}

/**
 * Field problems of an error that no input shows (`placed` says which fields have one) and that
 * its message does not already say: listed under the message, so nothing is said twice.
 */
export function unplacedProblems(err: unknown, placed: (field: string) => boolean): string[] {
  if (!(err instanceof ApiError)) return [];
  const out: string[] = [];
  for (const [k, list] of Object.entries(err.fields)) {
    if (placed(k)) continue;
    for (const p of list) if (!err.message.includes(p)) out.push(`${k} ${p}`);
  }
  return out;
}

type Query = Record<string, string | number | boolean | undefined | null>;

interface Options {
  query?: Query;
  body?: unknown;
  /** Override the session's credentials (sign-in, before a session exists). */
  auth?: { token: string; api_key?: string };
}

let session: Session | null = loadSession();
let onUnauthorized: (message: string) => void = () => {};

export function currentSession(): Session | null {
  return session;
}

export function setSession(s: Session | null): void {
  session = s;
  saveSession(s);
}

/** Called when the API says the credentials are no longer valid (401): the app signs out. */
export function handleUnauthorized(fn: (message: string) => void): void {
  onUnauthorized = fn;
}

export function url(path: string, query?: Query): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

function headersFor(opts: Options): Record<string, string> {
  const h: Record<string, string> = { accept: 'application/json' };
  const token = opts.auth?.token ?? session?.token;
  const apiKey = opts.auth ? opts.auth.api_key : session?.api_key;
  if (token) h.authorization = token;
  if (apiKey) h.api_key = apiKey;
  return h;
}

async function toError(res: Response): Promise<ApiError> {
  let body: { error_message?: unknown; errors?: unknown } | undefined;
  try {
    body = await res.json();
  } catch {}
  const fields: Record<string, string[]> = {};
  if (body?.errors && typeof body.errors === 'object') {
    for (const [k, v] of Object.entries(body.errors as Record<string, unknown>)) {
      fields[k] = Array.isArray(v) ? v.map(String) : [String(v)];
    }
  }
  const message = typeof body?.error_message === 'string' ? body.error_message : `The server answered ${res.status} ${res.statusText}.`;
  return new ApiError(res.status, message, fields);
}

export async function request<T = any>(method: string, path: string, opts: Options = {}): Promise<T> {
  const headers = headersFor(opts);
  let body: BodyInit | undefined;
  if (opts.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  let res: Response;
  try {
    res = await fetch(url(path, opts.query), { method, headers, body, cache: 'no-store' });
  } catch {
    throw new ApiError(0, 'Herald could not be reached. Check that the server is running, then try again.');
  }
  if (!res.ok) {
    const err = await toError(res);
    if (res.status === 401 && !opts.auth) onUnauthorized(err.message);
    throw err;
  }
  const text = await res.text();
  return (text ? JSON.parse(text) : {}) as T;
}

export const get = <T = any>(path: string, query?: Query) => request<T>('GET', path, { query });
export const post = <T = any>(path: string, body: unknown = {}, query?: Query) => request<T>('POST', path, { body, query });
export const put = <T = any>(path: string, body: unknown, query?: Query) => request<T>('PUT', path, { body, query });
export const del = <T = any>(path: string, query?: Query) => request<T>('DELETE', path, { query });

/**
 * A multipart upload (assets) with progress: fetch cannot report upload progress, so this uses
 * XMLHttpRequest. `onProgress` gets 0..1.
 */
export function upload<T = any>(method: string, path: string, form: FormData, onProgress: (fraction: number) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, path);
    for (const [k, v] of Object.entries(headersFor({}))) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    };
    xhr.onerror = () => reject(new ApiError(0, 'Herald could not be reached. Check that the server is running, then try again.'));
    xhr.onload = async () => {
      const res = new Response(xhr.responseText, { status: xhr.status, statusText: xhr.statusText });
      if (xhr.status >= 200 && xhr.status < 300) resolve((xhr.responseText ? JSON.parse(xhr.responseText) : {}) as T);
      else {
        const err = await toError(res);
        if (xhr.status === 401) onUnauthorized(err.message);
        reject(err);
      }
    };
    xhr.send(form);
  });
}

/** Downloads a protected file (it needs the headers, so no plain link) as a blob URL. */
export async function blobUrl(path: string): Promise<string> {
  const res = await fetch(path, { headers: headersFor({}) });
  if (!res.ok) throw await toError(res);
  return URL.createObjectURL(await res.blob());
}
