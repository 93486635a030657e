import { parseFlag } from '../content/read-query.ts';
import { Flag } from './schemas.ts';

/**
 * Contentstack's `include_branch=true` on the management API's entries, assets, content types and
 * global fields (reads, creates, updates, archive, versions): each entity answered carries `_branch`,
 * the uid of the branch it is on (the `branch` header's, main by default), as the delivery API's do
 * (src/published/contentstack.ts); an answer with no entity in it (publish, unpublish, bulk) carries
 * it at its top level (Contentstack: "include the _branch top-level key in the response"), the branch
 * the action was taken on. false (the default) leaves it out.
 */
export const INCLUDE_BRANCH = { include_branch: Flag('true: each entity answered carries `_branch`, the branch it is on (default false)') };

/** Adds `_branch` to each of `items` when the query asks for it (a 422 naming include_branch for a value other than true/false). */
export function branchOn<T extends object>(items: T[], query: Record<string, unknown>, branch: string): T[] {
  return parseFlag(query.include_branch, 'include_branch') ? items.map((i) => ({ ...i, _branch: branch })) : items;
}

/** branchOn for one entity. */
export function branchOnOne<T extends object>(item: T, query: Record<string, unknown>, branch: string): T {
  return branchOn([item], query, branch)[0];
}

/** branchOn for an answer with no entity in it (publish, unpublish, bulk): `_branch` at its top level. */
export function branchOnAnswer<T extends object>(answer: T, query: Record<string, unknown>, branch: string): T {
  return parseFlag(query.include_branch, 'include_branch') ? { ...answer, _branch: branch } : answer;
}
