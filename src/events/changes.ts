import type { Change, Changes, Module } from './event.ts';

// The shapes live with the event that carries them (event.ts), so the two files do not import each other.
export type { Change, Changes };

/**
 * What an update changed: the field paths whose values differ between the stored version before
 * and the one after, with old and new values, computed once when the event is recorded (in the
 * change's transaction) and carried by every payload of that event as `changes`.
 *
 * Paths are field uids joined by `.` (`title`, `seo.description`): objects (groups, JSON fields)
 * are compared key by key, arrays (multiple fields, modular blocks, tags) and scalars as whole
 * values, so a path is always a field or a key inside a group. A field that appears or disappears
 * has `null` on the side where it is missing. System keys (versions, times, who, publish state)
 * are not content and never listed.
 *
 * Pure.
 */

/** Most changed paths listed (and matched by `changed` conditions) for one event. */
export const MAX_CHANGED_PATHS = 1000;
/** Most changes listed with their values. */
export const MAX_CHANGE_VALUES = 100;
/** Largest old or new value carried, bytes of JSON; a larger one is left out (`truncated`). */
export const MAX_CHANGE_VALUE_BYTES = 1024;
/** Most bytes of JSON values carried by one event's `changes` in all. */
export const MAX_CHANGES_BYTES = 16 * 1024;
/** Deepest path compared key by key; differences deeper down are reported at this depth. */
const MAX_DEPTH = 16;

/** Keys that are not content, per module: never reported as changed. */
const COMMON_SYSTEM_KEYS = ['uid', '_version', 'created_at', 'updated_at', 'created_by', 'updated_by', 'publish_details', 'ACL', '_in_progress', '_archived', '_metadata', '_workflow', '_rules', 'app_user_object_uid'];
const SYSTEM_KEYS: Record<Module, ReadonlySet<string>> = {
  entry: new Set([...COMMON_SYSTEM_KEYS, 'locale', 'content_type_uid', 'content_type', 'schema']),
  asset: new Set([...COMMON_SYSTEM_KEYS, 'url', 'is_dir', 'parent_uid_path']),
  content_type: new Set([...COMMON_SYSTEM_KEYS, 'last_activity', 'inbuilt_class', 'maintain_revisions', 'DEFAULT_ACL', 'SYS_ACL', 'abilities']),
  // Job events are never updates; listed so every module has its keys.
  job: new Set(COMMON_SYSTEM_KEYS),
};

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** JSON with sorted keys, so two equal values compare equal whatever their key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isObject(v)) {
    return `{${Object.keys(v)
      .filter((k) => v[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

/** The changes between two stored versions of an entity of `module`. */
export function diffChanges(module: Module, before: Record<string, unknown>, after: Record<string, unknown>): Changes {
  const system = SYSTEM_KEYS[module];
  const found: Array<{ path: string; old: unknown; new: unknown }> = [];
  let cut = false;
  const walk = (a: unknown, b: unknown, path: string[], depth: number) => {
    if (found.length >= MAX_CHANGED_PATHS) {
      cut = true;
      return;
    }
    const aObj = isObject(a) || a === undefined || a === null;
    const bObj = isObject(b) || b === undefined || b === null;
    // Key by key while both sides are objects (or one is missing): a group added or removed lists its keys.
    if (depth < MAX_DEPTH && aObj && bObj && (isObject(a) || isObject(b))) {
      const ao = isObject(a) ? a : {};
      const bo = isObject(b) ? b : {};
      const keys = [...new Set([...Object.keys(ao), ...Object.keys(bo)])].sort();
      for (const k of keys) {
        if (depth === 0 && system.has(k)) continue;
        walk(ao[k], bo[k], [...path, k], depth + 1);
      }
      return;
    }
    if (canonical(a) !== canonical(b)) found.push({ path: path.join('.'), old: a ?? null, new: b ?? null });
  };
  walk(before, after, [], 0);
  found.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));

  let budget = MAX_CHANGES_BYTES;
  const fields: Change[] = [];
  for (const f of found.slice(0, MAX_CHANGE_VALUES)) {
    const oldBytes = utf8Bytes(JSON.stringify(f.old));
    const newBytes = utf8Bytes(JSON.stringify(f.new));
    const fits = oldBytes <= MAX_CHANGE_VALUE_BYTES && newBytes <= MAX_CHANGE_VALUE_BYTES && oldBytes + newBytes <= budget;
    const size = oldBytes + newBytes;
    if (fits) {
      budget -= size;
      fields.push(f);
    } else {
      fields.push({ path: f.path, truncated: true });
      cut = true;
    }
  }
  if (found.length > MAX_CHANGE_VALUES) cut = true;
  return { paths: found.map((f) => f.path), fields, truncated: cut };
}

/** Bytes of `s` in UTF-8 (this module is shared with the web app, which has no Buffer). */
const encoder = new TextEncoder();
function utf8Bytes(s: string): number {
  return encoder.encode(s).length;
}

/** Longest `changed` pattern, characters. */
export const MAX_PATH_PATTERN_LENGTH = 256;
/** Most patterns in one `changed` condition. */
export const MAX_PATH_PATTERNS = 50;

/** Why a `changed` pattern is refused, or null: field uids (letters, digits, `_`, `-`) or `*`, joined by `.`. */
export function pathPatternProblem(pattern: unknown): string | null {
  if (typeof pattern !== 'string') return 'must be a string';
  if (pattern === '') return 'must not be empty';
  if (pattern.length > MAX_PATH_PATTERN_LENGTH) return `is longer than ${MAX_PATH_PATTERN_LENGTH} characters`;
  if (!pattern.split('.').every((s) => s === '*' || /^[A-Za-z0-9_-]+$/.test(s))) {
    return `"${pattern.slice(0, 100)}" is not a field path: field uids or * joined by dots (title, seo.*, blocks.*)`;
  }
  return null;
}

/**
 * Whether a changed path falls under a pattern: the pattern's segments match the path's first
 * segments (`*` matches any one segment), so `seo` and `seo.*` both match `seo.description`, and
 * `seo.*` does not match `seo` itself. Pure.
 */
export function pathMatches(pattern: string, path: string): boolean {
  const p = pattern.split('.');
  const s = path.split('.');
  if (s.length < p.length) return false;
  return p.every((seg, i) => seg === '*' || seg === s[i]);
}

/**
 * Whether any changed path matches any pattern. An event whose path list was cut by the caps
 * (`truncated` with MAX_CHANGED_PATHS paths) matches whatever the patterns: what changed past the
 * cap is unknown, and a webhook missing a change is worse than one extra call.
 */
export function changedMatches(patterns: readonly string[], changes: Changes | null | undefined): boolean {
  if (!changes) return false;
  if (changes.paths.some((path) => patterns.some((p) => pathMatches(p, path)))) return true;
  return changes.truncated && changes.paths.length >= MAX_CHANGED_PATHS;
}
