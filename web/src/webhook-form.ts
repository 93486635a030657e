import { RELAY_TARGET } from '../../src/webhooks/relay-target.ts';
import { BATCH_MAX_EVENTS, BATCH_WINDOW_MS, DEBOUNCE_MS, RATE_LIMIT_MAX } from '../../src/webhooks/storm-limits.ts';

/**
 * The webhook form's state, and the request body it becomes. Pure, so the rules about secrets are
 * tested without a browser:
 *
 * The API never returns a basic auth password or a secret header's value, only a mask (`****abcd`).
 * The form never shows the mask as a value and never sends it back as one: a password or secret
 * header value left empty is left out of the body, and the API keeps the stored value. Typing a new
 * value replaces it; "remove the password" sends null.
 */

/** A webhook as GET /v3/webhooks/:uid returns it (the fields the form reads). */
export interface WebhookView {
  uid: string;
  name: string;
  destinations: Array<{
    target_url: string;
    http_basic_auth: string;
    /** Masked, or '' when there is none. */
    http_basic_password: string;
    custom_header: Array<{ header_name: string; value: string; secret?: boolean }>;
    /** None, Basic, OAuth2 or Bearer (older servers leave it out: read from the fields). */
    authentication_type?: string;
    access_token_url?: string;
    client_id?: string;
    /** Masked. */
    client_secret?: string;
    scope?: string;
    request_query_parameters?: string;
    /** Masked. */
    bearer_token?: string;
    client_certificate?: string;
    /** Masked. */
    client_key?: string;
    ca_certificate?: string;
  }>;
  channels: string[];
  branches: string[];
  /** Every branch, those made later too (a Contentful definition); absent otherwise. */
  all_branches?: boolean;
  conditions: unknown[];
  disabled: boolean;
  disabled_reason: string | null;
  concise_payload: boolean;
  /** Addresses emailed when Herald disables the webhook (Contentstack's notifiers). */
  notifiers?: string[];
  /** contentstack (default), cloudevents, or contentful (webhooks made through the Contentful API). */
  format?: string;
  /** CloudEvents: `{ mode: "binary" | "structured" }`. */
  format_options?: { mode?: string };
  /** Event storms (#20): null / 0 when off (older servers leave them out). */
  batch?: { max_events: number; window_ms: number } | null;
  debounce_ms?: number;
  rate_limit?: { max: number; per: 'second' | 'minute' } | null;
  created_at: string;
  updated_at: string;
}

export interface HeaderDraft {
  /** Stable key for the list (not sent). */
  id: number;
  name: string;
  /** What the user typed; for a stored secret header, '' means "keep the stored value". */
  value: string;
  secret: boolean;
  /** The stored header this row edits, when it was secret: its name and mask. */
  stored?: { name: string; mask: string };
}

export interface WebhookForm {
  name: string;
  url: string;
  username: string;
  /** A new password; '' keeps the stored one (if any). */
  password: string;
  /** A password is stored (the API said so with a mask). */
  passwordStored: boolean;
  removePassword: boolean;
  headers: HeaderDraft[];
  branches: string[];
  /** Every branch, those made later too: `branches` is not sent while it holds. */
  allBranches: boolean;
  concise: boolean;
  enabled: boolean;
  channels: string[];
  conditions: unknown[];
  /** Email addresses as typed, separated by commas, semicolons or spaces. */
  notifiers: string;
  /** How Herald authenticates to an http(s) endpoint (Contentstack's authentication_type). */
  authType: AuthType;
  /** OAuth 2.0 client credentials. */
  tokenUrl: string;
  clientId: string;
  /** A new client secret; '' keeps the stored one. */
  clientSecret: string;
  clientSecretStored: boolean;
  scope: string;
  queryParams: string;
  /** A new bearer token; '' keeps the stored one. */
  bearerToken: string;
  bearerStored: boolean;
  /** Mutual TLS: PEM texts; a new key, '' keeps the stored one. */
  clientCert: string;
  clientKey: string;
  clientKeyStored: boolean;
  caCert: string;
  /** The payload format: contentstack, cloudevents (or contentful, which this form leaves as it is). */
  format: string;
  /** CloudEvents' mode: attributes in ce-* headers (binary) or the whole event as the body (structured). */
  ceMode: 'binary' | 'structured';
  /** Batching: events per call and how long the first waits for others (ms), as typed. */
  batchOn: boolean;
  batchMax: string;
  batchWindow: string;
  /** Debounce, ms as typed ('' or 0: off). */
  debounce: string;
  /** Rate limit: calls per second or minute, as typed. */
  rateOn: boolean;
  rateMax: string;
  ratePer: 'second' | 'minute';
}

