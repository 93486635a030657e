import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, get, post, put, unplacedProblems } from '../api.ts';
import { checkedOf, Field, Loading, Spinner, useLoad, valueOf } from '../components/ui.tsx';
import { DATA_TYPE_LABELS, draftOf, move, newField, toSchema, uidFrom, UNIQUE_TYPES, type FieldDraft } from '../content-type-draft.ts';
import type { ContentTypeDoc, DataType } from '../entry-values.ts';
import { notify } from '../notice.ts';
import { href, navigate } from '../router.ts';

/**
 * The content type builder: a title and uid, then fields of every type the API supports (text,
 * number, boolean, date, JSON, file, reference, group) with their options (mandatory, unique,
 * multiple, multi-line, instructions, which content types a reference points at), reordered with
 * Move up / Move down and nested in groups. Saving creates or updates the content type through
 * /v3/content_types; its entries are then edited with the entry editor, generated from it.
 */
export function ContentTypeBuilder(props: { uid?: string }) {
  const loaded = useLoad(async () => {
    const [ct, all] = await Promise.all([
      props.uid ? get<{ content_type: ContentTypeDoc }>(`/v3/content_types/${encodeURIComponent(props.uid)}`).then((r) => r.content_type) : Promise.resolve(undefined),
      get<{ content_types: ContentTypeDoc[] }>('/v3/content_types', { limit: 100 }).then((r) => r.content_types),
    ]);
    return { ct, all };
  }, [props.uid]);
  return (
    <section>
      <Loading loaded={loaded} label="Loading the content type…">
        {({ ct, all }) => <Builder key={ct?.uid ?? 'new'} ct={ct} all={all} />}
      </Loading>
    </section>
  );
}

interface Ctx {
  /** Content types a reference may point at (this one included, by its uid). */
  types: Array<{ uid: string; title: string }>;
  errors: Record<string, string[]>;
  focusKey: number | null;
}

