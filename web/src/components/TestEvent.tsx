import { useState } from 'preact/hooks';
import { errorText, get, post } from '../api.ts';
import { entryLabel, matchingEntries, type CatalogEntry } from '../catalog.ts';
import { Code, Dialog, Field, Spinner, useLoad, valueOf } from './ui.tsx';

/** The entities a channel's events are about, to build a test event from: entries of its content type, assets, or content types. */
async function entitiesOf(channel: string): Promise<Array<{ uid: string; title: string }>> {
  const parts = channel.split('.');
  const named = (list: Array<Record<string, any>>) => list.map((x) => ({ uid: String(x.uid), title: String(x.title ?? x.filename ?? x.uid) }));
  if (parts[0] === 'assets') return named((await get<{ assets: any[] }>('/v3/assets', { limit: 50 })).assets);
  if (parts[0] !== 'content_types') return [];
  if (parts[2] === 'entries' && parts[1] !== 'entries') return named((await get<{ entries: any[] }>(`/v3/content_types/${encodeURIComponent(parts[1]!)}/entries`, { limit: 50 })).entries);
  if (parts[1] === 'entries') return [];
  return named((await get<{ content_types: any[] }>('/v3/content_types', { limit: 100 })).content_types);
}

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
  // The kinds of event this webhook receives (the event catalog, matched against its channels).
  const kinds = useLoad(
    async () => (open ? matchingEntries((await get<{ schemas: CatalogEntry[] }>('/v3/webhooks/schemas', { format: 'contentstack' })).schemas, props.channels, 'contentstack') : []),
    [open, props.channels.join(',')],
  );
  const entities = useLoad(async () => (open ? entitiesOf(channel.trim()) : []), [open, channel]);

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
            {(kinds.data?.length ?? 0) > 0 && (
              <Field label="Event" hint="The kinds of event this webhook receives.">
                {(id, describedBy) => (
                  <select id={id} aria-describedby={describedBy} value={kinds.data!.some((k) => k.channel === channel) ? channel : ''} onChange={(e) => (setChannel(valueOf(e)), setEntity(''))}>
                    <option value="">(the channel typed below)</option>
                    {kinds.data!.map((k) => (
                      <option key={k.channel} value={k.channel}>
                        {entryLabel(k)}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
            )}
            <Field label="Channel" hint="One kind of event: content_types.blog.entries.publish, assets.update, Entry.save, …">
              {(id, describedBy) => <input id={id} aria-describedby={describedBy} class="mono" value={channel} onInput={(e) => setChannel(valueOf(e))} list="test-event-channels" />}
            </Field>
            <datalist id="test-event-channels">
              {props.channels.map((c) => (
                <option key={c} value={c} />
              ))}
            </datalist>
            {(entities.data?.length ?? 0) > 0 && (
              <Field label="Built from" hint="A real entity as it is now, or a generated example.">
                {(id, describedBy) => (
                  <select id={id} aria-describedby={describedBy} value={entities.data!.some((x) => x.uid === entity) ? entity : ''} onChange={(e) => setEntity(valueOf(e))}>
                    <option value="">A generated example</option>
                    {entities.data!.map((x) => (
                      <option key={x.uid} value={x.uid}>
                        {x.title} ({x.uid})
                      </option>
                    ))}
                  </select>
                )}
              </Field>
            )}
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
