import type { Changes } from '../events/changes.ts';
import { actorOf, type Actor, type HeraldEvent } from '../events/event.ts';

export interface HeraldExtras {
  actor: Actor;
  changes?: Changes | Omit<Changes, 'fields'>;
  folded_seqs?: number[];
}

/**
 * What both formats add to a payload: `actor`, `changes` for events that have them, and
 * `folded_seqs` for a delivery that folded older changes (debounce). A concise
 * payload carries no content, so its `changes` name the paths without their values.
 */
export function heraldExtras(event: HeraldEvent, concise: boolean): HeraldExtras {
  const out: HeraldExtras = { actor: actorOf(event) };
  if (event.changes) out.changes = concise ? { paths: event.changes.paths, truncated: event.changes.truncated } : event.changes;
  // Debounce: the older changes this delivery stands for (their seqs), so none goes unnoticed.
  if (event.folded_seqs?.length) out.folded_seqs = event.folded_seqs;
  return out;
}
