/**
 * The delivery token form's rules, pure so they are tested without a browser: the draft of a
 * token being edited, what the form checks before asking the server, the body it sends
 * (Contentstack's shape, for POST and PUT alike), which problems an edit fixes, and the example
 * request shown with a new token.
 */

export interface DeliveryTokenDraft {
  name: string;
  description: string;
  /** Environment names the token reads. */
  environments: string[];
  /** Branch uids it reads (`main` unless the stack has more). */
  branches: string[];
}

/** What the screen reads of a delivery token as GET /v3/stacks/delivery_tokens lists it (Contentstack's shape). */
export interface ListedDeliveryToken {
  name: string;
  description: string;
  /** Environments by uid, with their name (null: the environment was deleted since). */
  scope: Array<{ module: string; environments?: Array<{ uid: string; name: string | null }>; branches?: string[] }>;
}

/** The names of the environments the token reads (the uid of one deleted since). */
export const environmentsOf = (t: ListedDeliveryToken): string[] => t.scope.find((s) => s.module === 'environment')?.environments?.map((e) => e.name ?? e.uid) ?? [];

/** The branches the token reads. */
export const branchesOf = (t: ListedDeliveryToken): string[] => t.scope.find((s) => s.module === 'branch')?.branches ?? [];

/**
 * The form's draft to edit `t`: its environments among the stack's `environments` (one deleted
 * since is left out: the server would refuse its name), its branches (main when it names none).
 */
export function draftOf(t: ListedDeliveryToken, environments: Array<{ uid: string; name: string }>): DeliveryTokenDraft {
  const reads = new Set(t.scope.find((s) => s.module === 'environment')?.environments?.map((e) => e.uid) ?? []);
  const branches = branchesOf(t);
  return {
    name: t.name,
    description: t.description ?? '',
    environments: environments.filter((e) => reads.has(e.uid)).map((e) => e.name),
    branches: branches.length ? branches : ['main'],
  };
}

/** Problems visible before asking the server, keyed as the API keys them. */
export function deliveryTokenProblems(d: DeliveryTokenDraft): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  if (!d.name.trim()) out['token.name'] = ['is required: name the site or app that will use it'];
  if (d.environments.length === 0) out['token.scope'] = ['pick at least one environment: a delivery token reads what is published there'];
  if (d.branches.length === 0) out['token.scope[1].branches'] = ['pick at least one branch'];
  return out;
}

/** POST /v3/stacks/delivery_tokens (and PUT .../{uid}), as Contentstack's `stack.deliveryToken().create()` sends it. */
export function deliveryTokenBody(d: DeliveryTokenDraft) {
  return {
    token: {
      name: d.name.trim(),
      description: d.description.trim(),
      scope: [
        { module: 'environment', environments: d.environments, acl: { read: true } },
        { module: 'branch', branches: d.branches, acl: { read: true } },
      ],
    },
  };
}

/** The API's field paths each part of the form answers for. */
const PATHS: Record<keyof DeliveryTokenDraft, RegExp> = {
  name: /^token\.name$/,
  description: /^token\.description$/,
  environments: /^token\.scope(\[\d+\]\.environments)?$/,
  branches: /^token\.scope\[\d+\]\.branches$/,
};

/**
 * The field problems left once the user edited `changed`: the problems of those fields go as soon
 * as they are edited, not at the next submit.
 */
export function problemsLeft(fields: Record<string, string[]>, changed: Array<keyof DeliveryTokenDraft>): Record<string, string[]> {
  return Object.fromEntries(Object.entries(fields).filter(([k]) => !changed.some((c) => PATHS[c].test(k))));
}

/** A request reading the entries of a content type with the new token (curl), for the dialog that shows it. */
export function readExample(origin: string, apiKey: string, environment: string, token: string, contentType = '{content_type_uid}'): string {
  return [
    `curl '${origin}/v3/content_types/${contentType}/entries?environment=${encodeURIComponent(environment)}' \\`,
    `  -H 'api_key: ${apiKey}' \\`,
    `  -H 'access_token: ${token}'`,
  ].join('\n');
}
