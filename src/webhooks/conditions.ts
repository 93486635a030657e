import RE2 from 're2';
import { changedMatches, MAX_PATH_PATTERNS, pathPatternProblem } from '../events/changes.ts';
import { actorOf, type HeraldEvent } from '../events/event.ts';
import type { Condition } from './webhook.ts';

/**
 * Conditions beyond channels, as Contentful's webhook filters: each is `equals`, `in` or
 * `regexp` over one event property, `changed` (Herald's own), or `not` of another condition; a
 * webhook's conditions are ANDed. Validate once (`conditionProblems`), compile once (`compileConditions`), evaluate per event.
 *
 * Properties (`doc`), Contentful's names and Herald's short ones:
 *   sys.id, uid                      the entity's uid
 *   sys.contentType.sys.id,          the entry's content type (for a content type event: its own uid)
 *     content_type
 *   sys.environment.sys.id           Contentful's environment, which is Herald's branch: `master` for
 *                                    the branch `main`, else the branch's uid (as the Contentful dialect maps them)
 *   branch                           the branch uid (`main`)
 *   environment                      the publish environment (publish/unpublish events; else none)
 *   locale                           the locale that changed (entries; else none)
 *   sys.createdBy.sys.id, created_by who created the entity (from its snapshot)
 *   sys.updatedBy.sys.id, updated_by who made this change
 *     actor.uid                      (the same: a management token's uid, or `admin`)
 *   actor.name                       the name of the token that made the change
 *   actor.type                       `management_token` or `admin`
 * `{ "changed": ["title", "seo.*"] }` holds when the event's `changes` list a path under one of
 * the patterns (src/events/changes.ts: `*` is one field uid, a path under a pattern matches);
 * events without changes (anything but update and auto_save) never satisfy it.
 * A property the event does not have (no environment on an update, say) never equals, is never in
 * a list and never matches a pattern; `not` of such a test is true.
 *
 * Pure.
 */

/** Event properties a condition may test, each read from an event. */
const PROPERTIES: Record<string, (e: HeraldEvent) => string | null> = {
  'sys.id': (e) => e.uid,
  uid: (e) => e.uid,
  'sys.contentType.sys.id': contentType,
  content_type: contentType,
  'sys.environment.sys.id': (e) => (e.branch === 'main' ? 'master' : e.branch),
  branch: (e) => e.branch,
  environment: (e) => e.environment ?? null,
  locale: (e) => e.locale ?? null,
  'sys.createdBy.sys.id': createdBy,
  created_by: createdBy,
  'sys.updatedBy.sys.id': (e) => e.actor,
  updated_by: (e) => e.actor,
  'actor.uid': (e) => e.actor,
  'actor.name': (e) => actorOf(e).name,
  'actor.type': (e) => actorOf(e).type,
};

export const CONDITION_PROPERTIES: readonly string[] = Object.keys(PROPERTIES);

/** Most conditions on one webhook. */
export const MAX_CONDITIONS = 50;
/** Longest regexp pattern, characters: filters test uids and names, not documents. */
export const MAX_PATTERN_LENGTH = 256;
/** Most values in one `in` list. */
export const MAX_IN_VALUES = 500;
/** Longest value compared, characters. */
export const MAX_VALUE_LENGTH = 1024;
/** Deepest nesting of `not`. */
const MAX_DEPTH = 8;

function contentType(e: HeraldEvent): string | null {
  if (e.module === 'content_type') return e.uid;
  return e.content_type_uid ?? null;
}

function createdBy(e: HeraldEvent): string | null {
  const entity = (e.data?.entry ?? e.data?.asset ?? e.data?.content_type) as { created_by?: unknown } | undefined;
  if (entity && typeof entity.created_by === 'string') return entity.created_by;
  return e.action === 'create' ? e.actor : null;
}

/** A compiled condition list: true when every condition holds for the event. */
export type ConditionTest = (event: HeraldEvent) => boolean;

/**
 * Problems with a list of conditions, by field path relative to the list (`0.equals.0.doc`),
 * or an empty object when it is valid. `conditions` is untrusted JSON.
 */
export function conditionProblems(conditions: unknown): Record<string, string[]> {
  const problems: Record<string, string[]> = {};
  const add = (path: string, p: string) => (problems[path] ??= []).push(p);
  if (!Array.isArray(conditions)) {
    add('', 'must be a list of conditions');
    return problems;
  }
  if (conditions.length > MAX_CONDITIONS) add('', `has more than ${MAX_CONDITIONS} conditions`);
  conditions.slice(0, MAX_CONDITIONS).forEach((c, i) => checkCondition(c, String(i), add, 0));
  return problems;
}

