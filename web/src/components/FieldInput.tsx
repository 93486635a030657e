import { useEffect, useState } from 'preact/hooks';
import { emptyValue, entryName, type Reference, type SchemaField } from '../entry-values.ts';
import { href } from '../router.ts';
import { checkedOf, Field, valueOf } from './ui.tsx';

/**
 * One field of the entry editor, generated from the content type's schema: text, number, boolean,
 * isodate, json, file, reference and group, each of them `multiple` or not. Paths follow the API's
 * error keys (`entry.address.city`, `entry.tags[1]`) so a 422 lands next to the right input.
 */

export interface EditorContext {
  assets: Array<{ uid: string; filename: string; title?: string }>;
  /** Entries a reference may point at, by content type (loaded once per content type). */
  entriesOf: (ct: string) => Array<{ uid: string; title?: unknown }> | undefined;
  loadEntries: (ct: string) => void;
  errors: Record<string, string[]>;
  /** A JSON field holds text that does not parse: the editor does not save until it does. */
  setInvalid: (path: string, problem: string | null) => void;
}

interface Props {
  field: SchemaField;
  value: unknown;
  path: string;
  ctx: EditorContext;
  onChange: (v: unknown) => void;
}

const err = (ctx: EditorContext, path: string) => (ctx.errors[path] ?? []).join('; ');

function labelOf(f: SchemaField): string {
  return f.display_name + (f.mandatory ? ' *' : '');
}

function hintOf(f: SchemaField): string | undefined {
  const m = f.field_metadata;
  return (typeof m?.instruction === 'string' && m.instruction) || (typeof m?.description === 'string' && m.description) || undefined;
}

export function FieldInput(props: Props) {
  const { field: f } = props;
  if (f.data_type === 'group' || f.data_type === 'global_field') return <GroupInput {...props} />;
  if (f.data_type === 'reference') return <ReferenceInput {...props} />;
  if (f.multiple) return <MultipleInput {...props} />;
  return (
    <Field label={labelOf(f)} error={err(props.ctx, props.path)} hint={hintOf(f)}>
      {(id, d) => <Single id={id} describedBy={d} {...props} />}
    </Field>
  );
}

/** One value of a simple type. */
function Single(props: Props & { id: string; describedBy?: string; label?: string }) {
  const { field: f, value, onChange, id } = props;
  const common = { id, 'aria-describedby': props.describedBy, 'aria-label': props.label, 'data-field': props.path };
  switch (f.data_type) {
    case 'text':
      return f.field_metadata?.multiline ? (
        <textarea {...common} rows={4} value={(value as string) ?? ''} onInput={(e) => onChange(valueOf(e))} />
      ) : (
        <input {...common} value={(value as string) ?? ''} onInput={(e) => onChange(valueOf(e))} />
      );
    case 'number':
      return (
        <input
          {...common}
          type="number"
          step="any"
          value={value === null || value === undefined ? '' : String(value)}
          onInput={(e) => {
            const t = valueOf(e);
            const n = Number(t);
            onChange(t === '' ? null : Number.isFinite(n) ? n : t);
          }}
        />
      );
    case 'boolean':
      return (
        <span class="check">
          <input {...common} type="checkbox" checked={value === true} onChange={(e) => onChange(checkedOf(e))} /> {value === true ? 'Yes' : 'No'}
        </span>
      );
    case 'isodate': {
      const v = (value as string) ?? '';
      const dateOnly = v === '' || /^\d{4}-\d{2}-\d{2}$/.test(v);
      return dateOnly ? (
        <input {...common} type="date" value={v} onInput={(e) => onChange(valueOf(e) || null)} />
      ) : (
        <input {...common} value={v} placeholder="2024-05-01T10:00:00Z" onInput={(e) => onChange(valueOf(e) || null)} />
      );
    }
    case 'json':
      return <JsonInput {...props} common={common} />;
    case 'file':
      return (
        <span class="file-pick">
          <select {...common} value={(value as string) ?? ''} onChange={(e) => onChange(valueOf(e) || null)}>
            <option value="">No file</option>
            {props.ctx.assets.map((a) => (
              <option key={a.uid} value={a.uid}>
                {a.title || a.filename} ({a.uid})
              </option>
            ))}
            {typeof value === 'string' && value && !props.ctx.assets.some((a) => a.uid === value) && <option value={value}>{value}</option>}
          </select>
          {props.ctx.assets.length === 0 && (
            <span class="small muted">
              No assets yet: <a href={href('assets')}>upload one</a>.
            </span>
          )}
        </span>
      );
    default:
      return <span class="muted">This field type cannot be edited here.</span>;
  }
}

function JsonInput(props: Props & { common: Record<string, unknown> }) {
  const [text, setText] = useState(() => (props.value === null || props.value === undefined ? '' : JSON.stringify(props.value, null, 2)));
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => () => props.ctx.setInvalid(props.path, null), []);
  return (
    <>
      <textarea
        {...props.common}
        class="code-input"
        rows={5}
        spellcheck={false}
        value={text}
        aria-invalid={!!problem}
        onInput={(e) => {
          const t = valueOf(e);
          setText(t);
          if (t.trim() === '') {
            setProblem(null);
            props.ctx.setInvalid(props.path, null);
            props.onChange(null);
            return;
          }
          try {
            const v = JSON.parse(t);
            setProblem(null);
            props.ctx.setInvalid(props.path, null);
            props.onChange(v);
          } catch (x) {
            const p = `Not valid JSON yet: ${(x as Error).message}`;
            setProblem(p);
            props.ctx.setInvalid(props.path, p);
          }
        }}
      />
      {problem && <p class="error">{problem}</p>}
    </>
  );
}

