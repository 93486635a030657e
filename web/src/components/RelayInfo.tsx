import { currentSession, errorText, get } from '../api.ts';
import { Spinner, useLoad } from './ui.tsx';

/** GET /v3/webhooks/listen without Upgrade: the stack's relay webhooks and their listeners on this process. */
interface RelayList {
  relay_webhooks: Array<{ uid: string; listeners: number }>;
}

/** The command a developer runs to receive a relay webhook's calls on their machine. */
export function listenCommand(origin: string, apiKey: string, uid: string): string {
  return [`HERALD_API_KEY=${apiKey} HERALD_TOKEN=<a management token> \\`, `  npx herald listen --url ${origin} --webhook ${uid} --to http://localhost:3000/hook`].join('\n');
}

/**
 * A relay webhook (target `relay:`) on its form: what it means, whether a `herald listen` is
 * connected now (to the Herald process that answered), and the command that connects one. Without
 * a listener each attempt fails ("no herald listen is connected") and is retried as usual.
 */
export function RelayInfo(props: { uid?: string }) {
  const listeners = useLoad(
    async () => (props.uid ? ((await get<RelayList>('/v3/webhooks/listen')).relay_webhooks.find((w) => w.uid === props.uid)?.listeners ?? 0) : null),
    [props.uid],
  );
  const n = listeners.data;
  return (
    <div class="relay-info" role="group" aria-label="Relay">
      <p>
        <strong>Relay webhook.</strong> Herald connects to no address: each call goes, exactly as it would be sent (signature and authentication
        included), to a <code>herald listen</code> running on a developer machine, which passes it to a local URL and sends the answer back for the log.
      </p>
      {!props.uid ? (
        <p class="hint">Once the webhook is created, its page shows the command that connects a listener to it.</p>
      ) : (
        <>
          <p role="status" class={n ? 'ok-text' : 'warn-text'}>
            {listeners.error ? (
              `Listeners could not be read: ${errorText(listeners.error)}`
            ) : n === undefined || listeners.loading ? (
              <Spinner label="Looking for listeners…" />
            ) : n ? (
              `${n} listener${n === 1 ? '' : 's'} connected now.`
            ) : (
              'No herald listen is connected now: calls fail and are retried on the usual schedule until one connects.'
            )}{' '}
            <button type="button" class="link-btn small" onClick={() => listeners.reload()}>
              Check again
            </button>
          </p>
          <pre class="code example" tabIndex={0} aria-label="Command that connects a listener">
            <code>{listenCommand(location.origin, currentSession()?.api_key ?? '', props.uid)}</code>
          </pre>
        </>
      )}
    </div>
  );
}