function Builder(props: { ct?: ContentTypeDoc; all: ContentTypeDoc[] }) {
  const initial = draftOf(props.ct);
  const [title, setTitle] = useState(initial.title);
  const [uid, setUid] = useState(initial.uid);
  const [uidTouched, setUidTouched] = useState(!!props.ct);
  const [description, setDescription] = useState(initial.description);
  const [fields, setFields] = useState<FieldDraft[]>(initial.fields);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [focusKey, setFocusKey] = useState<number | null>(null);
  const editing = !!props.ct;

  const save = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setBusy(true);
    const body = { content_type: { title: title.trim(), uid, description, schema: toSchema(fields) } };
    try {
      if (editing) await put(`/v3/content_types/${encodeURIComponent(props.ct!.uid)}`, body);
      else await post('/v3/content_types', body);
      notify(editing ? `Content type “${title.trim()}” saved.` : `Content type “${title.trim()}” created: add its first entry.`);
      navigate('content', uid);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  const errors = error instanceof ApiError ? error.fields : {};
  const types = [...props.all.filter((t) => t.uid !== props.ct?.uid).map((t) => ({ uid: t.uid, title: t.title })), ...(uid ? [{ uid, title: `${title || uid} (this one)` }] : [])];
  const unplaced = unplacedProblems(error, (k) => k === 'content_type.title' || k === 'content_type.uid' || k.startsWith('content_type.schema.'));
  const schemaProblems = Object.entries(errors)
    .filter(([k]) => k === 'content_type.schema' || /^content_type\.schema\.\d+/.test(k))
    .flatMap(([k, v]) => v.map((p) => `${k.replace(/^content_type\./, '')} ${p}`));

  return (
    <form class="ct-builder" onSubmit={save} noValidate>
      <div class="page-head">
        <div>
          <p class="crumbs">
            <a href={href('content')}>Content</a>
            {editing && (
              <>
                {' '}
                › <a href={href('content', props.ct!.uid)}>{props.ct!.title}</a>
              </>
            )}
          </p>
          <h1>{editing ? `Fields of ${props.ct!.title}` : 'New content type'}</h1>
        </div>
      </div>
      {error ? (
        <div class="form-error" role="alert">
          <p>
            <strong>The content type was not saved.</strong> {(error as Error).message}
          </p>
          {[...unplaced, ...schemaProblems].length > 0 && (
            <ul>
              {[...unplaced, ...schemaProblems].map((p) => (
                <li key={p}>{p}</li>
              ))}
            </ul>
          )}
        </div>
      ) : null}
      <div class="form-section">
        <div class="two-col">
          <Field label="Content type name" error={(errors['content_type.title'] ?? []).join('; ')}>
            {(id, d) => (
              <input
                id={id}
                aria-describedby={d}
                value={title}
                placeholder="Blog post"
                onInput={(e) => {
                  setTitle(valueOf(e));
                  if (!uidTouched && !editing) setUid(uidFrom(valueOf(e)));
                }}
              />
            )}
          </Field>
          <Field label="Content type uid" error={(errors['content_type.uid'] ?? []).join('; ')} hint={editing ? 'A saved content type keeps its uid.' : 'Used in the API and in webhook channels.'}>
            {(id, d) => (
              <input id={id} aria-describedby={d} class="mono" value={uid} disabled={editing} spellcheck={false} onInput={(e) => (setUid(valueOf(e)), setUidTouched(true))} />
            )}
          </Field>
        </div>
        <Field label="Description (optional)">{(id) => <input id={id} value={description} onInput={(e) => setDescription(valueOf(e))} />}</Field>
      </div>
      <div class="form-section">
        <h2>Fields</h2>
        <FieldList
          fields={fields}
          path="content_type.schema"
          ctx={{ types, errors, focusKey }}
          depth={0}
          onChange={setFields}
          onAdded={setFocusKey}
        />
      </div>
      <div class="form-actions">
        <button type="submit" class="btn btn-primary" disabled={busy}>
          {busy ? <Spinner label="Saving…" /> : editing ? 'Save content type' : 'Create content type'}
        </button>
        <a class="btn" href={editing ? href('content', props.ct!.uid) : href('content')}>
          Cancel
        </a>
      </div>
    </form>
  );
}

function FieldList(props: { fields: FieldDraft[]; path: string; ctx: Ctx; depth: number; onChange: (f: FieldDraft[]) => void; onAdded: (key: number) => void }) {
  const { fields } = props;
  const update = (i: number, f: FieldDraft) => props.onChange(fields.map((x, j) => (j === i ? f : x)));
  const add = () => {
    const f = newField();
    props.onChange([...fields, f]);
    props.onAdded(f.key);
  };
  return (
    <>
      {fields.length === 0 && <p class="muted">No fields yet.</p>}
      <ol class="ct-fields">
        {fields.map((f, i) => (
          <FieldEditor
            key={f.key}
            f={f}
            n={i + 1}
            count={fields.length}
            path={props.path}
            ctx={props.ctx}
            depth={props.depth}
            onChange={(x) => update(i, x)}
            onMove={(by) => props.onChange(move(fields, i, by))}
            onRemove={() => props.onChange(fields.filter((_, j) => j !== i))}
            onAdded={props.onAdded}
          />
        ))}
      </ol>
      <button type="button" class="btn btn-small" onClick={add}>
        {props.depth === 0 ? '+ Add field' : '+ Add field to the group'}
      </button>
    </>
  );
}

function FieldEditor(props: {
  f: FieldDraft;
  n: number;
  count: number;
  path: string;
  ctx: Ctx;
  depth: number;
  onChange: (f: FieldDraft) => void;
  onMove: (by: number) => void;
  onRemove: () => void;
  onAdded: (key: number) => void;
}) {
  const { f } = props;
  const ref = useRef<HTMLLIElement>(null);
  useEffect(() => {
    if (props.ctx.focusKey === f.key) ref.current?.querySelector('input')?.focus();
  }, []);
  const set = (patch: Partial<FieldDraft>) => props.onChange({ ...f, ...patch });
  const fp = `${props.path}.${f.uid}`;
  const err = (k = '') => (props.ctx.errors[k ? `${fp}.${k}` : fp] ?? []).join('; ');
  const name = f.display_name || `Field ${props.n}`;
  const canUnique = UNIQUE_TYPES.includes(f.data_type) && !f.multiple && props.depth === 0;
  return (
    <li class="ct-field" ref={ref} data-uid={f.uid}>
      <fieldset>
        <legend>
          {name} <span class="muted small">{DATA_TYPE_LABELS[f.data_type]}</span>
        </legend>
        <div class="ct-field-row">
          <Field label="Field name" error={err('display_name') || err()}>
            {(id, d) => (
              <input
                id={id}
                aria-describedby={d}
                value={f.display_name}
                onInput={(e) => set({ display_name: valueOf(e), ...(f.uidTouched ? {} : { uid: uidFrom(valueOf(e)) }) })}
              />
            )}
          </Field>
          <Field label="Field uid" error={err('uid')}>
            {(id, d) => <input id={id} aria-describedby={d} class="mono" value={f.uid} spellcheck={false} onInput={(e) => set({ uid: valueOf(e), uidTouched: true })} />}
          </Field>
          <Field label="Type" error={err('data_type')}>
            {(id, d) => (
              <select id={id} aria-describedby={d} value={f.data_type} onChange={(e) => set({ data_type: valueOf(e) as DataType })}>
                {/* A global field is embedded through the API (/v3/global_fields); one already here is shown. */}
                {(Object.keys(DATA_TYPE_LABELS) as DataType[]).filter((t) => t !== 'global_field' || f.data_type === t).map((t) => (
                  <option key={t} value={t}>
                    {DATA_TYPE_LABELS[t]}
                  </option>
                ))}
              </select>
            )}
          </Field>
        </div>
        <div class="check-row">
          <label class="check">
            <input type="checkbox" checked={f.mandatory} onChange={(e) => set({ mandatory: checkedOf(e) })} /> Mandatory
          </label>
          {f.data_type !== 'boolean' && (
            <label class="check">
              <input type="checkbox" checked={f.multiple} onChange={(e) => set({ multiple: checkedOf(e) })} /> Multiple values
            </label>
          )}
          {canUnique && (
            <label class="check">
              <input type="checkbox" checked={f.unique} onChange={(e) => set({ unique: checkedOf(e) })} /> Unique
            </label>
          )}
          {f.data_type === 'text' && (
            <label class="check">
              <input type="checkbox" checked={f.multiline} onChange={(e) => set({ multiline: checkedOf(e) })} /> Multi-line
            </label>
          )}
        </div>
        {(err('mandatory') || err('multiple') || err('unique')) && <p class="error">{[err('mandatory'), err('multiple'), err('unique')].filter(Boolean).join('; ')}</p>}
        <Field label="Instructions for editors (optional)">{(id) => <input id={id} value={f.instruction} onInput={(e) => set({ instruction: valueOf(e) })} />}</Field>
        {f.data_type === 'reference' && (
          <fieldset class="check-group">
            <legend>Refers to entries of</legend>
            <div class="check-row">
              {props.ctx.types.map((t) => (
                <label class="check" key={t.uid}>
                  <input
                    type="checkbox"
                    checked={f.reference_to.includes(t.uid)}
                    onChange={(e) => set({ reference_to: checkedOf(e) ? [...f.reference_to, t.uid] : f.reference_to.filter((x) => x !== t.uid) })}
                  />{' '}
                  {t.title}
                </label>
              ))}
            </div>
            {err('reference_to') && <p class="error">{err('reference_to')}</p>}
          </fieldset>
        )}
        {f.data_type === 'group' && (
          <div class="ct-group">
            <FieldList fields={f.schema} path={`${fp}.schema`} ctx={props.ctx} depth={props.depth + 1} onChange={(schema) => set({ schema })} onAdded={props.onAdded} />
            {err('schema') && <p class="error">{err('schema')}</p>}
          </div>
        )}
        <div class="ct-field-actions">
          <button type="button" class="btn btn-small" disabled={props.n === 1} onClick={() => props.onMove(-1)} aria-label={`Move ${name} up`}>
            ↑ Move up
          </button>
          <button type="button" class="btn btn-small" disabled={props.n === props.count} onClick={() => props.onMove(1)} aria-label={`Move ${name} down`}>
            ↓ Move down
          </button>
          <button type="button" class="btn btn-small btn-danger-outline" onClick={props.onRemove} aria-label={`Remove ${name}`}>
            Remove
          </button>
        </div>
      </fieldset>
    </li>
  );
}
