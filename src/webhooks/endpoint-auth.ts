import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mask } from '../auth/secrets.ts';
import { targetProblem, withAllowHint, type TargetPolicy } from '../net/target.ts';
import type { Destination } from './webhook.ts';

/**
 * How a destination proves itself to its endpoint beyond basic auth, parsed from a request (pure):
 *
 * - OAuth 2.0 client credentials, in Contentstack's field names (`authentication_type: "OAuth2"`,
 *   `access_token_url`, `client_id`, `client_secret`, `request_query_parameters`), plus `scope`:
 *   Herald asks the token URL for a token (RFC 6749 section 4.4) and sends it as
 *   `Authorization: Bearer` (src/delivery/transports/oauth.ts).
 * - A fixed bearer token (`authentication_type: "Bearer"`, `bearer_token`), as Contentstack offers.
 * - Mutual TLS (Herald's): `client_certificate` and `client_key` (PEM), and `ca_certificate` (PEM)
 *   to trust instead of the system's roots.
 *
 * `client_secret`, `bearer_token` and `client_key` are secrets: presented masked, and, like a basic
 * auth password, kept from the stored destination when sent back masked or left out, but only while
 * the target's origin (and for the client secret, the token URL's origin too) stays the same.
 */

export const AUTHENTICATION_TYPES = ['None', 'Basic', 'OAuth2', 'Bearer'] as const;
export type AuthenticationType = (typeof AUTHENTICATION_TYPES)[number];

/** The destination fields this module reads. */
export const ENDPOINT_AUTH_FIELDS = [
  'authentication_type',
  'access_token_url',
  'client_id',
  'client_secret',
  'scope',
  'request_query_parameters',
  'bearer_token',
  'client_certificate',
  'client_key',
  'ca_certificate',
] as const;

/** Longest client id, client secret, scope or bearer token, characters. */
export const MAX_CREDENTIAL_LENGTH = 4096;
/** Longest PEM field (a certificate chain), characters. */
export const MAX_PEM_LENGTH = 64 * 1024;

/** The endpoint-auth part of a stored destination. */
export type EndpointAuth = Pick<
  Destination,
  'access_token_url' | 'client_id' | 'client_secret' | 'scope' | 'request_query_parameters' | 'bearer_token' | 'client_certificate' | 'client_key' | 'ca_certificate'
>;

/** The authentication a stored destination uses (what the API shows as `authentication_type`). */
export function authenticationType(d: Destination): AuthenticationType {
  if (d.access_token_url) return 'OAuth2';
  if (d.bearer_token) return 'Bearer';
  if (d.http_basic_auth) return 'Basic';
  return 'None';
}

export interface EndpointAuthContext {
  policy: TargetPolicy;
  /** The stored destination, on update. */
  old?: Destination;
  /** The destination's (new) target URL and whether it is an http(s) one. */
  targetUrl: string;
  http: boolean;
  /** The target moved to another origin than the stored one's. */
  moved: boolean;
  /** The basic auth username the request sets ('' for none). */
  basicUser: string;
}

/**
 * The endpoint-auth fields of destination `d`, or problems added through `fail` (field paths
 * relative to the destination, e.g. `client_secret`). Returns the fields to store (only those in use).
 */
