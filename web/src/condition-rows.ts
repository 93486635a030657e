/**
 * The Conditional View's condition rows: "field, operator, value", each one Contentful-style
 * condition of the webhook (src/webhooks/conditions.ts): `equals`, `in` (a comma-separated value),
 * `regexp`, each also negated with `not`, and `changed` (field paths). Conditions a row cannot say
 * (a `not` of a `not`, say) stay as they are and are edited in the Code View. Pure.
 */

export type Operator = 'equals' | 'not_equals' | 'in' | 'not_in' | 'regexp' | 'not_regexp' | 'changed';

export interface ConditionRow {
  /** The event property (`doc`): environment, content_type, locale, ... Unused by `changed`. */
  field: string;
  operator: Operator;
  /** The value; for `in` and `changed` a comma-separated list. */
  value: string;
}

/** Properties offered in the field menu, with their words (the Code View accepts the rest). */
export const CONDITION_FIELDS: Array<[string, string]> = [
  ['environment', 'Environment (publish and unpublish)'],
  ['content_type', 'Content type'],
  ['locale', 'Locale'],
  ['uid', 'Entry or asset uid'],
  ['branch', 'Branch'],
  ['actor.name', 'Changed by (token name)'],
  ['actor.type', 'Changed with (management_token or admin)'],
  ['created_by', 'Created by (token uid)'],
];

export const OPERATOR_LABELS: Record<Operator, string> = {
  equals: 'is',
  not_equals: 'is not',
  in: 'is one of',
  not_in: 'is none of',
  regexp: 'matches the pattern',
  not_regexp: 'does not match the pattern',
  changed: 'changed fields include',
};

export const emptyCondition = (): ConditionRow => ({ field: 'environment', operator: 'equals', value: '' });

const list = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** A row as a condition; null while it is incomplete (no value yet). */
export function toCondition(row: ConditionRow): unknown | null {
  if (!row.value.trim()) return null;
  const doc = { doc: row.field };
  const base = row.operator.replace(/^not_/, '');
  let c: unknown;
  if (row.operator === 'changed') return { changed: list(row.value) };
  if (base === 'equals') c = { equals: [doc, row.value.trim()] };
  else if (base === 'in') c = { in: [doc, list(row.value)] };
  else c = { regexp: [doc, { pattern: row.value }] };
  return row.operator.startsWith('not_') ? { not: c } : c;
}

/** A condition as a row, or null when a row cannot say it. */
export function fromCondition(c: unknown): ConditionRow | null {
  if (!c || typeof c !== 'object' || Array.isArray(c)) return null;
  const keys = Object.keys(c);
  if (keys.length !== 1) return null;
  const op = keys[0]!;
  const arg = (c as Record<string, unknown>)[op];
  if (op === 'changed') return Array.isArray(arg) && arg.every((x) => typeof x === 'string') ? { field: '', operator: 'changed', value: arg.join(', ') } : null;
  if (op === 'not') {
    const inner = fromCondition(arg);
    if (!inner || inner.operator.startsWith('not_') || inner.operator === 'changed') return null;
    return { ...inner, operator: `not_${inner.operator}` as Operator };
  }
  if (!Array.isArray(arg) || arg.length !== 2) return null;
  const doc = (arg[0] as { doc?: unknown } | null)?.doc;
  if (typeof doc !== 'string') return null;
  const operand = arg[1];
  if (op === 'equals' && typeof operand === 'string') return { field: doc, operator: 'equals', value: operand };
  if (op === 'in' && Array.isArray(operand) && operand.every((x) => typeof x === 'string' && !x.includes(','))) return { field: doc, operator: 'in', value: operand.join(', ') };
  if (op === 'regexp' && typeof (operand as { pattern?: unknown })?.pattern === 'string') return { field: doc, operator: 'regexp', value: (operand as { pattern: string }).pattern };
  return null;
}

/** Splits conditions into rows and the ones only the Code View can edit. */
export function splitConditions(conditions: unknown[]): { rows: ConditionRow[]; other: unknown[] } {
  const rows: ConditionRow[] = [];
  const other: unknown[] = [];
  for (const c of conditions) {
    const row = fromCondition(c);
    if (row) rows.push(row);
    else other.push(c);
  }
  return { rows, other };
}
