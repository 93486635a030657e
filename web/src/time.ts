/**
 * Times as the Logs tab shows them: humanised ("3 minutes ago", seed 003's "Webhook Called At")
 * with the exact time available on hover. Pure: `now` is passed in.
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const MONTH = 30 * DAY;
const YEAR = 365 * DAY;

const UNITS: Array<[number, string]> = [
  [YEAR, 'year'],
  [MONTH, 'month'],
  [DAY, 'day'],
  [HOUR, 'hour'],
  [MINUTE, 'minute'],
  [SECOND, 'second'],
];

/** Milliseconds since the epoch, from an ISO string or a number; null when unreadable. */
export function toMs(t: string | number | null | undefined): number | null {
  if (t === null || t === undefined || t === '') return null;
  const ms = typeof t === 'number' ? t : Date.parse(t);
  return Number.isFinite(ms) ? ms : null;
}

/**
 * "just now" under 5 seconds, then "12 seconds ago", "1 minute ago", "3 days ago"... (whole units,
 * rounded down); future times read "in 30 seconds". Empty for an unreadable time.
 */
export function humanise(t: string | number | null | undefined, now: number): string {
  const ms = toMs(t);
  if (ms === null) return '';
  const diff = now - ms;
  const abs = Math.abs(diff);
  if (abs < 5 * SECOND) return 'just now';
  for (const [size, name] of UNITS) {
    if (abs >= size) {
      const n = Math.floor(abs / size);
      const phrase = `${n} ${name}${n === 1 ? '' : 's'}`;
      return diff >= 0 ? `${phrase} ago` : `in ${phrase}`;
    }
  }
  return 'just now';
}

/** The exact time for a title on hover: local time, and the ISO instant for pasting into tools. */
export function exactTime(t: string | number | null | undefined): string {
  const ms = toMs(t);
  if (ms === null) return '';
  const d = new Date(ms);
  return `${d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' })} (${d.toISOString()})`;
}

/** `<input type="datetime-local">` value -> ISO instant (the input is in local time); undefined when empty. */
export function fromLocalInput(value: string): string | undefined {
  if (!value) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}

/** An instant (ms) as an `<input type="datetime-local">` value, in local time, to the minute. */
export function toLocalInput(ms: number): string {
  const d = new Date(ms);
  return new Date(ms - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

/** A duration in words: "340 ms", "1.2 s". */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}
