/**
 * A webhook: where to send which events, and how. Stored as JSON in `webhooks.doc`, secrets
 * included; `src/webhooks/present.ts` is the one place that turns it into what the API returns
 * (secrets masked).
 */
export interface CustomHeader {
  header_name: string;
  value: string;
  /** A secret header's value is never returned or logged after it was set (Contentful `secret: true`). */
  secret?: boolean;
}

export interface Destination {
  target_url: string;
  /** Basic auth username ('' or absent: no basic auth). */
  http_basic_auth?: string;
  http_basic_password?: string;
  custom_header: CustomHeader[];
  /**
   * OAuth 2.0 client credentials (src/webhooks/endpoint-auth.ts), Contentstack's field names: the
   * token URL, client id and secret (a secret), Herald's `scope`, and `key=value&...` parameters
   * appended to the token URL. Set together or not at all.
   */
  access_token_url?: string;
  client_id?: string;
  client_secret?: string;
  scope?: string;
  request_query_parameters?: string;
  /** A fixed `Authorization: Bearer` token (a secret), Contentstack's "Bearer Token". */
  bearer_token?: string;
  /** Mutual TLS: the client certificate (chain) and its private key (a secret), PEM. */
  client_certificate?: string;
  client_key?: string;
  /** PEM certificates to trust for the target instead of the system's roots. */
  ca_certificate?: string;
}

/**
 * A condition beyond channels, as Contentful's filters: ANDed; `not` negates one.
 * `doc` names the event property: `sys.id`, `sys.environment.sys.id`, `sys.contentType.sys.id`,
 * `sys.createdBy.sys.id`, `sys.updatedBy.sys.id` (Contentful's names), also accepted as
 * `uid`, `environment`, `content_type`, `locale`, `branch`, `created_by`, `updated_by`, and
 * `actor.uid`, `actor.name`, `actor.type` (who made the change).
 */
export type Condition =
  | { equals: [{ doc: string }, string] }
  | { in: [{ doc: string }, string[]] }
  | { regexp: [{ doc: string }, { pattern: string }] }
  /** Update and auto_save events whose `changes` list a path under one of these (`title`, `seo.*`). */
  | { changed: string[] }
  | { not: Condition };

export interface SigningSecret {
  /** `whsec_` + base64 key (Standard Webhooks). */
  secret: string;
  /** After a rotation the old secret keeps signing until this time (ms); null for the current one. */
  expires_at: number | null;
}

/**
 * Contentful's webhook transformation (src/delivery/contentful.ts applies it): the HTTP method, the
 * Content-Type, whether to send Content-Length, and a body template whose strings may hold JSON
 * pointers such as `{ /payload/sys/id }`. Only Contentful-format webhooks use it.
 */
export interface Transformation {
  method?: 'POST' | 'GET' | 'PUT' | 'PATCH' | 'DELETE';
  contentType?: string;
  includeContentLength?: boolean;
  body?: unknown;
}

/**
 * Batching (#20): one call carries up to `max_events` events gathered over at most `window_ms`,
 * body `{"events": [...]}` (each element the body that event would have had alone).
 */
export interface BatchSettings {
  /** Events in one call at most (1-1000). */
  max_events: number;
  /** How long the first event of a batch waits for others, ms (10-60000). */
  window_ms: number;
}

/** A webhook's rate limit (#20): calls start at most `max` per `per`, evenly spaced. */
export interface RateLimit {
  max: number;
  per: 'second' | 'minute';
}

export interface Webhook {
  uid: string;
  api_key: string;
  name: string;
  destinations: Destination[];
  /** Contentstack channels (`content_types.entries.update`) and/or Contentful topics (`Entry.*`). */
  channels: string[];
  /** Branches whose events this webhook receives; default ['main']. */
  branches: string[];
  /**
   * Every branch of the stack, those made later included (`branches` then lists the ones there were
   * when it was last saved). Contentful's webhook definitions fire in every environment unless a
   * filter says otherwise; set by that API, cleared by a /v3 update that names `branches`.
   */
  all_branches?: boolean;
  conditions: Condition[];
  /** Contentstack's field; Herald's automatic retries follow the server's schedule either way. */
  retry_policy: string;
  disabled: boolean;
  /** Why Herald disabled it (circuit breaker, 410 Gone); null when a user did or it is enabled. */
  disabled_reason: string | null;
  concise_payload: boolean;
  /**
   * Secrets a create or update gave only as masks (an import of an export), as field paths
   * (`destinations.0.http_basic_password`, `destinations.0.custom_header.1.value`): stored empty;
   * while any is listed the webhook is disabled (store.ts) and cannot be enabled. Absent: none.
   */
  missing_secrets?: string[];
  /**
   * The delivery format's name (src/delivery/formats/): `contentstack` (the default), `contentful`,
   * or another registered one.
   */
  format: string;
  /**
   * Options of the delivery format, as the format checked them (CloudEvents: `{ mode: "binary" |
   * "structured" }`); absent or null: the format's defaults.
   */
  format_options?: Record<string, unknown> | null;
  /** Newest first; all unexpired ones sign each delivery. */
  signing_secrets: SigningSecret[];
  /**
   * Email addresses told when Herald disables the webhook (circuit breaker, 410 Gone), as
   * Contentstack's `notifiers`; at most MAX_NOTIFIERS. Sent through `--smtp-url`. Absent: none.
   */
  notifiers?: string[];
  /** Batching; absent or null: each event is its own call. Contentstack format only. */
  batch?: BatchSettings | null;
  /**
   * Debounce, ms; absent or 0: off. Changes of one entity within it become one call with the
   * latest state (`folded_seqs` lists the others); deletes and unpublishes are never held.
   */
  debounce_ms?: number;
  /** Rate limit; absent or null: unlimited. */
  rate_limit?: RateLimit | null;
  /** Contentful dialect (src/contentful/webhooks.ts): the transformation set through /spaces; absent or null: none. */
  transformation?: Transformation | null;
  created_at: number;
  updated_at: number;
  version: number;
}

/**
 * The branches whose events `w` receives, for the match index and its explainer alike: its list
 * (default ['main']), or null for every branch (`all_branches`).
 */
export function branchesOf(w: Pick<Webhook, 'branches' | 'all_branches'>): readonly string[] | null {
  if (w.all_branches) return null;
  return w.branches?.length ? w.branches : ['main'];
}
