import { useState } from 'preact/hooks';
import { errorText, post } from '../api.ts';
import { Badge, Code, Dialog, HeaderTable, Spinner } from './ui.tsx';

/** One event of a preview, as POST /v3/webhooks/preview answers (src/delivery/preview.ts). */
interface PreviewEvent {
  seq: number;
  event: string;
  uid: string;
  branch: string;
  event_channel: string;
  triggered_at: string;
  matches: boolean;
  channel?: string;
  reason?: 'branch' | 'repeat' | 'channel' | 'condition';
  message?: string;
  request?: { method: string; url: string; headers: Record<string, string>; body: string; truncated: boolean };
}

interface Preview {
  total: number;
  matched: number;
  disabled: boolean;
  events: PreviewEvent[];
}

/**
 * The webhook form's Preview: runs the form as it stands (unsaved) over the stack's last 50 events
 * and shows, for each, whether it would be sent and why not, and the request it would make.
 * `body` is the form as the save request would send it; `uid` the webhook being edited, whose
 * stored secrets the preview uses without showing them.
 */
export function WebhookPreview(props: { body: () => { webhook: Record<string, unknown> } | null; uid?: string }) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<Preview | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [shown, setShown] = useState<number | null>(null);

  const run = async () => {
    const body = props.body();
    if (!body) return;
    setOpen(true);
    setBusy(true);
    setError(null);
    setResult(null);
    setShown(null);
    try {
      const r = await post<{ preview: Preview }>('/v3/webhooks/preview', { ...body, ...(props.uid ? { webhook_uid: props.uid } : {}), last: 50 });
      setResult(r.preview);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <button type="button" class="btn" onClick={run} disabled={busy}>
        Preview
      </button>
      {open && (
        <Dialog title="Preview: the last 50 events" class="wide" onClose={() => setOpen(false)}>
          {busy && <Spinner label="Trying the webhook on recent events…" />}
          {error ? (
            <p class="error" role="alert">
              {errorText(error)}
            </p>
          ) : null}
          {result && (
            <div class="preview">
              <p>
                {result.matched} of {result.total} events would be sent.{result.disabled ? ' The webhook is disabled: nothing is sent until it is enabled.' : ''}
              </p>
              <table class="preview-events">
                <thead>
                  <tr>
                    <th scope="col">Event</th>
                    <th scope="col">Entity</th>
                    <th scope="col">Sent?</th>
                    <th scope="col"></th>
                  </tr>
                </thead>
                <tbody>
                  {result.events.map((e, i) => (
                    <tr key={e.seq} class={e.matches ? 'match' : 'no-match'}>
                      <td class="mono">{e.event_channel}</td>
                      <td class="mono">
                        {e.uid}
                        {e.branch !== 'main' ? ` (${e.branch})` : ''}
                      </td>
                      <td>{e.matches ? <Badge kind="good">via {e.channel}</Badge> : <span class="muted">No: {e.message}</span>}</td>
                      <td>
                        {e.request && (
                          <button type="button" class="btn btn-small" aria-expanded={shown === i} onClick={() => setShown(shown === i ? null : i)}>
                            {shown === i ? 'Hide request' : 'Show request'}
                          </button>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {shown !== null && result.events[shown]?.request && (
                <section class="preview-request" aria-label="The request it would send">
                  <h3>
                    {result.events[shown].request!.method} {result.events[shown].request!.url}
                  </h3>
                  <HeaderTable headers={result.events[shown].request!.headers} caption="Request headers" />
                  <Code value={result.events[shown].request!.body} label="Request body" />
                  {result.events[shown].request!.truncated && <p class="muted">The body is cut at 64 KiB here.</p>}
                </section>
              )}
            </div>
          )}
        </Dialog>
      )}
    </>
  );
}
