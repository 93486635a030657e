import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, del, errorText, get, post, put, unplacedProblems } from '../api.ts';
import { FieldInput, type EditorContext } from '../components/FieldInput.tsx';
import { Badge, checkedOf, Confirm, Dialog, EmptyState, ErrorText, Field, Loading, Spinner, TimeAgo, useLoad, valueOf } from '../components/ui.tsx';
import { entryBody, entryName, valuesOf, type ContentTypeDoc, type EntryDoc } from '../entry-values.ts';
import { notify } from '../notice.ts';
import { href, navigate } from '../router.ts';

/** Quiet time after the last keystroke before an auto-save, ms (Contentful's editor saves "after every change"). */
export const AUTO_SAVE_DELAY_MS = 1000;

interface Environment {
  uid: string;
  name: string;
}
interface Locale {
  code: string;
  name: string;
}

interface Loaded {
  ct: ContentTypeDoc;
  entry?: EntryDoc;
  locales: Locale[];
  environments: Environment[];
  assets: Array<{ uid: string; filename: string; title?: string }>;
}

const entriesPath = (ct: string) => `/v3/content_types/${encodeURIComponent(ct)}/entries`;

/**
 * The entry editor, generated from the content type's schema. While the user types it auto-saves
 * (debounced, PUT ...?auto_save=true, which Herald records as `auto_save`); Save makes a regular
 * update. Publish / Unpublish to chosen environments and locales, Archive / Unarchive, Delete.
 */
export function EntryEditor(props: { contentType: string; uid?: string }) {
  const [locale, setLocale] = useState('');
  const loaded = useLoad<Loaded>(async () => {
    const [ct, locales, environments, assets, entry] = await Promise.all([
      get<{ content_type: ContentTypeDoc }>(`/v3/content_types/${encodeURIComponent(props.contentType)}`, { include_global_field_schema: true }).then((r) => r.content_type),
      get<{ locales: Locale[] }>('/v3/locales', { limit: 100 }).then((r) => r.locales),
      get<{ environments: Environment[] }>('/v3/environments', { limit: 100 }).then((r) => r.environments),
      get<{ assets: Loaded['assets'] }>('/v3/assets', { limit: 100 }).then((r) => r.assets),
      props.uid
        ? get<{ entry: EntryDoc }>(`${entriesPath(props.contentType)}/${encodeURIComponent(props.uid)}`, { locale: locale || undefined }).then((r) => r.entry)
        : Promise.resolve(undefined),
    ]);
    return { ct, locales, environments, assets, entry };
  }, [props.contentType, props.uid, locale]);

  return (
    <section>
      <Loading loaded={loaded} label="Loading the entry…">
        {(data) => <Editor key={`${data.entry?.uid ?? 'new'}:${locale}`} data={data} locale={locale} onLocale={setLocale} onReload={loaded.reload} />}
      </Loading>
    </section>
  );
}

type SaveState =
  | { kind: 'idle' }
  | { kind: 'pending' }
  | { kind: 'saving'; auto: boolean }
  | { kind: 'saved'; auto: boolean; at: number; version: number }
  | { kind: 'error'; error: unknown }
  | { kind: 'blocked'; problem: string };

