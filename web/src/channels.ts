import { parseChannel } from '../../src/webhooks/channels.ts';
import { conditionProblems } from '../../src/webhooks/conditions.ts';

/**
 * The "When" section of the webhook form. Two views of one value, `{ channels, conditions }`:
 *
 * - the Conditional View: rows of module, action, content type and entry (or asset), each row one
 *   Contentstack channel (seed 003): `content_types.blog.entries.publish`, `assets.delete`...
 * - the Code View: the same value as JSON, checked as the user types with the server's own channel
 *   grammar and condition rules (imported, not copied, so the two never disagree).
 *
 * Channels a row cannot express (Contentful topics such as `Entry.*`) stay in the list as they are
 * and are shown apart ("other channels"). Pure.
 */

export type RowModule = 'entry' | 'asset' | 'content_type';

export interface ChannelRow {
  module: RowModule;
  /** A Herald action: create, update, auto_save, publish, publish.fail... */
  action: string;
  /** Content type uid; '' = any. Entries and content types only. */
  contentType: string;
  /** Entry uid (with a content type) or asset uid; '' = any. */
  uid: string;
}

export const MODULE_LABELS: Record<RowModule, string> = { entry: 'Entry', asset: 'Asset', content_type: 'Content type' };

/** What can happen to each module (seed 002's table, with Contentstack's publish.fail and unpublish.fail). */
export const MODULE_ACTIONS: Record<RowModule, string[]> = {
  entry: ['create', 'update', 'auto_save', 'archive', 'unarchive', 'publish', 'publish.fail', 'unpublish', 'unpublish.fail', 'delete'],
  asset: ['create', 'update', 'auto_save', 'archive', 'unarchive', 'publish', 'publish.fail', 'unpublish', 'unpublish.fail', 'delete'],
  content_type: ['create', 'update', 'publish', 'unpublish', 'delete'],
};

export const ACTION_LABELS: Record<string, string> = {
  create: 'is created',
  update: 'is saved',
  auto_save: 'is auto-saved',
  archive: 'is archived',
  unarchive: 'is unarchived',
  publish: 'is published',
  'publish.fail': 'fails to publish',
  unpublish: 'is unpublished',
  'unpublish.fail': 'fails to unpublish',
  delete: 'is deleted',
};

export function emptyRow(): ChannelRow {
  return { module: 'entry', action: 'publish', contentType: '', uid: '' };
}

/** The channel a row stands for. */
export function rowToChannel(row: ChannelRow): string {
  switch (row.module) {
    case 'asset':
      return row.uid ? `assets.${row.uid}.${row.action}` : `assets.${row.action}`;
    case 'content_type':
      return row.contentType ? `content_types.${row.contentType}.${row.action}` : `content_types.${row.action}`;
    case 'entry':
      if (!row.contentType) return `content_types.entries.${row.action}`;
      return row.uid ? `content_types.${row.contentType}.entries.${row.uid}.${row.action}` : `content_types.${row.contentType}.entries.${row.action}`;
  }
}

const ALL_ACTIONS = [...new Set(Object.values(MODULE_ACTIONS).flat())].sort((a, b) => b.length - a.length);

/** The row a channel stands for, or null when no row can express it (a Contentful topic, say). */
export function channelToRow(channel: string): ChannelRow | null {
  if (typeof parseChannel(channel) === 'string') return null;
  // The action may hold a dot (publish.fail): take the longest known action the channel ends with.
  const action = ALL_ACTIONS.find((a) => channel.endsWith('.' + a));
  if (!action) return null;
  const parts = channel.slice(0, -action.length - 1).split('.');
  const [root, a, b, c] = parts;
  let row: ChannelRow | null = null;
  if (root === 'assets' && parts.length <= 2) row = { module: 'asset', action, contentType: '', uid: a ?? '' };
  else if (root === 'content_types') {
    if (parts.length === 1) row = { module: 'content_type', action, contentType: '', uid: '' };
    else if (parts.length === 2) row = a === 'entries' ? { module: 'entry', action, contentType: '', uid: '' } : { module: 'content_type', action, contentType: a, uid: '' };
    else if (b === 'entries' && parts.length <= 4) row = { module: 'entry', action, contentType: a, uid: c ?? '' };
  }
  if (!row || !MODULE_ACTIONS[row.module].includes(action)) return null;
  return rowToChannel(row) === channel ? row : null;
}

