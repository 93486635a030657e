import { isOperational, type HeraldEvent } from '../events/event.ts';
import type { Queryable } from '../store/db.ts';
import { parseChannel, type Channel } from './channels.ts';
import { compileConditions, type ConditionTest } from './conditions.ts';
import { loadEnabled } from './store.ts';
import { branchesOf, type Webhook } from './webhook.ts';

/** A webhook that matched an event, and the channel (or topic) through which it matched. */
export interface Match {
  webhook: Webhook;
  channel: string;
}

/**
 * The in-memory index of each stack's enabled webhooks, with channel patterns and conditions
 * compiled once, so matching is cheap enough to run inside the event's transaction.
 */
export interface WebhookIndex {
  match(q: Queryable, event: HeraldEvent): Match[] | Promise<Match[]>;
  /** Drops a stack's compiled webhooks; the next match reloads them. Call after a webhook changes. */
  invalidate(apiKey: string): void;
}

interface Compiled {
  webhook: Webhook;
  channels: Channel[];
  /** Null: every branch (Webhook.all_branches). */
  branches: ReadonlySet<string> | null;
  conditions: ConditionTest;
}

/**
 * A stack's webhooks are loaded on its first event through the `q` given to match() (the event's
 * transaction, so they are read consistently with it) and kept until invalidate(). A load that
 * raced with an invalidate is not kept: each stack has a generation that invalidate() bumps, and a
 * load is cached only if the generation it started under is still current.
 *
 * One process's cache: with several processes on one database (PostgreSQL), a change made by
 * another process is seen after that process's invalidation reaches this one (not yet wired).
 */
export function createWebhookIndex(): WebhookIndex {
  const cache = new Map<string, Compiled[]>();
  const generations = new Map<string, number>();

  async function compiledFor(q: Queryable, apiKey: string): Promise<Compiled[]> {
    const hit = cache.get(apiKey);
    if (hit) return hit;
    const generation = generations.get(apiKey) ?? 0;
    const list = (await loadEnabled(q, apiKey)).map(compile);
    if ((generations.get(apiKey) ?? 0) === generation) cache.set(apiKey, list);
    return list;
  }

  /** The webhooks of `list` that match `event`. */
  function matchIn(list: Compiled[], event: HeraldEvent): Match[] {
    const matches: Match[] = [];
    const operational = isOperational(event);
    for (const c of list) {
      // Operational events belong to no branch (src/events/operational.ts).
      if (!operational && c.branches && !c.branches.has(event.branch)) continue;
      if (event.contentful_repeat && c.webhook.format === 'contentful') continue;
      const channel = c.channels.find((ch) => ch.matches(event));
      if (!channel || !c.conditions(event)) continue;
      matches.push({ webhook: c.webhook, channel: channel.text });
    }
    return matches;
  }

  return {
    // A stack already loaded matches at once, without a promise (it runs for every event).
    match(q, event) {
      const hit = cache.get(event.api_key);
      return hit ? matchIn(hit, event) : compiledFor(q, event.api_key).then((list) => matchIn(list, event));
    },
    invalidate(apiKey) {
      cache.delete(apiKey);
      generations.set(apiKey, (generations.get(apiKey) ?? 0) + 1);
    },
  };
}

/**
 * Compiles one stored webhook. Channels and conditions were validated when it was saved; one that
 * no longer compiles (a grammar change between versions) matches nothing rather than failing the
 * event's transaction.
 */
function compile(webhook: Webhook): Compiled {
  const channels = webhook.channels.map(parseChannel).filter((c): c is Channel => typeof c !== 'string');
  let conditions: ConditionTest;
  try {
    conditions = compileConditions(webhook.conditions ?? []);
  } catch {
    conditions = () => false;
  }
  const branches = branchesOf(webhook);
  return { webhook, channels, branches: branches && new Set(branches), conditions };
}