/** What the storm fields hold when the webhook has none (the values offered once ticked). */
const NO_STORMS = { batchOn: false, batchMax: '100', batchWindow: '1000', debounce: '0', rateOn: false, rateMax: '10', ratePer: 'second' as const };

export type AuthType = 'None' | 'Basic' | 'OAuth2' | 'Bearer';

/** The authentication choices, with their labels. */
export const AUTH_LABELS: Array<[AuthType, string]> = [
  ['None', 'None'],
  ['Basic', 'HTTP basic auth'],
  ['OAuth2', 'OAuth 2.0 client credentials'],
  ['Bearer', 'Bearer token'],
];

/** The destination kinds by URL scheme, for the URL field's help. */
export const DESTINATION_KINDS: Array<[scheme: string, what: string, example: string]> = [
  ['https://', 'an HTTP POST', 'https://example.com/hooks/herald'],
  ['amqp://', 'RabbitMQ: a confirmed publish', 'amqp://user:pass@rabbit:5672/vhost?exchange=content&routing_key=events'],
  ['nats://', 'NATS JetStream: an acknowledged publish', 'nats://nats:4222?subject=cms.events'],
  ['redis://', 'Redis Streams: XADD', 'redis://redis:6379/0?stream=cms:events&maxlen=10000'],
  [RELAY_TARGET, 'a relay: each call goes to a developer machine running herald listen --webhook (over its outbound WebSocket)', RELAY_TARGET],
];

/**
 * The kind of destination a URL names: http (also while it is being typed), a broker, or the relay
 * (`herald listen`), which carries the very HTTP request Herald would send, authentication included.
 */
export function destinationKind(url: string): 'http' | 'relay' | 'amqp' | 'nats' | 'redis' {
  if (url.trim() === RELAY_TARGET) return 'relay';
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url.trim())?.[1]?.toLowerCase();
  return scheme === 'amqp' || scheme === 'nats' || scheme === 'redis' ? scheme : 'http';
}

/** Whether the destination is sent as an HTTP request (directly or through the relay): endpoint authentication applies. */
export function sendsHttp(url: string): boolean {
  const kind = destinationKind(url);
  return kind === 'http' || kind === 'relay';
}

/** The formats the form offers, with their labels. */
export const FORMAT_LABELS: Array<[string, string]> = [
  ['contentstack', 'Contentstack JSON (default)'],
  ['cloudevents', 'CloudEvents 1.0'],
];

let nextId = 1;
export function headerDraft(init: Partial<HeaderDraft> = {}): HeaderDraft {
  return { id: nextId++, name: '', value: '', secret: false, ...init };
}

/** The addresses typed in the notifiers field (the server checks each and the count). */
export function notifierList(text: string): string[] {
  return text.split(/[\s,;]+/).filter(Boolean);
}

export function toForm(w?: WebhookView): WebhookForm {
  if (!w) {
    return {
      name: '',
      url: '',
      username: '',
      password: '',
      passwordStored: false,
      removePassword: false,
      headers: [],
      branches: ['main'],
      allBranches: false,
      concise: false,
      enabled: true,
      channels: [],
      conditions: [],
      notifiers: '',
      format: 'contentstack',
      ceMode: 'binary',
      ...NO_AUTH,
      ...NO_STORMS,
    };
  }
  const d = w.destinations[0] ?? { target_url: '', http_basic_auth: '', http_basic_password: '', custom_header: [] };
  return {
    name: w.name,
    url: d.target_url,
    username: d.http_basic_auth ?? '',
    password: '',
    passwordStored: !!d.http_basic_password,
    removePassword: false,
    headers: d.custom_header.map((h) =>
      h.secret
        ? headerDraft({ name: h.header_name, value: '', secret: true, stored: { name: h.header_name, mask: h.value } })
        : headerDraft({ name: h.header_name, value: h.value, secret: false }),
    ),
    branches: [...w.branches],
    allBranches: w.all_branches === true,
    concise: w.concise_payload,
    enabled: !w.disabled,
    channels: [...w.channels],
    conditions: [...(w.conditions ?? [])],
    notifiers: (w.notifiers ?? []).join(', '),
    format: w.format ?? 'contentstack',
    ceMode: w.format_options?.mode === 'structured' ? 'structured' : 'binary',
    authType: authTypeOf(d),
    tokenUrl: d.access_token_url ?? '',
    clientId: d.client_id ?? '',
    clientSecret: '',
    clientSecretStored: !!d.client_secret,
    scope: d.scope ?? '',
    queryParams: d.request_query_parameters ?? '',
    bearerToken: '',
    bearerStored: !!d.bearer_token,
    clientCert: d.client_certificate ?? '',
    clientKey: '',
    clientKeyStored: !!d.client_key,
    caCert: d.ca_certificate ?? '',
    batchOn: !!w.batch,
    batchMax: w.batch ? String(w.batch.max_events) : NO_STORMS.batchMax,
    batchWindow: w.batch ? String(w.batch.window_ms) : NO_STORMS.batchWindow,
    debounce: String(w.debounce_ms ?? 0),
    rateOn: !!w.rate_limit,
    rateMax: w.rate_limit ? String(w.rate_limit.max) : NO_STORMS.rateMax,
    ratePer: w.rate_limit?.per ?? NO_STORMS.ratePer,
  };
}

