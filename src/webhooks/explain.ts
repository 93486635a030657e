import { isOperational, type HeraldEvent } from '../events/event.ts';
import { eventChannel, parseChannel, type Channel } from './channels.ts';
import { compileConditionExplainer } from './conditions.ts';
import { branchesOf, type Condition, type Webhook } from './webhook.ts';

/**
 * Whether a webhook matches an event and, when not, why: the same tests as the match index
 * (src/webhooks/match-index.ts), in its order (branch, repeat, channel, conditions), each failure named.
 * Used by the preview of an unsaved webhook and by replays of the events a webhook matches; a test keeps
 * it in step with the index.
 *
 * Pure.
 */
export type MatchExplanation =
  | { matches: true; channel: string }
  | { matches: false; reason: 'branch' | 'repeat' | 'channel' | 'condition'; message: string; condition?: number };

export function compileExplainer(webhook: Pick<Webhook, 'channels' | 'branches' | 'all_branches' | 'conditions' | 'format'>): (event: HeraldEvent) => MatchExplanation {
  const branches = branchesOf(webhook);
  const channels = webhook.channels.map(parseChannel).filter((c): c is Channel => typeof c !== 'string');
  const conditions: readonly Condition[] = webhook.conditions ?? [];
  const failing = compileConditionExplainer(conditions);
  const contentful = webhook.format === 'contentful';
  return (event) => {
    if (branches && !isOperational(event) && !branches.includes(event.branch)) {
      return { matches: false, reason: 'branch', message: `the event is on branch ${event.branch}, not ${branches.join(', ')}` };
    }
    if (event.contentful_repeat && contentful) {
      return { matches: false, reason: 'repeat', message: `a Contentful-format webhook gets one call per ${event.action} of an asset, as Contentful sends: this event repeats, in locale ${event.locale}, the ${event.action} its request recorded in another locale` };
    }
    const channel = channels.find((c) => c.matches(event));
    if (!channel) return { matches: false, reason: 'channel', message: `no channel matches ${eventChannel(event)}` };
    const i = failing(event);
    if (i !== null) return { matches: false, reason: 'condition', condition: i, message: `condition ${i} does not hold: ${JSON.stringify(conditions[i])}` };
    return { matches: true, channel: channel.text };
  };
}
