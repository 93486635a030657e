import { useState } from 'preact/hooks';
import { errorText, post } from '../api.ts';
import { Code, Dialog, Field, Spinner, valueOf } from './ui.tsx';

/** What POST /v3/webhooks/{uid}/test answers (src/http/routes/executions.ts). */
interface TestResult {
  notice: string;
  test: {
    outcome: string;
    status: number | null;
    duration_ms: number;
    event?: { channel: string; event: string; uid: string; example: boolean };
    request: { body: string };
  };
}

/**
 * "Send test event": sends a saved webhook the event it would get for a channel the user picks
 * (content_types.blog.entries.publish, Entry.save, ...), built from an entity when its uid is given
 * or else from a generated example, marked x-herald-test: 1; shows the outcome and the body sent.
 */
export function TestEvent(props: { uid: string; channels: string[] }) {
  const [open, setOpen] = useState(false);
  const [channel, setChannel] = useState(props.channels.find((c) => !c.includes('*')) ?? 'content_types.entries.update');
  const [entity, setEntity] = useState('');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<TestResult | null>(null);
  const [error, setError] = useState<unknown>(null);

  const send = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      setResult(await post<TestResult>(`/v3/webhooks/${encodeURIComponent(props.uid)}/test`, { channel: channel.trim(), ...(entity.trim() ? { uid: entity.trim() } : {}) }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <button type="button" class="btn" onClick={() => setOpen(true)}>
        Send test event…
      </button>
      {open && (
        <Dialog title="Send a test event" class="wide" onClose={() => setOpen(false)}>
          <form onSubmit={send} class="test-event">
            <Field label="Channel" hint="One kind of event: content_types.blog.entries.publish, assets.update, Entry.save, …">
              {(id, describedBy) => <input id={id} aria-describedby={describedBy} class="mono" value={channel} onInput={(e) => setChannel(valueOf(e))} list="test-event-channels" />}
            </Field>
            <datalist id="test-event-channels">
              {props.channels.map((c) => (
                <option key={c} value={c} />
              ))}
            </datalist>
            <Field label="Entry, asset or content type uid (optional)" hint="Empty: a generated example of the content type.">
              {(id, describedBy) => <input id={id} aria-describedby={describedBy} class="mono" value={entity} onInput={(e) => setEntity(valueOf(e))} />}
            </Field>
            <div class="actions">
              <button type="submit" class="btn btn-primary" disabled={busy || !channel.trim()}>
                {busy ? <Spinner label="Sending…" /> : 'Send'}
              </button>
            </div>
          </form>
          {error ? (
            <p class="error" role="alert">
              {errorText(error)}
            </p>
          ) : null}
          {result && (
            <section aria-label="Test event result">
              <p role="status">
                {result.notice} ({result.test.status ?? 'no response'}, {result.test.duration_ms} ms)
                {result.test.event ? ` ${result.test.event.event} of ${result.test.event.example ? 'a generated example' : result.test.event.uid}.` : ''}
              </p>
              <Code value={result.test.request.body} label="Body sent" />
            </section>
          )}
        </Dialog>
      )}
    </>
  );
}
