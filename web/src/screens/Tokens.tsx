import { useRef, useState } from 'preact/hooks';
import { ApiError, currentSession, fieldError, get, post } from '../api.ts';
import { CREATED_COLUMN, CreatedTokenDialog, DeleteTokenConfirm, TokenList } from '../components/TokenList.tsx';
import { EmptyState, ErrorText, Field, Loading, Spinner, Tabs, TimeAgo, useLoad, valueOf } from '../components/ui.tsx';
import { href } from '../router.ts';

interface TokenDoc {
  uid: string;
  name: string;
  description: string;
  /** Masked: only the last four characters show. */
  token: string;
  expires_on: string | null;
  created_at: string;
}

/** The two kinds of tokens, as Contentstack's Settings › Tokens shows them: one tab each. */
export function TokenTabs(props: { current: 'management' | 'delivery' }) {
  return (
    <Tabs
      tabs={[
        { label: 'Management tokens', href: href('tokens'), current: props.current === 'management' },
        { label: 'Delivery tokens', href: href('tokens', 'delivery'), current: props.current === 'delivery' },
      ]}
    />
  );
}

/**
 * Settings > Tokens: the stack's management tokens, masked (GET /v3/stacks/management_tokens).
 * Creating one shows it once, with a copy button; it cannot be shown again (Herald keeps its hash
 * only). Creating and deleting need the admin token, as in the API.
 */
export function Tokens() {
  const loaded = useLoad(() => get<{ tokens: TokenDoc[] }>('/v3/stacks/management_tokens').then((r) => r.tokens), []);
  const admin = !!currentSession()?.admin;
  const [name, setName] = useState('');
  const [expires, setExpires] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [created, setCreated] = useState<{ name: string; token: string } | null>(null);
  const [deleting, setDeleting] = useState<TokenDoc | null>(null);
  const [added, setAdded] = useState<string | null>(null);
  const nameInput = useRef<HTMLInputElement>(null);

  const create = async (e: Event) => {
    e.preventDefault();
    setError(null);
    if (!name.trim()) return setError(new ApiError(0, '', { 'token.name': ['Give the token a name, such as the tool that will use it.'] }));
    setBusy(true);
    try {
      const r = await post<{ token: TokenDoc & { token: string } }>('/v3/stacks/management_tokens', {
        token: { name: name.trim(), ...(expires ? { expires_on: new Date(expires).toISOString() } : {}) },
      });
      setCreated({ name: r.token.name, token: r.token.token });
      setAdded(r.token.uid);
      setName('');
      setExpires('');
      await loaded.reload(true);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section>
      <div class="page-head">
        <div>
          <p class="crumbs">Settings › Tokens</p>
          <h1>Management tokens</h1>
          <p class="lead">Tools and scripts send a management token (with the stack API key) to change this stack’s content and webhooks.</p>
        </div>
      </div>
      <TokenTabs current="management" />
      {admin ? (
        <form class="panel inline-form token-form" onSubmit={create} noValidate>
          <h2>Create a token</h2>
          <Field label="Token name" error={fieldError(error, 'token.name')}>
            {(id, d) => <input id={id} ref={nameInput} aria-describedby={d} value={name} onInput={(e) => setName(valueOf(e))} placeholder="CI deploys" />}
          </Field>
          <Field label="Expires on (optional)" error={fieldError(error, 'token.expires_on')}>
            {(id, d) => <input id={id} type="date" aria-describedby={d} value={expires} onInput={(e) => setExpires(valueOf(e))} />}
          </Field>
          <button type="submit" class="btn btn-primary" disabled={busy}>
            {busy ? <Spinner label="Creating…" /> : 'Create token'}
          </button>
          {error && !(error instanceof ApiError && Object.keys(error.fields).length) ? <ErrorText error={error} /> : null}
        </form>
      ) : (
        <p class="hint">Creating and deleting tokens needs the admin token: sign out and sign in with it to manage them.</p>
      )}
      <Loading loaded={loaded} label="Loading tokens…">
        {(tokens) =>
          tokens.length === 0 ? (
            <EmptyState title="No management tokens yet">{admin ? 'Create one above for each tool, so you can delete one without the others.' : ''}</EmptyState>
          ) : (
            <TokenList
              tokens={tokens}
              caption="Management tokens of this stack"
              columns={[CREATED_COLUMN, { label: 'Expires', cell: (t: TokenDoc) => (t.expires_on ? <TimeAgo t={t.expires_on} /> : <span class="muted">never</span>) }]}
              added={added}
              actions={(t) =>
                admin && (
                  <button type="button" class="link-btn danger" onClick={() => setDeleting(t)} aria-label={`Delete the token ${t.name}`}>
                    Delete
                  </button>
                )
              }
            />
          )
        }
      </Loading>
      {created && <CreatedTokenDialog kind="Token" name={created.name} token={created.token} usedIn="your tool’s settings" onClose={() => (setCreated(null), nameInput.current?.focus())} />}
      {deleting && (
        <DeleteTokenConfirm
          kind="Token"
          token={deleting}
          path={`/v3/stacks/management_tokens/${encodeURIComponent(deleting.uid)}`}
          refused="Tools using it are refused from now on."
          onDeleted={() => loaded.reload(true)}
          onClose={() => setDeleting(null)}
        />
      )}
    </section>
  );
}