/** A whole number typed in a field, or NaN ('' and '1.5' are not). */
function whole(text: string): number {
  return /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
}

/** The problem of a whole number typed for a field with these bounds, or null. */
function rangeProblem(text: string, bounds: { min: number; max: number }, unit = ''): string | null {
  const n = whole(text);
  return Number.isInteger(n) && n >= bounds.min && n <= bounds.max ? null : `must be a whole number${unit} from ${bounds.min} to ${bounds.max}`;
}

const NO_AUTH = {
  authType: 'None' as AuthType,
  tokenUrl: '',
  clientId: '',
  clientSecret: '',
  clientSecretStored: false,
  scope: '',
  queryParams: '',
  bearerToken: '',
  bearerStored: false,
  clientCert: '',
  clientKey: '',
  clientKeyStored: false,
  caCert: '',
};

function authTypeOf(d: WebhookView['destinations'][number]): AuthType {
  const t = AUTH_LABELS.find(([k]) => k.toLowerCase() === (d.authentication_type ?? '').toLowerCase())?.[0];
  if (t) return t;
  if (d.access_token_url) return 'OAuth2';
  if (d.bearer_token) return 'Bearer';
  return d.http_basic_auth ? 'Basic' : 'None';
}

/** A stored secret header whose value the user did not retype: its value is left out of the body. */
export function keepsStoredValue(h: HeaderDraft): boolean {
  return !!h.stored && h.value === '' && h.name.trim().toLowerCase() === h.stored.name.toLowerCase();
}

/** Problems the form can see before asking the server, keyed as the API keys them. */
export function formProblems(f: WebhookForm): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const add = (k: string, p: string) => (out[k] ??= []).push(p);
  if (!f.name.trim()) add('name', 'is required');
  if (!f.url.trim()) add('destinations.0.target_url', 'is required');
  const http = sendsHttp(f.url);
  if (http && f.authType === 'Basic' && !f.username.trim()) add('destinations.0.http_basic_auth', 'is required for HTTP basic auth');
  if (http && f.authType === 'OAuth2') {
    if (!f.tokenUrl.trim()) add('destinations.0.access_token_url', 'is required for OAuth 2.0');
    if (!f.clientId.trim()) add('destinations.0.client_id', 'is required for OAuth 2.0');
    if (!f.clientSecret && !f.clientSecretStored) add('destinations.0.client_secret', 'is required for OAuth 2.0');
  }
  if (http && f.authType === 'Bearer' && !f.bearerToken && !f.bearerStored) add('destinations.0.bearer_token', 'is required for a bearer token');
  if (http && f.clientCert.trim() && !f.clientKey.trim() && !f.clientKeyStored) add('destinations.0.client_key', 'is required with a client certificate');
  if (http && !f.clientCert.trim() && f.clientKey.trim()) add('destinations.0.client_certificate', 'is required with a client key');
  f.headers.forEach((h, i) => {
    if (!h.name.trim()) add(`destinations.0.custom_header.${i}.header_name`, 'is required');
    if (h.stored && h.value === '' && !keepsStoredValue(h)) {
      add(`destinations.0.custom_header.${i}.value`, 'is required again: the stored secret value belongs to the old header name');
    }
  });
  if (!f.allBranches && f.branches.length === 0) add('branches', 'pick at least one branch');
  if (f.channels.length === 0) add('channels', 'pick at least one event under When');
  if (f.batchOn) {
    const max = rangeProblem(f.batchMax, BATCH_MAX_EVENTS);
    if (max) add('batch.max_events', max);
    const windowMs = rangeProblem(f.batchWindow, BATCH_WINDOW_MS, ' of milliseconds');
    if (windowMs) add('batch.window_ms', windowMs);
    if (f.format !== 'contentstack') add('batch', 'is offered for the Contentstack JSON format only');
  }
  if (f.debounce.trim() !== '') {
    const debounce = rangeProblem(f.debounce, DEBOUNCE_MS, ' of milliseconds');
    if (debounce) add('debounce_ms', `${debounce} (0: off)`);
  }
  if (f.rateOn) {
    const rate = rangeProblem(f.rateMax, { min: 1, max: RATE_LIMIT_MAX[f.ratePer] });
    if (rate) add('rate_limit.max', `${rate} (calls per ${f.ratePer})`);
    if (f.batchOn) add('rate_limit', 'cannot be combined with batches: a rate limit paces events one by one, a batch sends several in one call');
  }
  return out;
}

