import { useEffect, useId, useState } from 'preact/hooks';
import { get } from '../api.ts';
import {
  ACTION_LABELS,
  emptyRow,
  joinChannels,
  MODULE_ACTIONS,
  MODULE_LABELS,
  parseWhenCode,
  splitChannels,
  whenToCode,
  type ChannelRow,
  type RowModule,
} from '../channels.ts';
import { Spinner, valueOf } from './ui.tsx';

export interface ContentTypeRef {
  uid: string;
  title: string;
}

/**
 * The "When" section (seed 003): a Conditional View that builds channels from module, action,
 * content type and entry (or asset), and a Code View with the channels and conditions as JSON,
 * checked as the user types. Both edit the same value; switching views carries it across.
 */
export function WhenEditor(props: {
  channels: string[];
  conditions: unknown[];
  contentTypes: ContentTypeRef[];
  /** Problems the server reported for channels and conditions. */
  errors: string[];
  onChange: (channels: string[], conditions: unknown[]) => void;
  /** Tells the form whether the Code View holds something it cannot save. */
  onValidity: (problem: string | null) => void;
}) {
  const [view, setView] = useState<'conditional' | 'code'>('conditional');
  const initial = splitChannels(props.channels);
  const [rows, setRows] = useState<ChannelRow[]>(initial.rows);
  const [other, setOther] = useState<string[]>(initial.other);
  const [code, setCode] = useState(() => whenToCode({ channels: props.channels, conditions: props.conditions }));
  const [problems, setProblems] = useState<string[]>([]);
  const tabsId = useId();

  const updateRows = (next: ChannelRow[]) => {
    setRows(next);
    props.onChange(joinChannels(next, other), props.conditions);
  };

  const show = (next: 'conditional' | 'code') => {
    if (next === view) return;
    if (next === 'code') {
      setCode(whenToCode({ channels: props.channels, conditions: props.conditions }));
      setProblems([]);
      props.onValidity(null);
    } else {
      const split = splitChannels(props.channels);
      setRows(split.rows);
      setOther(split.other);
      setProblems([]);
      props.onValidity(null);
    }
    setView(next);
  };

  const onCode = (text: string) => {
    setCode(text);
    const parsed = parseWhenCode(text);
    setProblems(parsed.problems);
    if (parsed.value) {
      props.onChange(parsed.value.channels, parsed.value.conditions);
      props.onValidity(null);
    } else props.onValidity('The Code View under “When” has problems: fix them or switch back to the Conditional View.');
  };

  const onTabKey = (e: KeyboardEvent) => {
    if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
      e.preventDefault();
      const next = view === 'conditional' ? 'code' : 'conditional';
      show(next);
      document.getElementById(`${tabsId}-${next}`)?.focus();
    }
  };

  return (
    <div class="when">
      <div class="view-tabs" role="tablist" aria-label="How to edit When" onKeyDown={onTabKey}>
        {(['conditional', 'code'] as const).map((v) => (
          <button
            key={v}
            id={`${tabsId}-${v}`}
            type="button"
            role="tab"
            aria-selected={view === v}
            aria-controls={`${tabsId}-panel`}
            tabIndex={view === v ? 0 : -1}
            class={view === v ? 'view-tab current' : 'view-tab'}
            onClick={() => show(v)}
          >
            {v === 'conditional' ? 'Conditional View' : 'Code View'}
          </button>
        ))}
      </div>
      <div id={`${tabsId}-panel`} role="tabpanel" aria-labelledby={`${tabsId}-${view}`} class="view-panel">
        {view === 'conditional' ? (
          <>
            {rows.length === 0 && <p class="muted">No events yet. Add one: the webhook is called when any of them happens.</p>}
            <ol class="rows">
              {rows.map((row, i) => (
                <RowEditor
                  key={i}
                  n={i + 1}
                  row={row}
                  contentTypes={props.contentTypes}
                  onChange={(r) => updateRows(rows.map((x, j) => (j === i ? r : x)))}
                  onRemove={() => updateRows(rows.filter((_, j) => j !== i))}
                />
              ))}
            </ol>
            <button type="button" class="btn btn-small" onClick={() => updateRows([...rows, emptyRow()])}>
              + Add event
            </button>
            {other.length > 0 && (
              <p class="small">
                Also: {other.map((c) => <code key={c}>{c}</code>)} <span class="muted">(edit these in the Code View)</span>
              </p>
            )}
            {props.conditions.length > 0 && (
              <p class="small">
                And {props.conditions.length} condition{props.conditions.length === 1 ? '' : 's'} on the event <span class="muted">(see the Code View)</span>.
              </p>
            )}
            {props.channels.length > 0 && (
              <p class="small channel-preview">
                Channels: {props.channels.map((c) => <code key={c}>{c}</code>)}
              </p>
            )}
          </>
        ) : (
          <>
            <label class="visually-hidden" for={`${tabsId}-code`}>
              Channels and conditions as JSON
            </label>
            <textarea
              id={`${tabsId}-code`}
              class="code-input"
              rows={Math.min(18, Math.max(8, code.split('\n').length + 1))}
              value={code}
              spellcheck={false}
              aria-invalid={problems.length > 0}
              aria-describedby={`${tabsId}-code-status`}
              onInput={(e) => onCode(valueOf(e))}
            />
            <div id={`${tabsId}-code-status`} aria-live="polite">
              {problems.length ? (
                <ul class="error-list">
                  {problems.map((p) => (
                    <li key={p} class="error">
                      {p}
                    </li>
                  ))}
                </ul>
              ) : (
                <p class="ok-text small">Valid: {props.channels.length} channel{props.channels.length === 1 ? '' : 's'}, {props.conditions.length} condition{props.conditions.length === 1 ? '' : 's'}.</p>
              )}
            </div>
            <p class="hint">
              Channels: <code>content_types.entries.publish</code>, <code>content_types.blog.entries.update</code>, <code>assets.delete</code>, or
              Contentful topics such as <code>Entry.*</code>. Conditions:{' '}
              <code>{'{"equals": [{"doc": "environment"}, "production"]}'}</code>, <code>in</code>, <code>regexp</code>, <code>not</code>.
            </p>
          </>
        )}
        {props.errors.length > 0 && (
          <ul class="error-list" role="alert">
            {props.errors.map((p) => (
              <li key={p} class="error">
                {p}
              </li>
            ))}
          </ul>
        )}
      </div>
    </div>
  );
}

