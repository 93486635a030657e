/**
 * The target URL of a relay webhook: its deliveries go to `herald listen` over the WebSocket the
 * listener opened (src/delivery/relay.ts), never over HTTP to an address. Accepted as a webhook's
 * `target_url` exactly as written here; the private-address rules have nothing to check.
 */
export const RELAY_TARGET = 'relay:';

/** Whether a webhook delivers through `herald listen`. */
export function isRelayWebhook(w: { destinations: Array<{ target_url: string }> }): boolean {
  return w.destinations[0]?.target_url === RELAY_TARGET;
}