function MultipleInput(props: Props) {
  const { field: f, ctx, path } = props;
  const list = Array.isArray(props.value) ? (props.value as unknown[]) : [];
  const single: SchemaField = { ...f, multiple: false };
  const blank = f.data_type === 'boolean' ? false : f.data_type === 'text' ? '' : null;
  return (
    <fieldset class={`field multi ${err(ctx, path) ? 'has-error' : ''}`}>
      <legend>{labelOf(f)}</legend>
      {hintOf(f) && <p class="hint">{hintOf(f)}</p>}
      {list.length === 0 && <p class="muted small">None yet.</p>}
      <ol class="multi-list">
        {list.map((v, i) => (
          <li key={i} class="multi-item">
            <Single
              id={`${path}-${i}`}
              label={`${f.display_name} ${i + 1}`}
              field={single}
              value={v}
              path={`${path}[${i}]`}
              ctx={ctx}
              onChange={(nv) => props.onChange(list.map((x, j) => (j === i ? nv : x)))}
            />
            <button type="button" class="btn icon-btn remove" aria-label={`Remove ${f.display_name} ${i + 1}`} onClick={() => props.onChange(list.filter((_, j) => j !== i))}>
              ×
            </button>
            {err(ctx, `${path}[${i}]`) && <p class="error">{err(ctx, `${path}[${i}]`)}</p>}
          </li>
        ))}
      </ol>
      <button type="button" class="btn btn-small" onClick={() => props.onChange([...list, blank])}>
        + Add {f.display_name}
      </button>
      {err(ctx, path) && <p class="error">{err(ctx, path)}</p>}
    </fieldset>
  );
}

function GroupInput(props: Props) {
  const { field: f, ctx, path } = props;
  const one = (value: unknown, p: string, onChange: (v: unknown) => void) => {
    const g = value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
    return (
      <div class="group-body">
        {(f.schema ?? []).map((sub) => (
          <FieldInput
            key={sub.uid}
            field={sub}
            path={`${p}.${sub.uid}`}
            value={Object.hasOwn(g, sub.uid) ? g[sub.uid] : emptyValue(sub)}
            ctx={ctx}
            onChange={(v) => onChange({ ...g, [sub.uid]: v })}
          />
        ))}
      </div>
    );
  };
  if (!f.multiple) {
    return (
      <fieldset class={`field group ${err(ctx, path) ? 'has-error' : ''}`}>
        <legend>{labelOf(f)}</legend>
        {one(props.value, path, props.onChange)}
        {err(ctx, path) && <p class="error">{err(ctx, path)}</p>}
      </fieldset>
    );
  }
  const list = Array.isArray(props.value) ? (props.value as unknown[]) : [];
  return (
    <fieldset class={`field group ${err(ctx, path) ? 'has-error' : ''}`}>
      <legend>{labelOf(f)}</legend>
      {list.length === 0 && <p class="muted small">None yet.</p>}
      {list.map((v, i) => (
        <div class="group-item" key={i}>
          <div class="group-item-head">
            <strong>
              {f.display_name} {i + 1}
            </strong>
            <button type="button" class="btn btn-small" aria-label={`Remove ${f.display_name} ${i + 1}`} onClick={() => props.onChange(list.filter((_, j) => j !== i))}>
              Remove
            </button>
          </div>
          {one(v, `${path}[${i}]`, (nv) => props.onChange(list.map((x, j) => (j === i ? nv : x))))}
        </div>
      ))}
      <button type="button" class="btn btn-small" onClick={() => props.onChange([...list, {}])}>
        + Add {f.display_name}
      </button>
      {err(ctx, path) && <p class="error">{err(ctx, path)}</p>}
    </fieldset>
  );
}

/** References: a list of { uid, _content_type_uid }, picked from the entries of the allowed types. */
function ReferenceInput(props: Props) {
  const { field: f, ctx, path } = props;
  const targets = typeof f.reference_to === 'string' ? [f.reference_to] : (f.reference_to ?? []);
  useEffect(() => {
    for (const ct of targets) ctx.loadEntries(ct);
  }, [targets.join(',')]);
  const list = (Array.isArray(props.value) ? props.value : props.value ? [props.value] : []) as Reference[];
  const options = targets.flatMap((ct) => (ctx.entriesOf(ct) ?? []).map((e) => ({ ct, uid: e.uid, name: entryName(e) })));
  const available = options.filter((o) => !list.some((r) => r.uid === o.uid));
  const nameOf = (r: Reference) => options.find((o) => o.uid === r.uid)?.name ?? r.uid;
  const canAdd = f.multiple || list.length === 0;
  return (
    <Field label={labelOf(f)} error={err(ctx, path)} hint={`Entries of ${targets.join(', ')}`}>
      {(id, d) => (
        <div class="refs">
          {list.length > 0 && (
            <ul class="chips">
              {list.map((r, i) => (
                <li key={r.uid} class="chip">
                  {nameOf(r)} <span class="muted small">({r._content_type_uid})</span>
                  <button type="button" class="chip-x" aria-label={`Remove reference to ${nameOf(r)}`} onClick={() => props.onChange(list.filter((_, j) => j !== i))}>
                    ×
                  </button>
                </li>
              ))}
            </ul>
          )}
          {canAdd && (
            <select
              id={id}
              aria-describedby={d}
              value=""
              onChange={(e) => {
                const uid = valueOf(e);
                const o = options.find((x) => x.uid === uid);
                if (o) props.onChange([...list, { uid: o.uid, _content_type_uid: o.ct }]);
              }}
            >
              <option value="">{available.length ? 'Add a reference…' : 'No entries to reference'}</option>
              {available.map((o) => (
                <option key={o.uid} value={o.uid}>
                  {o.name} ({o.ct})
                </option>
              ))}
            </select>
          )}
        </div>
      )}
    </Field>
  );
}