function RowEditor(props: { n: number; row: ChannelRow; contentTypes: ContentTypeRef[]; onChange: (r: ChannelRow) => void; onRemove: () => void }) {
  const { row } = props;
  const id = useId();
  const set = (patch: Partial<ChannelRow>) => props.onChange({ ...row, ...patch });
  const setModule = (m: RowModule) =>
    props.onChange({ module: m, action: MODULE_ACTIONS[m].includes(row.action) ? row.action : 'publish', contentType: m === 'asset' ? '' : row.contentType, uid: '' });
  return (
    <li class="row-editor">
      <fieldset>
        <legend class="visually-hidden">Event {props.n}</legend>
        <div class="row-fields">
          <div class="mini-field">
            <label for={`${id}-m`}>Module</label>
            <select id={`${id}-m`} value={row.module} onChange={(e) => setModule(valueOf(e) as RowModule)}>
              {(Object.keys(MODULE_LABELS) as RowModule[]).map((m) => (
                <option key={m} value={m}>
                  {MODULE_LABELS[m]}
                </option>
              ))}
            </select>
          </div>
          {row.module !== 'asset' && (
            <div class="mini-field">
              <label for={`${id}-ct`}>Content type</label>
              <select id={`${id}-ct`} value={row.contentType} onChange={(e) => set({ contentType: valueOf(e), uid: '' })}>
                <option value="">Any content type</option>
                {props.contentTypes.map((ct) => (
                  <option key={ct.uid} value={ct.uid}>
                    {ct.title} ({ct.uid})
                  </option>
                ))}
                {row.contentType && !props.contentTypes.some((c) => c.uid === row.contentType) && <option value={row.contentType}>{row.contentType}</option>}
              </select>
            </div>
          )}
          {row.module === 'entry' && (
            <div class="mini-field">
              <label for={`${id}-e`}>Entry</label>
              <ItemSelect id={`${id}-e`} kind="entry" contentType={row.contentType} value={row.uid} onChange={(uid) => set({ uid })} />
            </div>
          )}
          {row.module === 'asset' && (
            <div class="mini-field">
              <label for={`${id}-a`}>Asset</label>
              <ItemSelect id={`${id}-a`} kind="asset" contentType="" value={row.uid} onChange={(uid) => set({ uid })} />
            </div>
          )}
          <div class="mini-field">
            <label for={`${id}-act`}>Action</label>
            <select id={`${id}-act`} value={row.action} onChange={(e) => set({ action: valueOf(e) })}>
              {MODULE_ACTIONS[row.module].map((a) => (
                <option key={a} value={a}>
                  {ACTION_LABELS[a]}
                </option>
              ))}
            </select>
          </div>
          <button type="button" class="btn icon-btn remove" aria-label={`Remove event ${props.n}`} title="Remove" onClick={props.onRemove}>
            ×
          </button>
        </div>
      </fieldset>
    </li>
  );
}

interface Item {
  uid: string;
  title?: string;
  filename?: string;
}

/** Picks one entry of a content type (or one asset); "any" is the empty value. */
function ItemSelect(props: { id: string; kind: 'entry' | 'asset'; contentType: string; value: string; onChange: (uid: string) => void }) {
  const [items, setItems] = useState<Item[] | null>(null);
  const [failed, setFailed] = useState(false);
  const disabled = props.kind === 'entry' && !props.contentType;
  useEffect(() => {
    setItems(null);
    setFailed(false);
    if (disabled) return;
    const path = props.kind === 'entry' ? `/v3/content_types/${encodeURIComponent(props.contentType)}/entries` : '/v3/assets';
    let live = true;
    get<{ entries?: Item[]; assets?: Item[] }>(path, { limit: 100 })
      .then((r) => live && setItems(r.entries ?? r.assets ?? []))
      .catch(() => live && setFailed(true));
    return () => {
      live = false;
    };
  }, [props.kind, props.contentType]);
  if (!disabled && items === null && !failed) return <Spinner label="Loading…" />;
  const any = props.kind === 'entry' ? 'Any entry' : 'Any asset';
  return (
    <select id={props.id} value={props.value} disabled={disabled} title={disabled ? 'Pick a content type first' : undefined} onChange={(e) => props.onChange(valueOf(e))}>
      <option value="">{disabled ? 'Any entry (pick a content type to choose one)' : any}</option>
      {(items ?? []).map((it) => (
        <option key={it.uid} value={it.uid}>
          {(it.title || it.filename || it.uid) + (it.title || it.filename ? ` (${it.uid})` : '')}
        </option>
      ))}
      {props.value && !(items ?? []).some((i) => i.uid === props.value) && <option value={props.value}>{props.value}</option>}
    </select>
  );
}
