import { OUTCOMES } from '../policy.ts';
import type { OutgoingRequest } from '../request.ts';
import type { AttemptRecord, LoggedResponse } from '../send.ts';

/**
 * What crosses between the main thread and a sender thread (threaded.ts, sender-worker.ts), and
 * its encoding. Attempts and records travel flat: numbers, and only the strings that changed, in
 * one array per message, not an object per attempt, one per record and one per header. Structured
 * cloning writes and reads every key and value of every object, and the receiving thread makes
 * each string again (session 26: the hand-off was ~5 us of a delivery's CPU, the request headers'
 * 16 strings made in the thread ~1.4 us of it).
 *
 * A shape is what one destination's attempts share: URL, method, framing, secrets, header names
 * and each header's last value, and the last response's header names and values. Each side keeps
 * its own copy (main: RequestEncoder by destination; the thread: RequestDecoder by id), defined
 * once (`ToSender.shapes`) and then brought up to date by each item in order: an attempt carries
 * only the header values that differ from its shape's last. Herald's content type and user agent,
 * a destination's own headers, the timestamp within a second and, mostly, the event's name cross
 * once; the delivery id, seq and signature on every attempt. Records do the same with the
 * response headers (a receiver's Date changes once a second), and records whose headers did not
 * change share one headers object on the main thread.
 */

/** A message's flat values. */
export type Flat = unknown[];

/** A shape's definition: [id, url, method, chunked, secrets, header names, their values at definition]. */
export type ShapeDef = [number, string, string | undefined, boolean | undefined, readonly string[] | undefined, string[], string[]];

/**
 * One message to a thread. An item in `items`: id, shape (SHAPE_NONE: none, the request follows
 * whole: url, method, headers, chunked, secrets), body (an index into `bodies`), timeoutMs, then,
 * with a shape, a bit mask of the header values that follow (bit i: the i-th name's) and those
 * values in order. `bodies`: the UTF-8 bytes of each distinct body of the message's attempts
 * once, one after another, body i ending at `bodyEnds[i]` (an event's fan-out shares one), in a
 * buffer transferred, not copied: the main thread encoded each body already (it signs the bytes),
 * and as text each body was copied into the message, made again as a string in the thread's heap
 * and encoded again there. `reset`: forget every shape before this message's.
 */
export type ToSender = { t: 'send'; reset: boolean; shapes: ShapeDef[]; bodies: ArrayBuffer; bodyEnds: number[]; items: Flat } | { t: 'close'; force: boolean };

/**
 * One message back. A record in `items`: id, the thread's event-loop idle time over the attempt
 * (ms), outcome (an index into OUTCOMES, or the word), status_code, retry_after_ms, reason,
 * started_at, duration_ms, then the response: RESPONSE_NONE; or RESPONSE_SAME (the names are the
 * shape's last response's: a mask and the values that differ follow); or RESPONSE_NEW (names and
 * values, now the shape's last); or RESPONSE_WHOLE (the headers object as it is: a value that is
 * not a string, too many headers, or an attempt without a shape); after any of the last three,
 * body, encoding (0 utf8, 1 base64) and truncated.
 */
export type ToMain = { t: 'ready' } | { t: 'done'; items: Flat } | { t: 'closed'; unanswered: number };

export const SHAPE_NONE = -1;
export const RESPONSE_NONE = 0;
export const RESPONSE_SAME = 1;
export const RESPONSE_NEW = 2;
export const RESPONSE_WHOLE = 3;
/** Most headers a shape holds: its masks are small integers (V8's Smi, 31 bits). More: sent whole. */
export const SHAPE_MAX_HEADERS = 30;
/** Shapes one thread is given before both sides forget them all and ids start again (`reset`). */
export const SHAPES_KEPT = 10_000;

/** One destination's shape, on either side (see above). */
export interface Shape {
  id: number;
  url: string;
  method: string | undefined;
  chunked: boolean | undefined;
  secrets: readonly string[] | undefined;
  names: string[];
  values: string[];
  /** The last response's header names (null: none yet) and values. */
  respNames: string[] | null;
  respValues: string[];
  /** Main thread: the headers object made from them, shared by the records whose headers did not change. */
  respHeaders: LoggedResponse['headers'] | null;
}

function shapeOf(id: number, url: string, method: string | undefined, chunked: boolean | undefined, secrets: readonly string[] | undefined, names: string[], values: string[]): Shape {
  return { id, url, method, chunked, secrets, names, values, respNames: null, respValues: [], respHeaders: null };
}

/**
 * Pushes onto `out` the values of `headers` that differ from `values` (updating them) and writes
 * their mask at `maskAt`; false (nothing pushed, `values` possibly part-updated) when its names
 * are not `names` in order or a differing value is not a string.
 */