export function parseEndpointAuth(d: Record<string, unknown>, ctx: EndpointAuthContext, fail: (field: string, problem: string) => void): EndpointAuth {
  const old = ctx.old;
  const out: EndpointAuth = {};
  const str = (k: string): string | undefined => {
    const v = d[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') {
      fail(k, 'must be a string');
      return undefined;
    }
    return v;
  };

  // authentication_type: given, or read from the fields present (so a body in Herald's older shape
  // without it keeps working).
  let type: AuthenticationType;
  const given = str('authentication_type');
  if (given !== undefined && given !== '') {
    const found = AUTHENTICATION_TYPES.find((t) => t.toLowerCase() === given.toLowerCase());
    if (!found) {
      fail('authentication_type', `must be one of ${AUTHENTICATION_TYPES.map((t) => `"${t}"`).join(', ')}`);
      return out;
    }
    type = found;
  } else if (nonEmpty(d.access_token_url) || nonEmpty(d.client_id)) type = 'OAuth2';
  else if (nonEmpty(d.bearer_token)) type = 'Bearer';
  else type = ctx.basicUser ? 'Basic' : 'None';

  if (type === 'Basic' && !ctx.basicUser) fail('http_basic_auth', 'is required when authentication_type is "Basic"');
  if (type !== 'Basic' && type !== 'None' && ctx.basicUser) fail('http_basic_auth', `cannot be set when authentication_type is "${type}"`);
  if (!ctx.http && type !== 'None') {
    const field = type === 'Basic' ? 'http_basic_auth' : type === 'OAuth2' ? 'access_token_url' : 'bearer_token';
    fail(given ? 'authentication_type' : field, `(authentication "${type}") applies to http and https targets only: a broker URL carries its credentials in its user part`);
  }
  const resend = (field: string, where: string) => fail(field, `must be sent again in full: ${where}, and stored secrets are not carried to it`);

  if (type === 'OAuth2') {
    const url = str('access_token_url')?.trim() ?? '';
    if (url === '') fail('access_token_url', 'is required when authentication_type is "OAuth2"');
    else {
      const problem = targetProblem(url, ctx.policy);
      if (problem) fail('access_token_url', withAllowHint(problem));
      else if (!/^https?:/i.test(url)) fail('access_token_url', 'must use http or https');
      else out.access_token_url = url;
    }
    const id = str('client_id') ?? '';
    if (id === '') fail('client_id', 'is required when authentication_type is "OAuth2"');
    else if (credentialProblem(id)) fail('client_id', credentialProblem(id)!);
    else out.client_id = id;

    const tokenMoved = old?.access_token_url !== undefined && url !== '' && originOf(url) !== originOf(old.access_token_url);
    const secret = keptSecret(d.client_secret, old?.client_secret);
    if (secret.kept) {
      if (!old?.client_secret) fail('client_secret', 'is required when authentication_type is "OAuth2"');
      else if (ctx.moved) resend('client_secret', 'the destination moved to another origin');
      else if (tokenMoved) resend('client_secret', `the access_token_url moved to another origin (${originOf(url)})`);
      else out.client_secret = old.client_secret;
    } else if (typeof secret.value !== 'string' || secret.value === '') fail('client_secret', 'is required when authentication_type is "OAuth2"');
    else if (looksMaskedValue(secret.value)) fail('client_secret', MASKED);
    else if (credentialProblem(secret.value)) fail('client_secret', credentialProblem(secret.value)!);
    else out.client_secret = secret.value;

    const scope = str('scope');
    if (scope) {
      if (credentialProblem(scope)) fail('scope', credentialProblem(scope)!);
      else out.scope = scope.trim();
    }
    const params = str('request_query_parameters');
    // Contentstack's form sends "=" for an empty key-value row.
    if (params && params !== '=') {
      const problem = queryParametersProblem(params);
      if (problem) fail('request_query_parameters', problem);
      else out.request_query_parameters = params;
    }
  } else {
    for (const k of ['access_token_url', 'client_id', 'client_secret', 'scope'] as const) {
      if (nonEmpty(d[k]) && !isMaskOf(d[k], old?.[k])) fail(k, `applies only when authentication_type is "OAuth2" (it is "${type}")`);
    }
  }

  if (type === 'Bearer') {
    const token = keptSecret(d.bearer_token, old?.bearer_token);
    if (token.kept) {
      if (!old?.bearer_token) fail('bearer_token', 'is required when authentication_type is "Bearer"');
      else if (ctx.moved) resend('bearer_token', 'the destination moved to another origin');
      else out.bearer_token = old.bearer_token;
    } else if (typeof token.value !== 'string' || token.value === '') fail('bearer_token', 'is required when authentication_type is "Bearer"');
    else if (looksMaskedValue(token.value)) fail('bearer_token', MASKED);
    else if (credentialProblem(token.value)) fail('bearer_token', credentialProblem(token.value)!);
    else out.bearer_token = token.value;
  } else if (nonEmpty(d.bearer_token) && !isMaskOf(d.bearer_token, old?.bearer_token)) {
    fail('bearer_token', `applies only when authentication_type is "Bearer" (it is "${type}")`);
  }

  // Mutual TLS: independent of authentication_type (a certificate and a token may both be needed).
  // Certificates are not secret (shown in full), so a client sending back what it fetched sends
  // them; one left out is removed, as a basic auth username is.
  const https = /^https:/i.test(ctx.targetUrl);
  const cert = str('client_certificate');
  const ca = str('ca_certificate');
  const key = keptSecret(d.client_key, old?.client_key);
  if (ca) {
    const problem = !https ? 'applies to https targets only' : certificatesProblem(ca);
    if (problem) fail('ca_certificate', problem);
    else out.ca_certificate = ca;
  }
  if (cert) {
    const problem = !https ? 'applies to https targets only' : certificatesProblem(cert);
    if (problem) fail('client_certificate', problem);
    let keyText: string | undefined;
    if (key.kept) {
      if (!old?.client_key) fail('client_key', 'is required with client_certificate');
      else if (ctx.moved) resend('client_key', 'the destination moved to another origin');
      else keyText = old.client_key;
    } else if (typeof key.value !== 'string' || key.value === '') fail('client_key', 'is required with client_certificate');
    else if (looksMaskedValue(key.value)) fail('client_key', MASKED);
    else keyText = key.value;
    if (keyText !== undefined && !problem) {
      const keyProblem = keyPairProblem(cert, keyText);
      if (keyProblem) fail('client_key', keyProblem);
      else {
        out.client_certificate = cert;
        out.client_key = keyText;
      }
    }
  } else if (!key.kept && nonEmpty(key.value)) fail('client_certificate', 'is required with client_key');
  return out;
}

