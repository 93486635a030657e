/**
 * "Call Status" in the Logs tab (seed 003): the HTTP code for a call that got an answer, else the
 * failure reason in words; and where the execution stands (waiting, sending, retrying). Pure.
 */

const PHRASES: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'No Content',
  301: 'Moved Permanently',
  302: 'Found',
  304: 'Not Modified',
  307: 'Temporary Redirect',
  308: 'Permanent Redirect',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** "200 OK", "418" (a code without a known phrase). */
export function httpStatusText(code: number): string {
  return PHRASES[code] ? `${code} ${PHRASES[code]}` : String(code);
}

export interface CallStatus {
  text: string;
  kind: 'good' | 'bad' | 'info' | 'warn';
  /** What happens next, when something does: "retrying", "waiting for its first attempt". */
  next: 'retry' | 'queued' | 'sending' | null;
}

export interface StatusInput {
  state: string;
  status: number | null;
  reason: string | null;
  attempts: number;
}

export function callStatus(x: StatusInput): CallStatus {
  if (x.state === 'in_flight') return { text: 'Sending…', kind: 'info', next: 'sending' };
  if (x.state === 'queued' && x.attempts === 0) return { text: 'Queued', kind: 'info', next: 'queued' };
  const next = x.state === 'pending' ? 'retry' : x.state === 'queued' ? 'queued' : null;
  if (x.status !== null && x.status !== undefined) {
    const ok = x.status >= 200 && x.status < 300;
    return { text: httpStatusText(x.status), kind: ok ? 'good' : next ? 'warn' : 'bad', next };
  }
  if (x.reason) return { text: x.reason, kind: next ? 'warn' : 'bad', next };
  if (x.state === 'succeeded') return { text: 'Delivered', kind: 'good', next: null };
  return { text: x.state === 'failed' ? 'Failed' : 'Waiting', kind: x.state === 'failed' ? 'bad' : 'info', next };
}

/** Labels for the state filter, in the order shown. */
export const STATE_LABELS: Array<[string, string]> = [
  ['', 'Any status'],
  ['succeeded', 'Succeeded'],
  // "Any failure": the last attempt failed, a retry may still come; "Failed for good": no retry will.
  ['any_failure', 'Any failure'],
  ['failed', 'Failed for good'],
  ['pending', 'Retry scheduled'],
  ['queued', 'Queued'],
  ['in_flight', 'Sending'],
];

/** The events a log can be filtered by (src/events/event.ts ACTIONS), in the order shown. */
export const EVENT_LABELS: Array<[string, string]> = [
  ['', 'Any event'],
  ['create', 'create'],
  ['update', 'update'],
  ['auto_save', 'auto_save'],
  ['publish', 'publish'],
  ['publish.fail', 'publish.fail'],
  ['unpublish', 'unpublish'],
  ['unpublish.fail', 'unpublish.fail'],
  ['archive', 'archive'],
  ['unarchive', 'unarchive'],
  ['delete', 'delete'],
];

/**
 * Why a waiting call is not being sent: its webhook is disabled, so pending and queued calls are on
 * hold until it is enabled again. Null when the call is not held.
 */
export function onHold(x: { state: string }, webhook: { disabled: boolean; disabled_reason: string | null } | undefined): string | null {
  if (!webhook?.disabled || (x.state !== 'pending' && x.state !== 'queued')) return null;
  return webhook.disabled_reason ? `On hold: the webhook is disabled (${webhook.disabled_reason}). Enable it to send.` : 'On hold: the webhook is disabled. Enable it to send.';
}