function delta(out: Flat, maskAt: number, names: string[], values: string[], headers: Record<string, unknown>): boolean {
  let i = 0;
  let mask = 0;
  for (const k in headers) {
    if (i === names.length || k !== names[i]) return false;
    const v = headers[k];
    if (v !== values[i]) {
      if (typeof v !== 'string') return false;
      values[i] = v;
      mask |= 1 << i;
      out.push(v);
    }
    i++;
  }
  if (i !== names.length) return false;
  out[maskAt] = mask;
  return true;
}

/** `headers`' names and values, or null when one value is not a string or they are too many for a shape. */
function split(headers: Record<string, unknown>): { names: string[]; values: string[] } | null {
  const names: string[] = [];
  const values: string[] = [];
  for (const k in headers) {
    const v = headers[k];
    if (typeof v !== 'string' || names.length === SHAPE_MAX_HEADERS) return null;
    names.push(k);
    values.push(v);
  }
  return { names, values };
}

/** Main thread, one per sender thread: a message's attempts, flat. */
export class RequestEncoder {
  private byDestination = new WeakMap<object, Shape>();
  private byUrl = new Map<string, Shape>();
  private nextShape = 0;
  /** The next message starts a new set of shapes (see SHAPES_KEPT). */
  private resetNext = false;
  /** Shape ids ran out: the caller sends what it holds now (take), after which ids start again. */
  full = false;
  shapes: ShapeDef[] = [];
  items: Flat = [];

  /** Appends `req`'s item; returns its shape (null: sent whole), which its record is read against (RecordDecoder). */
  add(id: number, req: OutgoingRequest, body: number, timeoutMs: number): Shape | null {
    const items = this.items;
    const at = items.length;
    items.push(id, 0, body, timeoutMs, 0);
    const key = req.destination ?? req.url;
    let shape = typeof key === 'string' ? this.byUrl.get(key) : this.byDestination.get(key);
    if (shape !== undefined && shape.url === req.url && shape.method === req.method && shape.chunked === req.chunked && shape.secrets === req.secrets && delta(items, at + 4, shape.names, shape.values, req.headers)) {
      items[at + 1] = shape.id;
      return shape;
    }
    items.length = at + 4;
    const split_ = split(req.headers);
    if (split_ === null) {
      items[at + 1] = SHAPE_NONE;
      items.push(req.url, req.method, req.headers, req.chunked, req.secrets);
      return null;
    }
    // A new shape (the destination's first attempt, or its headers' names changed): defined in
    // this message with its values as they are now (a copy: later items change them in place).
    shape = shapeOf(this.nextShape++, req.url, req.method, req.chunked, req.secrets, split_.names, split_.values);
    this.shapes.push([shape.id, shape.url, shape.method, shape.chunked, shape.secrets, shape.names, shape.values.slice()]);
    if (typeof key === 'string') {
      if (this.byUrl.size >= SHAPES_KEPT) this.byUrl.clear();
      this.byUrl.set(key, shape);
    } else this.byDestination.set(key, shape);
    if (this.nextShape >= SHAPES_KEPT) this.full = true;
    items[at + 1] = shape.id;
    items.push(0);
    return shape;
  }

  /** What to send (the message's shapes and items), leaving both empty. */
  take(): { reset: boolean; shapes: ShapeDef[]; items: Flat } {
    const taken = { reset: this.resetNext, shapes: this.shapes, items: this.items };
    this.shapes = [];
    this.items = [];
    this.resetNext = this.full;
    if (this.full) {
      this.full = false;
      this.nextShape = 0;
      this.byDestination = new WeakMap();
      this.byUrl.clear();
    }
    return taken;
  }
}

/** An attempt as a sender thread reads it. Headers as undici takes them too: names and values alternating. */
export interface DecodedRequest {
  id: number;
  shape: Shape | null;
  url: string;
  method: string | undefined;
  headers: string[] | Record<string, string>;
  body: number;
  chunked: boolean | undefined;
  secrets: readonly string[] | undefined;
  timeoutMs: number;
}

/** Sender thread: the shapes given so far, and each message's attempts read against them. */
export class RequestDecoder {
  private shapes: Shape[] = [];

