import type { JobAction } from './event.ts';

/**
 * The `data` of a job event (module `job`): what a bulk job did, item by item, recorded once the
 * job's items are done (src/content/bulk.ts), modelled on Contentstack's job-based publish and
 * unpublish webhooks, whose payload carries the `job_id` and a summary. A receiver that rebuilds a
 * site on this event gets one call per job (and environment) instead of one per item.
 *
 * Pure.
 */
export type JobKind = 'publish' | 'unpublish' | 'delete';

/** One item of a job as it ended, in the environment of the job event (all of them for delete). */
export interface JobItem {
  type: 'entry' | 'asset';
  uid: string;
  /** Entries: their content type, as the request named it. */
  content_type_uid?: string;
  /** The locale published to or unpublished from; for delete, the entry line deleted (absent: all). */
  locale?: string;
  status: 'success' | 'failed';
  /** The item's own event (`publish`, `publish.fail`, `delete`, ...); absent when none was recorded. */
  event?: string;
  /** The seq of the item's own event, when one was recorded. */
  seq?: number;
  /** Why it failed. */
  reason?: string;
}

export interface JobData {
  job_id: string;
  type: JobKind;
  status: 'completed';
  /** The environment this event reports (publish and unpublish jobs: one event per environment). */
  environment?: { name: string; uid: string };
  /** Locales the job acted in (publish and unpublish). */
  locales?: string[];
  counts: { total: number; success: number; failed: number };
  items: JobItem[];
  /** ISO 8601: when the job was received, and when its items were done. */
  created_at: string;
  completed_at: string;
  /** When a scheduled job was due (ISO 8601); absent for a job run at once. */
  scheduled_at?: string;
}

export const jobAction = (kind: JobKind): JobAction => `${kind}.completed`;

export function jobData(job: Omit<JobData, 'status' | 'counts'>): JobData {
  const failed = job.items.filter((i) => i.status === 'failed').length;
  return { ...job, status: 'completed', counts: { total: job.items.length, success: job.items.length - failed, failed } };
}
