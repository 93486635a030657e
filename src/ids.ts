import { randomBytes, randomFillSync } from 'node:crypto';

/**
 * Identifiers. Contentstack-style uids (`blt` + 16 hex) for things its API names (stacks' api_key,
 * content types' generated uids, entries, assets, webhooks), and prefixed ids where Herald names
 * its own (`exe_` executions, `att_` attempts), so a reader can tell what an id points at.
 */
export function bltUid(): string {
  return 'blt' + randomHex(8);
}

/**
 * Random bytes for uids, drawn from the CSPRNG 4 KiB at a time: each randomBytes() call costs
 * ~6 us on a quiet machine (~25 us under load) whatever its size, once per entry created. Each
 * byte is used once.
 */
const POOL = Buffer.alloc(4096);
let poolAt = POOL.length;

/** `bytes` random bytes (at most 4096) as hex. */
function randomHex(bytes: number): string {
  if (poolAt + bytes > POOL.length) {
    randomFillSync(POOL);
    poolAt = 0;
  }
  const hex = POOL.toString('hex', poolAt, poolAt + bytes);
  poolAt += bytes;
  return hex;
}

/** `bytes` random bytes as lowercase hex, from the same pool (e.g. a server-picked branch uid). */
export function hexId(bytes: number): string {
  return randomHex(bytes);
}

export function prefixed(prefix: string, bytes = 12): string {
  return `${prefix}_${randomBytes(bytes).toString('base64url')}`;
}

/** Random per process: ids from two processes never collide even in the same millisecond. */
const PROCESS_PART = randomBytes(6).toString('base64url');
let counter = 0;
/** Per prefix: the millisecond of its last id and that id's text up to the counter. */
const heads = new Map<string, { ms: number; text: string }>();

/**
 * Time-ordered id: sorts by creation (ms timestamp first), unique by a per-process random part and
 * a counter. Cheap enough for the delivery path (no random bytes per id).
 */
export function sortableId(prefix: string): string {
  const now = Date.now();
  // Ids come in bursts (an execution per webhook, an attempt per outcome): everything before the
  // counter is joined once per prefix and millisecond. Joined per id, its four parts made three
  // string nodes each time (~80 bytes of garbage per id; two ids per delivery).
  let head = heads.get(prefix);
  if (head === undefined) heads.set(prefix, (head = { ms: -1, text: '' }));
  if (head.ms !== now) {
    head.ms = now;
    head.text = `${prefix}_${timePart(now)}${PROCESS_PART}`;
  }
  counter = (counter + 1) % 0x1000000;
  return head.text + counter.toString(36).padStart(5, '0');
}

/** The fixed-width time prefix of sortable ids (base 36, 9 digits: good until the year 5188). */
const timePart = (ms: number) => ms.toString(36).padStart(9, '0');

/**
 * Sorts after every sortable id of `prefix` made before `ms` and before every one made at or after
 * it (byte order, as both stores compare these ids): a range bound on creation time.
 */
export function sortableIdFloor(prefix: string, ms: number): string {
  return `${prefix}_${timePart(ms)}`;
}