function Editor(props: { data: Loaded; locale: string; onLocale: (l: string) => void; onReload: () => Promise<void> }) {
  const { ct, locales, environments, assets } = props.data;
  const [entry, setEntry] = useState<EntryDoc | undefined>(props.data.entry);
  const [values, setValues] = useState(() => valuesOf(ct.schema, props.data.entry));
  const [error, setError] = useState<unknown>(null);
  const [save, setSave] = useState<SaveState>({ kind: 'idle' });
  const [dialog, setDialog] = useState<'publish' | 'unpublish' | 'delete' | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [entriesByCt, setEntriesByCt] = useState<Record<string, Array<{ uid: string; title?: unknown }>>>({});

  const values$ = useRef(values);
  const invalid = useRef<Record<string, string>>({});
  const timer = useRef<ReturnType<typeof setTimeout>>();
  const saving = useRef<Promise<boolean> | null>(null);
  const edits = useRef(0);
  const savedEdits = useRef(0);
  const uid = entry?.uid;
  const localeQ = props.locale || undefined;
  // An archived entry is read-only: Herald refuses to save it, so nothing here invites typing;
  // Unarchive is the way out (Contentful's editor does the same).
  const archived = !!entry?._archived;
  const archived$ = useRef(archived);
  archived$.current = archived;

  const ctx: EditorContext = {
    assets,
    errors: error instanceof ApiError ? error.fields : {},
    entriesOf: (c) => entriesByCt[c],
    loadEntries: (c) => {
      if (entriesByCt[c]) return;
      get<{ entries: Array<{ uid: string; title?: unknown }> }>(entriesPath(c), { limit: 100 })
        .then((r) => setEntriesByCt((m) => ({ ...m, [c]: r.entries })))
        .catch(() => setEntriesByCt((m) => ({ ...m, [c]: [] })));
    },
    setInvalid: (path, problem) => {
      if (problem) invalid.current[path] = problem;
      else delete invalid.current[path];
    },
  };

  /** Saves the current values: an auto-save (only when something changed since) or a Save. */
  const saveNow = async (auto: boolean): Promise<boolean> => {
    clearTimeout(timer.current);
    while (saving.current) await saving.current;
    if (!uid) return false;
    if (auto && edits.current === savedEdits.current) return true;
    const problems = Object.values(invalid.current);
    if (problems.length) {
      setSave({ kind: 'blocked', problem: problems[0] });
      return false;
    }
    const at = edits.current;
    setSave({ kind: 'saving', auto });
    const run = (async () => {
      try {
        const r = await put<{ entry: EntryDoc }>(`${entriesPath(ct.uid)}/${encodeURIComponent(uid)}`, { entry: entryBody(ct.schema, values$.current) }, {
          auto_save: auto ? 'true' : undefined,
          locale: localeQ,
        });
        savedEdits.current = at;
        setEntry(r.entry);
        setError(null);
        setSave({ kind: 'saved', auto, at: Date.now(), version: r.entry._version });
        return true;
      } catch (err) {
        setError(err);
        setSave({ kind: 'error', error: err });
        return false;
      }
    })();
    saving.current = run;
    const ok = await run;
    saving.current = null;
    // Typed on while it saved: save those changes too, after the same quiet time.
    if (ok && edits.current !== savedEdits.current) schedule();
    return ok;
  };

  const schedule = () => {
    clearTimeout(timer.current);
    timer.current = setTimeout(() => void saveNow(true), AUTO_SAVE_DELAY_MS);
  };

  const change = (key: string, v: unknown) => {
    if (archived$.current) return;
    const next = { ...values$.current, [key]: v };
    values$.current = next;
    setValues(next);
    edits.current++;
    if (uid) {
      setSave({ kind: 'pending' });
      schedule();
    }
  };

  // Leaving with unsaved changes: save them (auto-save), and warn before closing the tab.
  const saveRef = useRef(saveNow);
  saveRef.current = saveNow;
  useEffect(() => {
    const before = (e: BeforeUnloadEvent) => {
      if (edits.current !== savedEdits.current && uid) e.preventDefault();
    };
    addEventListener('beforeunload', before);
    return () => {
      removeEventListener('beforeunload', before);
      if (edits.current !== savedEdits.current && uid) void saveRef.current(true);
      clearTimeout(timer.current);
    };
  }, [uid]);

  const create = async () => {
    setBusy('create');
    setError(null);
    try {
      const r = await post<{ entry: EntryDoc }>(entriesPath(ct.uid), { entry: entryBody(ct.schema, values$.current) }, { locale: localeQ });
      notify('Entry created. From now on it saves automatically while you type.');
      savedEdits.current = edits.current;
      navigate('content', ct.uid, r.entry.uid);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };

  const act = async (name: 'archive' | 'unarchive') => {
    if (!uid) return;
    setBusy(name);
    setError(null);
    try {
      // Archiving keeps what was typed (saved first; when that fails, the save status says why and
      // nothing is archived). Unarchiving has nothing to save: an archived entry cannot be edited.
      if (name === 'archive' && !(await saveNow(true))) {
        notify('The entry was not archived: its changes could not be saved first (see above).', 'error', 10_000);
        return;
      }
      const r = await post<{ entry: EntryDoc }>(`${entriesPath(ct.uid)}/${encodeURIComponent(uid)}/${name}`, {}, { locale: localeQ });
      setEntry(r.entry);
      notify(name === 'archive' ? 'Entry archived.' : 'Entry unarchived.');
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };

  const envName = (id: string) => environments.find((e) => e.uid === id || e.name === id)?.name ?? id;
  const fieldPaths = new Set<string>();
  const walk = (fs: ContentTypeDoc['schema'], p: string) => {
    for (const f of fs) {
      fieldPaths.add(`${p}.${f.uid}`);
      if (f.schema) walk(f.schema, `${p}.${f.uid}`);
    }
  };
  walk(ct.schema, 'entry');
  fieldPaths.add('entry.title');
  const unplaced = unplacedProblems(error, (k) => fieldPaths.has(k.replace(/\[\d+\]/g, '')));
  const hasTitleField = ct.schema.some((f) => f.uid === 'title');

  return (
    <>
      <div class="page-head">
        <div>
          <p class="crumbs">
            <a href={href('content')}>Content</a> › <a href={href('content', ct.uid)}>{ct.title}</a>
          </p>
          <h1>
            {uid ? entryName({ uid, title: values.title }) : `New ${ct.title} entry`}{' '}
            {entry?._archived && <Badge kind="warn">Archived</Badge>}
            {entry && !entry._archived && <PublishBadge entry={entry} />}
          </h1>
          {entry && (
            <p class="small muted">
              <span class="mono">{entry.uid}</span> · version {entry._version} · updated <TimeAgo t={entry.updated_at} />
              {entry.publish_details?.length ? <> · published to {entry.publish_details.map((d) => `${envName(d.environment)} (${d.locale}) v${d.version}`).join(', ')}</> : null}
            </p>
          )}
        </div>
        {locales.length > 1 && (
          <Field label="Locale" class="inline-field">
            {(id) => (
              <select id={id} value={props.locale} onChange={(e) => props.onLocale(valueOf(e))}>
                <option value="">Default ({entry?.locale ?? locales[0]?.code})</option>
                {locales.map((l) => (
                  <option key={l.code} value={l.code}>
                    {l.name} ({l.code})
                  </option>
                ))}
              </select>
            )}
          </Field>
        )}
      </div>

      <div class="editor-bar" role="toolbar" aria-label="Entry actions">
        {uid ? (
          <>
            <button
              type="button"
              class="btn btn-primary"
              onClick={() => void saveNow(false).then((ok) => ok && notify('Entry saved.'))}
              disabled={save.kind === 'saving' || archived}
              title={archived ? 'Unarchive the entry to edit it' : undefined}
            >
              Save
            </button>
            <button type="button" class="btn" onClick={() => setDialog('publish')} disabled={!!entry?._archived} title={entry?._archived ? 'Unarchive the entry to publish it' : undefined}>
              Publish…
            </button>
            <button type="button" class="btn" onClick={() => setDialog('unpublish')} disabled={!entry?.publish_details?.length}>
              Unpublish…
            </button>
            <button type="button" class="btn" onClick={() => act(entry?._archived ? 'unarchive' : 'archive')} disabled={!!busy}>
              {busy === 'archive' || busy === 'unarchive' ? <Spinner label={busy === 'archive' ? 'Archiving…' : 'Unarchiving…'} /> : entry?._archived ? 'Unarchive' : 'Archive'}
            </button>
            <button type="button" class="btn btn-danger-outline" onClick={() => setDialog('delete')}>
              Delete
            </button>
            <SaveStatus s={save} />
          </>
        ) : (
          <>
            <button type="button" class="btn btn-primary" onClick={create} disabled={busy === 'create'}>
              {busy === 'create' ? <Spinner label="Creating…" /> : 'Create entry'}
            </button>
            <span class="small muted">Once created, the entry saves automatically while you type.</span>
          </>
        )}
      </div>

      {archived && (
        <p class="banner banner-warn" role="status">
          This entry is archived, so it is read-only and cannot be published. Unarchive it to edit or publish it again.
        </p>
      )}
      {error && save.kind !== 'error' ? <ErrorText error={error} /> : null}
      {unplaced.length > 0 && (
        <ul class="error-list" role="alert">
          {unplaced.map((p) => (
            <li key={p} class="error">
              {p}
            </li>
          ))}
        </ul>
      )}

      <form class="entry-form" onSubmit={(e) => (e.preventDefault(), uid ? void saveNow(false) : void create())} noValidate>
        <fieldset class="plain" disabled={archived}>
        {!hasTitleField && (
          <Field label="Title" error={(ctx.errors['entry.title'] ?? []).join('; ')}>
            {(id, d) => <input id={id} aria-describedby={d} data-field="entry.title" value={(values.title as string) ?? ''} onInput={(e) => change('title', valueOf(e))} />}
          </Field>
        )}
        {ct.schema.map((f) => (
          <FieldInput key={f.uid} field={f} path={`entry.${f.uid}`} value={values[f.uid]} ctx={ctx} onChange={(v) => change(f.uid, v)} />
        ))}
        {ct.schema.length === 0 && hasTitleField === false && <p class="muted">This content type has no fields besides the title.</p>}
        </fieldset>
      </form>

      {dialog === 'publish' || dialog === 'unpublish' ? (
        <PublishDialog
          mode={dialog}
          entry={entry!}
          ct={ct.uid}
          environments={environments}
          locales={locales}
          locale={props.locale || entry!.locale}
          beforeRun={() => saveNow(true)}
          onDone={async () => {
            const r = await get<{ entry: EntryDoc }>(`${entriesPath(ct.uid)}/${encodeURIComponent(uid!)}`, { locale: localeQ });
            setEntry(r.entry);
          }}
          onClose={() => setDialog(null)}
        />
      ) : null}
      {dialog === 'delete' && (
        <Confirm
          title="Delete entry"
          danger
          confirmLabel="Delete"
          message={
            <p>
              Delete <strong>{entryName({ uid: uid!, title: values.title })}</strong> in every locale, and unpublish it everywhere? This cannot be undone.
            </p>
          }
          onConfirm={async () => {
            clearTimeout(timer.current);
            savedEdits.current = edits.current;
            await del(`${entriesPath(ct.uid)}/${encodeURIComponent(uid!)}`);
            notify('Entry deleted.');
            navigate('content', ct.uid);
          }}
          onClose={() => setDialog(null)}
        />
      )}
    </>
  );
}

/**
 * Published, Changed (published, then edited: the latest version is newer than every published one
 * of this locale, as Contentful says), or Draft.
 */
export function publishState(entry: Pick<EntryDoc, '_version' | 'locale' | 'publish_details'>): 'published' | 'changed' | 'draft' {
  const here = (entry.publish_details ?? []).filter((d) => !d.locale || !entry.locale || d.locale === entry.locale);
  if (here.length === 0) return 'draft';
  const newest = Math.max(...here.map((d) => Number(d.version ?? 0)));
  return newest < Number(entry._version) ? 'changed' : 'published';
}

function PublishBadge(props: { entry: EntryDoc }) {
  const state = publishState(props.entry);
  if (state === 'draft') return <Badge kind="none">Draft</Badge>;
  if (state === 'changed') return <Badge kind="info" title="Edited since it was last published: publish again to send the changes">Changed</Badge>;
  return <Badge kind="good">Published</Badge>;
}

function SaveStatus(props: { s: SaveState }) {
  const s = props.s;
  let body: ComponentChildren = null;
  switch (s.kind) {
    case 'pending':
      body = <span class="muted">Unsaved changes…</span>;
      break;
    case 'saving':
      body = <Spinner label={s.auto ? 'Saving automatically…' : 'Saving…'} />;
      break;
    case 'saved':
      body = (
        <span class="ok-text">
          {s.auto ? 'Saved automatically' : 'Saved'} · version {s.version} · <TimeAgo t={s.at} focusable={false} />
        </span>
      );
      break;
    case 'error':
      body = <span class="error">Not saved: {errorText(s.error)}</span>;
      break;
    case 'blocked':
      body = <span class="error">Not saved: {s.problem}</span>;
      break;
  }
  return (
    <span class="save-status" role="status" aria-live="polite">
      {body}
    </span>
  );
}

function PublishDialog(props: {
  mode: 'publish' | 'unpublish';
  entry: EntryDoc;
  ct: string;
  environments: Environment[];
  locales: Locale[];
  locale: string;
  beforeRun: () => Promise<boolean>;
  onDone: () => Promise<void>;
  onClose: () => void;
}) {
  const [envs, setEnvs] = useState<Environment[]>(props.environments);
  const [chosenEnvs, setChosenEnvs] = useState<string[]>(() => {
    if (props.mode === 'unpublish') {
      const on = new Set((props.entry.publish_details ?? []).map((d) => d.environment));
      return props.environments.filter((e) => on.has(e.uid) || on.has(e.name)).map((e) => e.name);
    }
    return props.environments.length === 1 ? [props.environments[0].name] : [];
  });
  const [chosenLocales, setChosenLocales] = useState<string[]>([props.locale]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [newEnv, setNewEnv] = useState('');
  const [addingEnv, setAddingEnv] = useState(props.environments.length === 0);
  const [envError, setEnvError] = useState<unknown>(null);
  const verb = props.mode === 'publish' ? 'Publish' : 'Unpublish';

  const toggle = (list: string[], set: (l: string[]) => void, v: string, on: boolean) => set(on ? [...list, v] : list.filter((x) => x !== v));

  const run = async () => {
    setError(null);
    if (!chosenEnvs.length) return setError(new ApiError(0, 'Pick at least one environment.'));
    if (!chosenLocales.length) return setError(new ApiError(0, 'Pick at least one locale.'));
    setBusy(true);
    try {
      if (!(await props.beforeRun())) throw new ApiError(0, 'The entry has changes that could not be saved; fix them first.');
      await post(`${entriesPath(props.ct)}/${encodeURIComponent(props.entry.uid)}/${props.mode}`, {
        entry: { environments: chosenEnvs, locales: chosenLocales },
      });
      notify(`Entry ${props.mode}ed: ${chosenEnvs.join(', ')} (${chosenLocales.join(', ')}).`);
      await props.onDone();
      props.onClose();
    } catch (err) {
      setError(err);
      // A partial failure still changed some environments: show what stands now.
      await props.onDone().catch(() => {});
    } finally {
      setBusy(false);
    }
  };

  const createEnv = async (e: Event) => {
    e.preventDefault();
    setEnvError(null);
    try {
      const r = await post<{ environment: Environment }>('/v3/environments', { environment: { name: newEnv.trim() } });
      setEnvs([...envs, r.environment]);
      setChosenEnvs([...chosenEnvs, r.environment.name]);
      setNewEnv('');
    } catch (err) {
      setEnvError(err);
    }
  };

  const fields = unplacedProblems(error, () => false);
  return (
    <Dialog title={`${verb} entry`} onClose={props.onClose}>
      {envs.length === 0 ? (
        <EmptyState title="No environments yet">
          Entries are published to environments (development, production…). Create the first one:
        </EmptyState>
      ) : (
        <fieldset class="check-group">
          <legend>Environments</legend>
          {envs.map((env) => (
            <label class="check" key={env.uid}>
              <input type="checkbox" checked={chosenEnvs.includes(env.name)} onChange={(e) => toggle(chosenEnvs, setChosenEnvs, env.name, checkedOf(e))} /> {env.name}
            </label>
          ))}
        </fieldset>
      )}
      {addingEnv ? (
        <form class="inline-form" onSubmit={createEnv} noValidate>
          <Field label="New environment" error={envError ? errorText(envError) : ''}>
            {(id, d) => <input id={id} aria-describedby={d} value={newEnv} onInput={(e) => setNewEnv(valueOf(e))} placeholder="production" />}
          </Field>
          <button type="submit" class="btn btn-small" disabled={!newEnv.trim()}>
            Add environment
          </button>
        </form>
      ) : (
        <p>
          <button type="button" class="link-btn small" onClick={() => setAddingEnv(true)}>
            + New environment
          </button>
        </p>
      )}
      <fieldset class="check-group">
        <legend>Locales</legend>
        {props.locales.map((l) => (
          <label class="check" key={l.code}>
            <input type="checkbox" checked={chosenLocales.includes(l.code)} onChange={(e) => toggle(chosenLocales, setChosenLocales, l.code, checkedOf(e))} /> {l.name} ({l.code})
          </label>
        ))}
      </fieldset>
      {error ? (
        <div class="form-error" role="alert">
          <p>{errorText(error)}</p>
          {fields.length > 0 && (
            <ul>
              {fields.map((p) => (
                <li key={p}>{p}</li>
              ))}
            </ul>
          )}
        </div>
      ) : null}
      <div class="actions">
        <button type="button" class="btn" onClick={props.onClose} disabled={busy}>
          Cancel
        </button>
        <button type="button" class="btn btn-primary" onClick={run} disabled={busy}>
          {busy ? <Spinner label={`${verb}ing…`} /> : verb}
        </button>
      </div>
    </Dialog>
  );
}