function nonEmpty(v: unknown): boolean {
  return typeof v === 'string' && v !== '';
}

/** The value sent back as a stored secret's mask, or left out: the stored one is meant. */
function keptSecret(value: unknown, stored: string | undefined): { kept: true } | { kept: false; value: unknown } {
  if (value === undefined) return { kept: true };
  if (stored && value === mask(stored)) return { kept: true };
  return { kept: false, value };
}

function isMaskOf(value: unknown, stored: string | undefined): boolean {
  return typeof stored === 'string' && stored !== '' && value === mask(stored);
}

/** A masked secret as exports show them (`****`, `****abcd`): see validate.ts looksMasked. */
function looksMaskedValue(value: string): boolean {
  return /^\*{3,}[^*]{0,4}$/.test(value);
}

const MASKED = 'is a masked value (as an export shows it), not the secret: send the secret itself, or leave the field out';

function credentialProblem(v: string): string | null {
  if (v.length > MAX_CREDENTIAL_LENGTH) return `is longer than ${MAX_CREDENTIAL_LENGTH} characters`;
  if (/[\u0000-\u001f\u007f]/.test(v)) return 'must not contain line breaks or control characters';
  return null;
}

/** `key=value&key=value`, as Contentstack's form joins its rows; appended to the token URL. */
function queryParametersProblem(v: string): string | null {
  if (v.length > MAX_CREDENTIAL_LENGTH) return `is longer than ${MAX_CREDENTIAL_LENGTH} characters`;
  if (/[\u0000-\u001f\u007f#]/.test(v)) return 'must not contain line breaks, control characters or #';
  for (const pair of v.replace(/^\?/, '').split('&')) {
    if (pair === '') continue;
    const [k] = pair.split('=');
    if (!k) return `has a parameter without a name ("${pair.slice(0, 40)}"); write key=value pairs joined by &`;
  }
  return null;
}

/** One or more PEM certificates, each readable. */
function certificatesProblem(pem: string): string | null {
  if (pem.length > MAX_PEM_LENGTH) return `is longer than ${MAX_PEM_LENGTH} characters`;
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!blocks) return 'must be a PEM certificate (-----BEGIN CERTIFICATE----- ...)';
  for (const b of blocks) {
    try {
      new X509Certificate(b);
    } catch {
      return 'holds a PEM block that is not a readable certificate';
    }
  }
  return null;
}

/** The key is a readable private key (never quoted in the problem) and belongs to the first certificate. */
function keyPairProblem(certPem: string, keyPem: string): string | null {
  if (keyPem.length > MAX_PEM_LENGTH) return `is longer than ${MAX_PEM_LENGTH} characters`;
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    return 'must be an unencrypted PEM private key (-----BEGIN PRIVATE KEY----- ...)';
  }
  try {
    if (!new X509Certificate(certPem).checkPrivateKey(key)) return 'is not the private key of client_certificate';
  } catch {
    return 'is not the private key of client_certificate';
  }
  return null;
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

/** The endpoint-auth fields as the API shows them: secrets masked, only the fields in use. */
export function presentEndpointAuth(d: Destination): Record<string, string> {
  const out: Record<string, string> = { authentication_type: authenticationType(d) };
  if (d.access_token_url) {
    out.access_token_url = d.access_token_url;
    out.client_id = d.client_id ?? '';
    out.client_secret = mask(d.client_secret) ?? '';
    if (d.scope) out.scope = d.scope;
    if (d.request_query_parameters) out.request_query_parameters = d.request_query_parameters;
  }
  if (d.bearer_token) out.bearer_token = mask(d.bearer_token) ?? '';
  if (d.client_certificate) {
    out.client_certificate = d.client_certificate;
    out.client_key = mask(d.client_key) ?? '';
  }
  if (d.ca_certificate) out.ca_certificate = d.ca_certificate;
  return out;
}

/** Secret values of the endpoint auth (for scrubbing echoes and log text). */
export function endpointAuthSecrets(d: Destination): string[] {
  return [d.client_secret, d.bearer_token, d.client_key].filter((s): s is string => typeof s === 'string' && s !== '');
}
