import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { CONDITION_FIELDS, emptyCondition, OPERATOR_LABELS, splitConditions, toCondition, type ConditionRow, type Operator } from '../condition-rows.ts';
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
  const initialConditions = splitConditions(props.conditions);
  const [condRows, setCondRows] = useState<ConditionRow[]>(initialConditions.rows);
  const [otherConds, setOtherConds] = useState<unknown[]>(initialConditions.other);
  // The row just added, whose first control gets the focus (keyboard and screen reader users land there).
  const [focusRow, setFocusRow] = useState<string | null>(null);
  const tabsId = useId();

  const updateRows = (next: ChannelRow[]) => {
    setRows(next);
    props.onChange(joinChannels(next, other), props.conditions);
  };

  const updateConditions = (next: ConditionRow[]) => {
    setCondRows(next);
    const built = next.map(toCondition);
    props.onChange(props.channels, [...built.filter((c) => c !== null), ...otherConds]);
    const missing = built.findIndex((c) => c === null);
    props.onValidity(missing >= 0 ? `Condition ${missing + 1} under “When” needs a value: fill it in or remove it.` : null);
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
      const conds = splitConditions(props.conditions);
      setCondRows(conds.rows);
      setOtherConds(conds.other);
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
                  focus={focusRow === `event-${i}`}
                  row={row}
                  contentTypes={props.contentTypes}
                  onChange={(r) => updateRows(rows.map((x, j) => (j === i ? r : x)))}
                  onRemove={() => updateRows(rows.filter((_, j) => j !== i))}
                />
              ))}
            </ol>
            <button type="button" class="btn btn-small" onClick={() => (setFocusRow(`event-${rows.length}`), updateRows([...rows, emptyRow()]))}>
              + Add event
            </button>
            {other.length > 0 && (
              <p class="small">
                Also: {other.map((c) => <code key={c}>{c}</code>)} <span class="muted">(edit these in the Code View)</span>
              </p>
            )}
            <h3 class="when-sub">Only when</h3>
            <p class="hint">Conditions on the event, all of which must hold (none: every event above calls the webhook).</p>
            {condRows.length > 0 && (
              <ol class="rows conditions">
                {condRows.map((row, i) => (
                  <ConditionEditor
                    key={i}
                    n={i + 1}
                    row={row}
                    focus={focusRow === `condition-${i}`}
                    onChange={(r) => updateConditions(condRows.map((x, j) => (j === i ? r : x)))}
                    onRemove={() => updateConditions(condRows.filter((_, j) => j !== i))}
                  />
                ))}
              </ol>
            )}
            <button type="button" class="btn btn-small" onClick={() => (setFocusRow(`condition-${condRows.length}`), updateConditions([...condRows, emptyCondition()]))}>
              + Add condition
            </button>
            {otherConds.length > 0 && (
              <p class="small">
                And {otherConds.length} more condition{otherConds.length === 1 ? '' : 's'} <span class="muted">(edit in the Code View)</span>.
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
            <label class="visually-hidden" for={`${tabsId}-json`}>
              Channels and conditions as JSON
            </label>
            <textarea
              id={`${tabsId}-json`}
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

/** Moves the focus to the first control of a row that was just added. */
function useFocusOnAdd(focus: boolean | undefined) {
  const ref = useRef<HTMLLIElement>(null);
  useEffect(() => {
    if (focus) ref.current?.querySelector<HTMLElement>('select, input')?.focus();
  }, []);
  return ref;
}

function ConditionEditor(props: { n: number; row: ConditionRow; focus?: boolean; onChange: (r: ConditionRow) => void; onRemove: () => void }) {
  const { row } = props;
  const id = useId();
  const ref = useFocusOnAdd(props.focus);
  const set = (patch: Partial<ConditionRow>) => props.onChange({ ...row, ...patch });
  const known = CONDITION_FIELDS.some(([f]) => f === row.field);
  const listy = row.operator === 'in' || row.operator === 'not_in' || row.operator === 'changed';
  return (
    <li class="row-editor condition-row" ref={ref}>
      <fieldset>
        <legend class="visually-hidden">Condition {props.n}</legend>
        <div class="row-fields">
          {row.operator !== 'changed' && (
            <div class="mini-field">
              <label for={`${id}-f`}>Field</label>
              <select id={`${id}-f`} value={row.field} onChange={(e) => set({ field: valueOf(e) })}>
                {CONDITION_FIELDS.map(([f, label]) => (
                  <option key={f} value={f}>
                    {label}
                  </option>
                ))}
                {!known && <option value={row.field}>{row.field}</option>}
              </select>
            </div>
          )}
          <div class="mini-field">
            <label for={`${id}-op`}>Operator</label>
            <select id={`${id}-op`} value={row.operator} onChange={(e) => set({ operator: valueOf(e) as Operator })}>
              {(Object.keys(OPERATOR_LABELS) as Operator[]).map((o) => (
                <option key={o} value={o}>
                  {OPERATOR_LABELS[o]}
                </option>
              ))}
            </select>
          </div>
          <div class="mini-field grow">
            <label for={`${id}-v`}>Value</label>
            <input
              id={`${id}-v`}
              value={row.value}
              onInput={(e) => set({ value: valueOf(e) })}
              aria-invalid={!row.value.trim()}
              placeholder={row.operator === 'changed' ? 'title, seo.*' : listy ? 'production, staging' : row.operator.endsWith('regexp') ? '^blog-' : 'production'}
              spellcheck={false}
            />
          </div>
          <button type="button" class="btn icon-btn remove" aria-label={`Remove condition ${props.n}`} title="Remove" onClick={props.onRemove}>
            ×
          </button>
        </div>
      </fieldset>
    </li>
  );
}

function RowEditor(props: { n: number; row: ChannelRow; focus?: boolean; contentTypes: ContentTypeRef[]; onChange: (r: ChannelRow) => void; onRemove: () => void }) {
  const { row } = props;
  const id = useId();
  const ref = useFocusOnAdd(props.focus);
  const set = (patch: Partial<ChannelRow>) => props.onChange({ ...row, ...patch });
  const setModule = (m: RowModule) =>
    props.onChange({ module: m, action: MODULE_ACTIONS[m].includes(row.action) ? row.action : 'publish', contentType: m === 'asset' ? '' : row.contentType, uid: '' });
  return (
    <li class="row-editor" ref={ref}>
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