/** A channel in words for lists: "Entry of blog is published", "Any asset is deleted". */
export function describeChannel(channel: string): string {
  const row = channelToRow(channel);
  if (!row) return describeTopic(channel) ?? channel;
  const what = ACTION_LABELS[row.action] ?? row.action;
  switch (row.module) {
    case 'asset':
      return row.uid ? `Asset ${row.uid} ${what}` : `Any asset ${what}`;
    case 'content_type':
      return row.contentType ? `Content type ${row.contentType} ${what}` : `Any content type ${what}`;
    case 'entry':
      if (!row.contentType) return `Any entry ${what}`;
      return row.uid ? `Entry ${row.uid} of ${row.contentType} ${what}` : `An entry of ${row.contentType} ${what}`;
  }
}

const TOPIC_TYPES: Record<string, [string, string]> = {
  Entry: ['Any entry', 'entry'],
  Asset: ['Any asset', 'asset'],
  ContentType: ['Any content type', 'content type'],
  '*': ['Anything', 'anything'],
};
const TOPIC_ACTIONS: Record<string, string> = { ...ACTION_LABELS, save: ACTION_LABELS.update };

/** A Contentful topic in words ("Any entry is published", "Every entry event"), or null. */
function describeTopic(topic: string): string | null {
  const m = /^(Entry|Asset|ContentType|\*)\.([a-z_]+|\*)$/.exec(topic);
  if (!m) return null;
  const [any, noun] = TOPIC_TYPES[m[1]];
  if (m[2] === '*') return m[1] === '*' ? 'Every event' : `Every ${noun} event`;
  const what = TOPIC_ACTIONS[m[2]];
  return what ? `${any} ${what}` : null;
}

/** Splits channels into rows (what the Conditional View edits) and the rest (kept as they are). */
export function splitChannels(channels: readonly string[]): { rows: ChannelRow[]; other: string[] } {
  const rows: ChannelRow[] = [];
  const other: string[] = [];
  for (const c of channels) {
    const row = channelToRow(c);
    if (row) rows.push(row);
    else other.push(c);
  }
  return { rows, other };
}

/** Rows and the untouched rest back into one list of channels, without duplicates. */
export function joinChannels(rows: readonly ChannelRow[], other: readonly string[]): string[] {
  return [...new Set([...rows.map(rowToChannel), ...other])];
}

export interface When {
  channels: string[];
  conditions: unknown[];
}

/** The Code View's text for a value. */
export function whenToCode(when: When): string {
  return JSON.stringify({ channels: when.channels, conditions: when.conditions }, null, 2);
}

/**
 * Reads the Code View as the user types: the value when it is valid, else every problem in words
 * (bad JSON with its position, unknown keys, each bad channel, each bad condition).
 */
export function parseWhenCode(text: string): { value: When | null; problems: string[] } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { value: null, problems: [`Not valid JSON: ${(err as Error).message}`] };
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    return { value: null, problems: ['Write an object: { "channels": [...], "conditions": [...] }'] };
  }
  const obj = raw as Record<string, unknown>;
  const problems: string[] = [];
  for (const k of Object.keys(obj)) if (k !== 'channels' && k !== 'conditions') problems.push(`"${k}" is not known here: only channels and conditions`);
  const channels = obj.channels;
  if (!Array.isArray(channels) || channels.length === 0) problems.push('channels must list at least one channel, e.g. "content_types.entries.publish"');
  else {
    channels.forEach((c, i) => {
      const parsed = parseChannel(c);
      if (typeof parsed === 'string') problems.push(`channels[${i}] ${parsed}`);
    });
  }
  const conditions = obj.conditions ?? [];
  for (const [path, list] of Object.entries(conditionProblems(conditions))) {
    for (const p of list) problems.push(`conditions${path ? '.' + path : ''} ${p}`);
  }
  if (problems.length) return { value: null, problems };
  return { value: { channels: [...new Set(channels as string[])], conditions: conditions as unknown[] }, problems: [] };
}