  /** Calls `each` with every attempt of `m` in order (one object, filled again for each). */
  read(m: Extract<ToSender, { t: 'send' }>, each: (r: DecodedRequest) => void): void {
    if (m.reset) this.shapes = [];
    for (const [id, url, method, chunked, secrets, names, values] of m.shapes) this.shapes[id] = shapeOf(id, url, method, chunked, secrets, names, values);
    const items = m.items;
    const r: DecodedRequest = { id: 0, shape: null, url: '', method: undefined, headers: [], body: 0, chunked: undefined, secrets: undefined, timeoutMs: 0 };
    for (let p = 0; p < items.length; ) {
      r.id = items[p++] as number;
      const s = items[p++] as number;
      r.body = items[p++] as number;
      r.timeoutMs = items[p++] as number;
      if (s === SHAPE_NONE) {
        r.shape = null;
        r.url = items[p++] as string;
        r.method = items[p++] as string | undefined;
        r.headers = items[p++] as Record<string, string>;
        r.chunked = items[p++] as boolean | undefined;
        r.secrets = items[p++] as readonly string[] | undefined;
      } else {
        const shape = this.shapes[s]!;
        const { names, values } = shape;
        let mask = items[p++] as number;
        for (let i = 0; mask !== 0; i++, mask >>>= 1) if (mask & 1) values[i] = items[p++] as string;
        const headers = new Array<string>(2 * names.length);
        for (let i = 0; i < names.length; i++) {
          headers[2 * i] = names[i]!;
          headers[2 * i + 1] = values[i]!;
        }
        r.shape = shape;
        r.url = shape.url;
        r.method = shape.method;
        r.headers = headers;
        r.chunked = shape.chunked;
        r.secrets = shape.secrets;
      }
      each(r);
    }
  }
}

/** Sender thread: appends `record`'s entry (see ToMain) to `out`, its response headers against `shape`'s last. */
export function encodeRecord(out: Flat, id: number, idleMs: number, shape: Shape | null, record: AttemptRecord): void {
  const outcome = OUTCOMES.indexOf(record.outcome);
  out.push(id, idleMs, outcome < 0 ? record.outcome : outcome, record.status_code, record.retry_after_ms, record.reason, record.started_at, record.duration_ms);
  const r = record.response;
  if (r === null) {
    out.push(RESPONSE_NONE);
    return;
  }
  const headers = r.headers;
  let sent = false;
  if (shape !== null) {
    if (shape.respNames !== null) {
      const at = out.push(RESPONSE_SAME, 0) - 1;
      if (delta(out, at, shape.respNames, shape.respValues, headers)) sent = true;
      else out.length = at - 1;
    }
    if (!sent) {
      const split_ = split(headers);
      if (split_ !== null) {
        shape.respNames = split_.names;
        shape.respValues = split_.values;
        // A copy: later records of this message change the shape's values in place.
        out.push(RESPONSE_NEW, split_.names, split_.values.slice());
        sent = true;
      }
    }
  }
  if (!sent) out.push(RESPONSE_WHOLE, headers);
  out.push(r.body, r.encoding === 'utf8' ? 0 : 1, r.truncated);
}

/**
 * Main thread: reads a message's records in order, calling `each` with each one's id, record and
 * idle ms. `shapeOf` gives the shape the attempt was sent with (RequestEncoder.add's answer; null:
 * none, or the attempt is no longer waited for: its entry is read and passed over).
 */
export function decodeRecords(items: Flat, shapeOfId: (id: number) => Shape | null | undefined, each: (id: number, record: AttemptRecord, idleMs: number) => void): void {
  for (let p = 0; p < items.length; ) {
    const id = items[p++] as number;
    const idleMs = items[p++] as number;
    const o = items[p++];
    const outcome = typeof o === 'number' ? OUTCOMES[o]! : (o as AttemptRecord['outcome']);
    const status_code = items[p++] as number | null;
    const retry_after_ms = items[p++] as number | null;
    const reason = items[p++] as string | null;
    const started_at = items[p++] as number;
    const duration_ms = items[p++] as number;
    const kind = items[p++] as number;
    let response: LoggedResponse | null = null;
    if (kind !== RESPONSE_NONE) {
      const shape = shapeOfId(id) ?? null;
      let headers: LoggedResponse['headers'];
      if (kind === RESPONSE_WHOLE) headers = items[p++] as LoggedResponse['headers'];
      else if (kind === RESPONSE_NEW) {
        const names = items[p++] as string[];
        const values = items[p++] as string[];
        headers = objectOf(names, values);
        if (shape !== null) {
          shape.respNames = names;
          shape.respValues = values;
          shape.respHeaders = headers;
        }
      } else {
        let mask = items[p++] as number;
        if (shape === null || shape.respNames === null) {
          // Not waited for any more: its values are passed over (one per bit).
          for (; mask !== 0; mask >>>= 1) if (mask & 1) p++;
          headers = {};
        } else if (mask === 0) headers = shape.respHeaders!;
        else {
          const values = shape.respValues;
          for (let i = 0; mask !== 0; i++, mask >>>= 1) if (mask & 1) values[i] = items[p++] as string;
          headers = shape.respHeaders = objectOf(shape.respNames, values);
        }
      }
      const body = items[p++] as string;
      const encoding = items[p++] === 0 ? 'utf8' : 'base64';
      const truncated = items[p++] as boolean;
      response = { headers, body, encoding, truncated };
    }
    // The fields in send.ts's order (ended()).
    each(id, { outcome, status_code, retry_after_ms, reason, response, started_at, duration_ms }, idleMs);
  }
}

function objectOf(names: string[], values: string[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (let i = 0; i < names.length; i++) o[names[i]!] = values[i]!;
  return o;
}
