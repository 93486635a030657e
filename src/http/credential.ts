import type { FastifyRequest } from 'fastify';
import type { ConstraintStrategy, HTTPVersion } from 'find-my-way';

/**
 * Delivery and management requests share paths (`GET /v3/content_types/{uid}/entries` is both
 * Contentstack APIs' route) and one port; the credential tells them apart. A route constraint
 * (find-my-way's custom constraints) sends a request carrying `access_token` and no management
 * credential (`authorization`, `authtoken`), or a Contentful delivery or preview key as its
 * Bearer token (told apart by its prefix), to the routes registered with
 * `constraints: { credential: 'delivery' }`; every other request to the unconstrained routes.
 */
export const DELIVERY = { credential: 'delivery' } as const;

const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

/** Contentful delivery and preview API keys (src/published/contentful-keys.ts) start with these. */
const CONTENTFUL_KEY = /^Bearer\s+(cfdlv_|cfprv_)/i;

export function credentialOf(headers: FastifyRequest['headers']): 'delivery' | undefined {
  const authorization = first(headers.authorization);
  if (authorization) return CONTENTFUL_KEY.test(authorization) ? 'delivery' : undefined;
  return first(headers.access_token) && !first(headers.authtoken) ? 'delivery' : undefined;
}

/** The constraint strategy, for `Fastify({ constraints })`. */
type Strategy = ConstraintStrategy<HTTPVersion.V1, string>;
type Store = ReturnType<ReturnType<Strategy['storage']>['get']>;

export const credentialConstraint: Strategy = {
  name: 'credential',
  storage() {
    const handlers = new Map<string, Store>();
    return {
      get: (value: string) => handlers.get(value) ?? null,
      set: (value: string, store: Store) => void handlers.set(value, store),
    };
  },
  deriveConstraint: (req) => credentialOf(req.headers) as string,
  // A request without a delivery credential still finds the unconstrained (management) route.
  mustMatchWhenDerived: false,
  validate(value: unknown) {
    if (value !== 'delivery') throw new Error('credential constraint: only "delivery"');
  },
};
