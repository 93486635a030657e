/**
 * The difference between two snapshots of an entity, as a list of changed paths. Objects are
 * compared key by key, arrays index by index; a path looks like `address.city` or
 * `sections[1].heading`.
 */
export interface Change {
  path: string;
  kind: 'added' | 'removed' | 'changed';
  from?: unknown;
  to?: unknown;
}

/** Keys that change on every save and say nothing about the content; left out unless asked. */
export const NOISE_KEYS = new Set(['updated_at', 'updated_by', '_version', 'publish_details', 'url', '_in_progress']);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

export function diff(from: unknown, to: unknown, opts: { ignore?: ReadonlySet<string> } = {}): Change[] {
  const out: Change[] = [];
  walk(from, to, '', opts.ignore ?? new Set(), out, true);
  return out;
}

function walk(a: unknown, b: unknown, path: string, ignore: ReadonlySet<string>, out: Change[], top: boolean) {
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    for (const k of keys) {
      if (top && ignore.has(k)) continue;
      const p = join(path, k);
      if (!Object.hasOwn(b, k)) out.push({ path: p, kind: 'removed', from: a[k] });
      else if (!Object.hasOwn(a, k)) out.push({ path: p, kind: 'added', to: b[k] });
      else walk(a[k], b[k], p, ignore, out, false);
    }
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    const n = Math.max(a.length, b.length);
    for (let i = 0; i < n; i++) {
      const p = join(path, i);
      if (i >= b.length) out.push({ path: p, kind: 'removed', from: a[i] });
      else if (i >= a.length) out.push({ path: p, kind: 'added', to: b[i] });
      else walk(a[i], b[i], p, ignore, out, false);
    }
    return;
  }
  if (!Object.is(a, b)) out.push({ path: path || '(whole)', kind: 'changed', from: a, to: b });
}
