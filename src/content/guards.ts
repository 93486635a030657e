/** Small pure checks shared by every validation: plain objects, own keys, emptiness, uids. */

const UID = /^[a-z][a-z0-9_]{0,63}$/;
export const UID_RULE = 'must be lowercase letters, digits and underscores, starting with a letter (at most 64)';
/** Entry and asset uids as Herald makes them (blt + hex), and any similar id a client sends. */
const ENTITY_UID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * A value's own property: `values.constructor` on a plain object is Object, not a field named
 * `constructor` that was not given.
 */
export function own(obj: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A value that counts as "not given" for `mandatory`. */
export function isEmpty(v: unknown): boolean {
  return v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);
}

/** Contentstack's own rule for turning a title into a uid. */
export function uidFromTitle(title: string): string {
  return title
    .replace(/[^A-Z0-9]+/gi, '_')
    .toLowerCase()
    .replace(/^_+|_+$/g, '');
}

export function isUid(v: unknown): v is string {
  return typeof v === 'string' && UID.test(v);
}

export function isEntityUid(v: unknown): v is string {
  return typeof v === 'string' && ENTITY_UID.test(v);
}