function checkCondition(c: unknown, path: string, add: (path: string, p: string) => void, depth: number): void {
  if (!c || typeof c !== 'object' || Array.isArray(c)) {
    add(path, 'must be an object with one of equals, in, regexp, changed or not');
    return;
  }
  const keys = Object.keys(c);
  if (keys.length !== 1 || !['equals', 'in', 'regexp', 'changed', 'not'].includes(keys[0])) {
    add(path, 'must have exactly one of equals, in, regexp, changed or not');
    return;
  }
  const op = keys[0];
  const arg = (c as Record<string, unknown>)[op];
  const at = `${path}.${op}`;
  if (op === 'changed') {
    if (!Array.isArray(arg) || arg.length === 0) add(at, 'must be a non-empty list of field paths, such as ["title", "seo.*"]');
    else if (arg.length > MAX_PATH_PATTERNS) add(at, `has more than ${MAX_PATH_PATTERNS} paths`);
    else
      arg.forEach((v, i) => {
        const p = pathPatternProblem(v);
        if (p) add(`${at}.${i}`, p);
      });
    return;
  }
  if (op === 'not') {
    if (depth >= MAX_DEPTH) add(at, `nests not more than ${MAX_DEPTH} deep`);
    else checkCondition(arg, at, add, depth + 1);
    return;
  }
  if (!Array.isArray(arg) || arg.length !== 2) {
    add(at, `must be [{ "doc": "<property>" }, <${op === 'in' ? 'list of values' : op === 'regexp' ? '{ "pattern": "..." }' : 'value'}>]`);
    return;
  }
  const [ref, operand] = arg as [unknown, unknown];
  const doc = (ref as { doc?: unknown } | null)?.doc;
  if (!ref || typeof ref !== 'object' || typeof doc !== 'string') {
    add(`${at}.0`, 'must be { "doc": "<property>" }');
  } else if (!Object.hasOwn(PROPERTIES, doc)) {
    add(`${at}.0.doc`, `"${doc.slice(0, 100)}" is not a known property (${CONDITION_PROPERTIES.join(', ')})`);
  }
  if (op === 'equals') {
    const p = valueProblem(operand);
    if (p) add(`${at}.1`, p);
  } else if (op === 'in') {
    if (!Array.isArray(operand) || operand.length === 0) add(`${at}.1`, 'must be a non-empty list of strings');
    else if (operand.length > MAX_IN_VALUES) add(`${at}.1`, `has more than ${MAX_IN_VALUES} values`);
    else
      operand.forEach((v, i) => {
        const p = valueProblem(v);
        if (p) add(`${at}.1.${i}`, p);
      });
  } else {
    const pattern = (operand as { pattern?: unknown } | null)?.pattern;
    if (!operand || typeof operand !== 'object' || typeof pattern !== 'string') add(`${at}.1`, 'must be { "pattern": "<regular expression>" }');
    else {
      const p = patternProblem(pattern);
      if (p) add(`${at}.1.pattern`, p);
    }
  }
}

function valueProblem(v: unknown): string | null {
  if (typeof v !== 'string') return 'must be a string';
  if (v.length > MAX_VALUE_LENGTH) return `is longer than ${MAX_VALUE_LENGTH} characters`;
  return null;
}

/**
 * Why a regexp pattern is refused, or null. Patterns run on RE2 (`compilePattern`), which matches
 * in time linear in the input whatever the pattern, so no pattern can stall the process; RE2 has no
 * backreferences (`\1`, `\k<name>`) or lookaround (`(?=`, `(?!`, `(?<=`, `(?<!`), so those are
 * refused here, when the webhook is saved, with RE2's own reason.
 */
export function patternProblem(pattern: string): string | null {
  if (pattern.length === 0) return 'must not be empty';
  if (pattern.length > MAX_PATTERN_LENGTH) return `is longer than ${MAX_PATTERN_LENGTH} characters`;
  try {
    compilePattern(pattern);
  } catch (err) {
    const reason = (err as Error).message;
    // RE2's reasons for the two features it lacks by design, said plainly.
    if (/invalid escape sequence: \\(?:[1-9]|k)/.test(reason)) return 'uses a backreference, which RE2 (the linear-time engine patterns run on) does not support';
    if (/invalid perl operator: \(\?<?[=!]/.test(reason)) return 'uses lookahead or lookbehind, which RE2 (the linear-time engine patterns run on) does not support';
    return `is not a valid RE2 regular expression: ${reason}`;
  }
  return null;
}

/**
 * A user-supplied pattern compiled for RE2, which runs in time linear in its input (no
 * backtracking): the one way Herald compiles a pattern it did not write. Throws on a pattern RE2
 * cannot run.
 */
export function compilePattern(pattern: string): { test(s: string): boolean } {
  return new RE2(pattern);
}

/** Compiles a list of conditions that passed `conditionProblems`. An empty list is always true. */
export function compileConditions(conditions: readonly Condition[]): ConditionTest {
  const tests = conditions.map(compileOne);
  if (tests.length === 0) return () => true;
  return (event) => tests.every((t) => t(event));
}

/**
 * For explaining a non-match (webhook preview): compiles the list like compileConditions and
 * returns the index of the first condition an event fails, or null when it passes them all.
 */
export function compileConditionExplainer(conditions: readonly Condition[]): (event: HeraldEvent) => number | null {
  const tests = conditions.map(compileOne);
  return (event) => {
    const i = tests.findIndex((t) => !t(event));
    return i < 0 ? null : i;
  };
}

/** The reader of a property; throws for an unknown one, so a bad stored condition fails to compile, not to run. */
function reader(doc: string): (e: HeraldEvent) => string | null {
  if (!Object.hasOwn(PROPERTIES, doc)) throw new Error(`unknown condition property ${doc}`);
  return PROPERTIES[doc];
}

function compileOne(c: Condition): ConditionTest {
  if ('not' in c) {
    const inner = compileOne(c.not);
    return (e) => !inner(e);
  }
  if ('changed' in c) {
    const patterns = [...c.changed];
    return (e) => changedMatches(patterns, e.changes);
  }
  if ('equals' in c) {
    const [ref, value] = c.equals;
    const read = reader(ref.doc);
    return (e) => read(e) === value;
  }
  if ('in' in c) {
    const [ref, values] = c.in;
    const read = reader(ref.doc);
    const set = new Set(values);
    return (e) => {
      const v = read(e);
      return v !== null && set.has(v);
    };
  }
  const [ref, { pattern }] = c.regexp;
  const read = reader(ref.doc);
  const re = compilePattern(pattern);
  return (e) => {
    const v = read(e);
    return v !== null && re.test(v.slice(0, MAX_VALUE_LENGTH));
  };
}
