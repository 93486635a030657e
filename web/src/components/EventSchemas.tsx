import { useState } from 'preact/hooks';
import { get } from '../api.ts';
import { entryLabel, matchingEntries, type CatalogEntry } from '../catalog.ts';
import { Code, Field, Loading, useLoad, valueOf } from './ui.tsx';

/**
 * The payloads of the events the form subscribes to: for each kind of event its channels match, in
 * the form's format (and CloudEvents mode), the JSON Schema and an example from the event catalog
 * (GET /v3/webhooks/schemas), so the receiving end can be written before the first call.
 */
export function EventSchemas(props: { channels: string[]; format: string; mode?: string }) {
  const catalog = useLoad(() => get<{ schemas: CatalogEntry[] }>('/v3/webhooks/schemas', { format: props.format }).then((r) => r.schemas), [props.format]);
  const [picked, setPicked] = useState('');
  return (
    <section class="event-schemas" aria-label="Payloads">
      <Loading loaded={catalog} label="Loading the event catalog…">
        {(all) => {
          const list = matchingEntries(all, props.channels, props.format, props.mode);
          if (list.length === 0) return <p class="muted">Pick events under When to see the payloads they send.</p>;
          const key = (e: CatalogEntry) => `${e.event}:${e.content_type ?? ''}`;
          const shown = list.find((e) => key(e) === picked) ?? list[0]!;
          return (
            <>
              <Field label="Payload of" hint={`${list.length} kind${list.length === 1 ? '' : 's'} of event match the events picked above. Content-Type: ${shown.content_type_header}.`}>
                {(id, d) => (
                  <select id={id} aria-describedby={d} value={key(shown)} onChange={(e) => setPicked(valueOf(e))}>
                    {list.map((e) => (
                      <option key={key(e)} value={key(e)}>
                        {entryLabel(e)}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
              {shown.headers && (
                <p class="hint">
                  Headers: <code>{shown.headers.required.join(', ')}</code>
                </p>
              )}
              <div class="two-col schema-cols">
                <div>
                  <h3>Example</h3>
                  <Code value={shown.example} label="Example payload" />
                </div>
                <div>
                  <h3>JSON Schema</h3>
                  <Code value={shown.schema} label="Payload JSON Schema" />
                </div>
              </div>
            </>
          );
        }}
      </Loading>
    </section>
  );
}
