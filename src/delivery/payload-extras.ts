import type { Changes } from '../events/changes.ts';
import { actorOf, type Actor, type HeraldEvent } from '../events/event.ts';

export interface HeraldExtras {
  actor: Actor;
  changes?: Changes | Omit<Changes, 'fields'>;
}

/**
 * What both formats add to a payload: `actor`, and `changes` for events that have them. A concise
 * payload carries no content, so its `changes` name the paths without their values.
 */
export function heraldExtras(event: HeraldEvent, concise: boolean): HeraldExtras {
  const out: HeraldExtras = { actor: actorOf(event) };
  if (event.changes) out.changes = concise ? { paths: event.changes.paths, truncated: event.changes.truncated } : event.changes;
  return out;
}