/** The body of POST /v3/webhooks or PUT /v3/webhooks/:uid. */
export function toBody(f: WebhookForm): { webhook: Record<string, unknown> } {
  const destination: Record<string, unknown> = {
    target_url: f.url.trim(),
    http_basic_auth: f.username.trim(),
    custom_header: f.headers.map((h) => {
      const out: Record<string, unknown> = { header_name: h.name.trim() };
      if (!keepsStoredValue(h)) out.value = h.value;
      // Only ever turn secrecy on: a header stored as secret stays secret (the API keeps it so).
      if (h.secret) out.secret = true;
      return out;
    }),
  };
  const http = sendsHttp(f.url);
  // A broker URL carries its credentials itself: no endpoint authentication is sent for it.
  const auth: AuthType = http ? f.authType : 'None';
  destination.authentication_type = auth;
  if (auth === 'Basic') {
    if (f.password) destination.http_basic_password = f.password;
    else if (f.removePassword) destination.http_basic_password = null;
  } else {
    destination.http_basic_auth = '';
    if (f.passwordStored) destination.http_basic_password = null;
  }
  if (auth === 'OAuth2') {
    destination.access_token_url = f.tokenUrl.trim();
    destination.client_id = f.clientId.trim();
    // Left out unless retyped: the server keeps the stored secret.
    if (f.clientSecret) destination.client_secret = f.clientSecret;
    if (f.scope.trim()) destination.scope = f.scope.trim();
    if (f.queryParams.trim()) destination.request_query_parameters = f.queryParams.trim();
  }
  if (auth === 'Bearer' && f.bearerToken) destination.bearer_token = f.bearerToken;
  if (http && f.clientCert.trim()) {
    destination.client_certificate = f.clientCert.trim() + '\n';
    if (f.clientKey.trim()) destination.client_key = f.clientKey.trim() + '\n';
  }
  if (http && f.caCert.trim()) destination.ca_certificate = f.caCert.trim() + '\n';
  return {
    webhook: {
      name: f.name.trim(),
      destinations: [destination],
      channels: f.channels,
      // Left out for every branch: naming branches would end it (the server keeps it otherwise).
      ...(f.allBranches ? {} : { branches: f.branches }),
      conditions: f.conditions,
      concise_payload: f.concise,
      disabled: !f.enabled,
      notifiers: notifierList(f.notifiers),
      // A Contentful-format webhook keeps its format (the Contentful API sets it, with its transformation).
      ...(f.format === 'contentful' ? {} : { format: f.format }),
      ...(f.format === 'cloudevents' ? { format_options: { mode: f.ceMode } } : {}),
      // Event storms: null and 0 turn each off. (Numbers as typed: formProblems checked them.)
      batch: f.batchOn ? { max_events: whole(f.batchMax), window_ms: whole(f.batchWindow) } : null,
      debounce_ms: f.debounce.trim() === '' ? 0 : whole(f.debounce),
      rate_limit: f.rateOn ? { max: whole(f.rateMax), per: f.ratePer } : null,
    },
  };
}
