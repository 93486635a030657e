import { useState } from 'preact/hooks';
import { ApiError, errorText, get, post, request, type Session } from '../api.ts';
import { EmptyState, ErrorText, Field, Loading, Spinner, TimeAgo, useLoad, valueOf } from '../components/ui.tsx';

/**
 * Sign in with a stack's API key and a management token, or with the admin token and then pick
 * (or create) a stack. The credentials are checked with GET /v3/stacks before they are kept (in
 * sessionStorage: they last as long as the tab).
 */
export function SignIn(props: { onSignIn: (s: Session) => void; reason?: string }) {
  const [mode, setMode] = useState<'token' | 'admin'>('token');
  const [apiKey, setApiKey] = useState('');
  const [token, setToken] = useState('');
  const [keep, setKeep] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    if (!token.trim()) return setError(new ApiError(0, '', { token: ['Enter a token.'] }));
    if (mode === 'token' && !apiKey.trim()) return setError(new ApiError(0, '', { api_key: ['Enter the stack API key.'] }));
    setBusy(true);
    try {
      if (mode === 'token') {
        const r = await request<{ stack: { name: string } }>('GET', '/v3/stacks', { auth: { token: token.trim(), api_key: apiKey.trim() } });
        props.onSignIn({ api_key: apiKey.trim(), token: token.trim(), stack_name: r.stack.name, admin: false, keep });
      } else {
        await request('GET', '/v3/stacks', { auth: { token: token.trim() } });
        props.onSignIn({ api_key: '', token: token.trim(), stack_name: '', admin: true, keep });
      }
    } catch (err) {
      setBusy(false);
      if (err instanceof ApiError && err.status === 401) setError(new ApiError(401, '', { token: [`This token is not valid: ${err.message}`] }));
      else if (err instanceof ApiError && err.status === 404) {
        setError(new ApiError(404, '', { api_key: ['No stack with this API key can be reached with this token. Check both.'] }));
      } else setError(err);
    }
  };

  const fieldErr = (k: string) => (error instanceof ApiError ? (error.fields[k] ?? []).join(' ') : '');
  const general = error instanceof ApiError && Object.keys(error.fields).length ? null : error;

  return (
    <div class="signin">
      <form class="signin-card" onSubmit={submit} noValidate>
        <div class="signin-brand">
          <span class="brand-mark" aria-hidden="true">
            H
          </span>
          <h1>Sign in to Herald</h1>
        </div>
        {props.reason && <p class="error" role="alert">{props.reason}</p>}
        <fieldset class="segmented">
          <legend class="visually-hidden">Sign in with</legend>
          <label class={mode === 'token' ? 'checked' : ''}>
            <input type="radio" name="mode" checked={mode === 'token'} onChange={() => (setMode('token'), setError(null))} />
            Management token
          </label>
          <label class={mode === 'admin' ? 'checked' : ''}>
            <input type="radio" name="mode" checked={mode === 'admin'} onChange={() => (setMode('admin'), setError(null))} />
            Admin token
          </label>
        </fieldset>
        {mode === 'token' && (
          <Field label="Stack API key" error={fieldErr('api_key')}>
            {(id, d) => <input id={id} name="api_key" aria-describedby={d} value={apiKey} onInput={(e) => setApiKey(valueOf(e))} autoComplete="username" spellcheck={false} />}
          </Field>
        )}
        <Field
          label={mode === 'token' ? 'Management token' : 'Admin token'}
          error={fieldErr('token')}
          hint={mode === 'admin' ? 'The token Herald printed on its first start, or HERALD_ADMIN_TOKEN. You pick a stack next.' : undefined}
        >
          {(id, d) => <input id={id} name="token" type="password" aria-describedby={d} value={token} onInput={(e) => setToken(valueOf(e))} autoComplete="current-password" />}
        </Field>
        <label class="check">
          <input type="checkbox" name="keep" checked={keep} onChange={(e) => setKeep((e.currentTarget as HTMLInputElement).checked)} />
          Keep me signed in on this device
        </label>
        <ErrorText error={general} />
        <button type="submit" class="btn btn-primary btn-block" disabled={busy}>
          {busy ? <Spinner label="Signing in…" /> : 'Sign in'}
        </button>
        <p class="hint">
          {keep
            ? 'Your token is kept in this browser, for every tab, until you sign out. Do not choose this on a shared computer.'
            : 'Your token stays in this browser tab only, and is forgotten when you sign out or close the tab.'}
        </p>
      </form>
    </div>
  );
}

interface StackDoc {
  api_key: string;
  name: string;
  description?: string;
  created_at: string;
}

/** After an admin sign-in: pick a stack, or create one. */
export function StackPicker(props: { session: Session; onPick: (s: Session) => void }) {
  const loaded = useLoad(() => get<{ stacks: StackDoc[] }>('/v3/stacks').then((r) => r.stacks), []);
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const pick = (s: StackDoc) => props.onPick({ ...props.session, api_key: s.api_key, stack_name: s.name });

  const create = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await post<{ stack: StackDoc }>('/v3/stacks', { stack: { name } });
      pick(r.stack);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  const nameErr = error instanceof ApiError ? (error.fields['stack.name'] ?? error.fields.stack ?? []).join(' ') || errorText(error) : error ? errorText(error) : '';

  return (
    <section class="narrow">
      <h1>Choose a stack</h1>
      <p class="lead">A stack holds one site's content types, entries, assets and webhooks.</p>
      <Loading loaded={loaded} label="Loading stacks…">
        {(stacks) =>
          stacks.length === 0 ? (
            <EmptyState title="No stacks yet">Create your first stack below; you can add content and webhooks to it next.</EmptyState>
          ) : (
            <ul class="stack-list">
              {stacks.map((s) => (
                <li key={s.api_key}>
                  <button type="button" class="stack-item" onClick={() => pick(s)} aria-current={s.api_key === props.session.api_key ? 'true' : undefined}>
                    <strong>{s.name}</strong>
                    <span class="mono muted">{s.api_key}</span>
                    <span class="muted">
                      created <TimeAgo t={s.created_at} focusable={false} />
                    </span>
                  </button>
                </li>
              ))}
            </ul>
          )
        }
      </Loading>
      <form class="panel" onSubmit={create} noValidate>
        <h2>Create a stack</h2>
        <Field label="Stack name" error={nameErr}>
          {(id, d) => <input id={id} aria-describedby={d} value={name} onInput={(e) => setName(valueOf(e))} placeholder="My site" />}
        </Field>
        <button type="submit" class="btn btn-primary" disabled={busy}>
          {busy ? <Spinner label="Creating…" /> : 'Create stack'}
        </button>
      </form>
    </section>
  );
}
