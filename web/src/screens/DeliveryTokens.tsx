import { useId, useRef, useState } from 'preact/hooks';
import { ApiError, currentSession, errorText, fieldError, get, post, put, unplacedProblems } from '../api.ts';
import { CREATED_COLUMN, CreatedTokenDialog, DeleteTokenConfirm, TokenList } from '../components/TokenList.tsx';
import { checkedOf, Dialog, EmptyState, Field, Loading, Spinner, useLoad, valueOf } from '../components/ui.tsx';
import { branchesOf, deliveryTokenBody, deliveryTokenProblems, draftOf, environmentsOf, problemsLeft, readExample, type DeliveryTokenDraft, type ListedDeliveryToken } from '../delivery-token.ts';
import { notify } from '../notice.ts';
import { href, navigate } from '../router.ts';
import { TokenTabs } from './Tokens.tsx';

interface Environment {
  uid: string;
  name: string;
}

/** A delivery token as GET /v3/stacks/delivery_tokens lists it (Contentstack's shape). */
interface DeliveryTokenDoc extends ListedDeliveryToken {
  uid: string;
  /** Masked (`****abcd`), except in the answer to its creation. */
  token: string;
  created_at: string;
}

interface Context {
  tokens: DeliveryTokenDoc[];
  environments: Environment[];
  branches: string[];
  /** A content type of the stack, for the example request (undefined when there is none). */
  exampleType: string | undefined;
}


/**
 * Settings > Tokens > Delivery tokens (/v3/stacks/delivery_tokens): read-only credentials for web
 * sites and apps reading published content through the delivery API, scoped to environments (and
 * branches) as in Contentstack. Created with the stack's management token; shown once with a copy
 * button (Herald keeps a hash only), listed masked, renamed or re-scoped in a dialog of its own
 * address (`#/tokens/delivery/{uid}`: PUT, the value stays), deleted to revoke.
 */
export function DeliveryTokens(props: { editUid?: string }) {
  const loaded = useLoad<Context>(async () => {
    const [tokens, environments, branches, exampleType] = await Promise.all([
      get<{ tokens: DeliveryTokenDoc[] }>('/v3/stacks/delivery_tokens').then((r) => r.tokens),
      get<{ environments: Environment[] }>('/v3/environments', { limit: 100 }).then((r) => r.environments),
      get<{ branches: Array<{ uid: string }> }>('/v3/stacks/branches', { limit: 100 }).then((r) => r.branches.map((b) => b.uid)),
      get<{ content_types: Array<{ uid: string }> }>('/v3/content_types', { limit: 1 }).then((r) => r.content_types[0]?.uid),
    ]);
    return { tokens, environments, branches, exampleType };
  }, []);
  const [created, setCreated] = useState<{ name: string; token: string; environment: string } | null>(null);
  const [added, setAdded] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<DeliveryTokenDoc | null>(null);
  const nameInput = useRef<HTMLInputElement>(null);

  return (
    <section>
      <div class="page-head">
        <div>
          <p class="crumbs">Settings › Tokens</p>
          <h1>Delivery tokens</h1>
          <p class="lead">
            Web sites and apps send a delivery token (with the stack API key) to read what is published to its environments. It reads only: it cannot
            change anything or see drafts.
          </p>
        </div>
      </div>
      <TokenTabs current="delivery" />
      <Loading loaded={loaded} label="Loading delivery tokens…">
        {(ctx) => (
          <>
            <TokenForm
              ctx={ctx}
              initial={{
                name: '',
                description: '',
                // One environment is the common case: picked for the user.
                environments: ctx.environments.length === 1 ? [ctx.environments[0].name] : [],
                branches: ['main'],
              }}
              class="panel delivery-token-form"
              heading="Create a delivery token"
              failed="The token was not created."
              submitLabel="Create delivery token"
              busyLabel="Creating…"
              nameInput={nameInput}
              onEnvironment={(env) => loaded.reload(true).then(() => env)}
              onSubmit={async (draft) => {
                const r = await post<{ token: DeliveryTokenDoc }>('/v3/stacks/delivery_tokens', deliveryTokenBody(draft));
                setCreated({ name: r.token.name, token: r.token.token, environment: draft.environments[0] });
                setAdded(r.token.uid);
                await loaded.reload(true);
                return { ...draft, name: '', description: '' };
              }}
            />
            {ctx.tokens.length === 0 ? (
              <EmptyState title="No delivery tokens yet">Create one above for each site or app, so you can revoke one without the others.</EmptyState>
            ) : (
              <TokenList
                tokens={ctx.tokens}
                caption="Delivery tokens of this stack"
                class="delivery-tokens"
                described
                columns={[
                  { label: 'Environments', cell: (t: DeliveryTokenDoc) => environmentsOf(t).join(', ') },
                  ...(ctx.branches.length > 1 ? [{ label: 'Branches', cell: (t: DeliveryTokenDoc) => branchesOf(t).join(', ') }] : []),
                  CREATED_COLUMN,
                ]}
                added={added}
                actions={(t) => (
                  <>
                    <a class="link-btn" href={href('tokens', 'delivery', t.uid)} aria-label={`Edit the delivery token ${t.name}`}>
                      Edit
                    </a>
                    <button type="button" class="link-btn danger" onClick={() => setDeleting(t)} aria-label={`Delete the delivery token ${t.name}`}>
                      Delete
                    </button>
                  </>
                )}
              />
            )}
            {props.editUid && (
              <EditDialog
                key={props.editUid}
                ctx={ctx}
                token={ctx.tokens.find((t) => t.uid === props.editUid)}
                onSaved={async (name) => {
                  notify(`Delivery token “${name}” saved.`);
                  await loaded.reload(true);
                  navigate('tokens', 'delivery');
                }}
                onClose={() => navigate('tokens', 'delivery')}
              />
            )}
          </>
        )}
      </Loading>
      {created && (
        <CreatedTokenDialog kind="Delivery token" name={created.name} token={created.token} usedIn="your site’s settings" onClose={() => (setCreated(null), nameInput.current?.focus())}>
          <p class="hint">A site reads published entries with the stack API key and this token, for example:</p>
          <pre class="code example" tabIndex={0} aria-label="An example request">
            <code>{readExample(location.origin, currentSession()?.api_key ?? '', created.environment, created.token, loaded.data?.exampleType)}</code>
          </pre>
        </CreatedTokenDialog>
      )}
      {deleting && (
        <DeleteTokenConfirm
          kind="Delivery token"
          token={deleting}
          path={`/v3/stacks/delivery_tokens/${encodeURIComponent(deleting.uid)}`}
          refused="Sites and apps using it can no longer read content."
          onDeleted={() => loaded.reload(true)}
          onClose={() => setDeleting(null)}
        />
      )}
    </section>
  );
}

/**
 * Rename or re-scope a token (PUT /v3/stacks/delivery_tokens/{uid}): the same fields as creating
 * one; its value stays, and the next request made with it reads what the new scope allows.
 */
function EditDialog(props: { ctx: Context; token: DeliveryTokenDoc | undefined; onSaved: (name: string) => Promise<void>; onClose: () => void }) {
  const { token } = props;
  return (
    <Dialog title="Edit delivery token" onClose={props.onClose}>
      {!token ? (
        <p>This delivery token does not exist any more: it was deleted.</p>
      ) : (
        <>
          <p class="hint">
            Its value stays <span class="mono">{token.token}</span>: sites using it read what the new environments allow from their next request.
          </p>
          <TokenForm
            ctx={props.ctx}
            initial={draftOf(token, props.ctx.environments)}
            class="delivery-token-edit"
            failed="The token was not saved."
            submitLabel="Save"
            busyLabel="Saving…"
            onCancel={props.onClose}
            onSubmit={async (draft) => {
              await put(`/v3/stacks/delivery_tokens/${encodeURIComponent(token.uid)}`, deliveryTokenBody(draft));
              await props.onSaved(draft.name.trim());
            }}
          />
        </>
      )}
    </Dialog>
  );
}

/**
 * A delivery token's name, description, environments and branches, checked before asking the
 * server; its problems are named at their fields and go as each is fixed. `onSubmit` sends the
 * draft and may answer the draft to show next (the create form empties its name).
 */
function TokenForm(props: {
  ctx: Context;
  initial: DeliveryTokenDraft;
  class: string;
  /** A heading inside the form (none in a dialog, which has its title). */
  heading?: string;
  /** The banner's first words when it fails. */
  failed: string;
  submitLabel: string;
  busyLabel: string;
  nameInput?: { current: HTMLInputElement | null };
  onSubmit: (draft: DeliveryTokenDraft) => Promise<DeliveryTokenDraft | void>;
  /** Offered when the stack has no environment: adds one and answers its name. */
  onEnvironment?: (name: string) => Promise<string>;
  /** A Cancel button beside the submit button. */
  onCancel?: () => void;
}) {
  const { environments, branches } = props.ctx;
  const [draft, setDraft] = useState<DeliveryTokenDraft>(props.initial);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [newEnv, setNewEnv] = useState('');
  const [envError, setEnvError] = useState<unknown>(null);
  const ids = useId();

  /** Changes the draft and forgets the problems of the fields changed (the banner goes with the last one). */
  const set = (patch: Partial<DeliveryTokenDraft>) => {
    setDraft((d) => ({ ...d, ...patch }));
    setError((e: unknown) => {
      if (!(e instanceof ApiError) || Object.keys(e.fields).length === 0) return e;
      const left = problemsLeft(e.fields, Object.keys(patch) as Array<keyof DeliveryTokenDraft>);
      const n = Object.keys(left).length;
      if (n === Object.keys(e.fields).length) return e;
      return n === 0 ? null : new ApiError(e.status, e.message, left);
    });
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    const local = deliveryTokenProblems(draft);
    if (Object.keys(local).length) return setError(new ApiError(0, 'Check the fields marked below.', local));
    setBusy(true);
    setError(null);
    try {
      const next = await props.onSubmit(draft);
      if (next) setDraft(next);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const createEnv = async () => {
    setEnvError(null);
    if (!newEnv.trim()) return setEnvError(new ApiError(0, 'Give the environment a name, such as production.'));
    try {
      const r = await post<{ environment: Environment }>('/v3/environments', { environment: { name: newEnv.trim() } });
      setNewEnv('');
      set({ environments: [...draft.environments, r.environment.name] });
      await props.onEnvironment?.(r.environment.name);
    } catch (err) {
      setEnvError(err);
    }
  };

  const f = (path: string) => fieldError(error, path);
  // Scope problems come back per place in the list (token.scope[0].environments): shown under Environments.
  const envProblems = error instanceof ApiError ? Object.entries(error.fields).filter(([k]) => k === 'token.scope' || /^token\.scope\[\d+\]\.environments$/.test(k)).flatMap(([, v]) => v) : [];
  const branchProblems = error instanceof ApiError ? Object.entries(error.fields).filter(([k]) => /^token\.scope\[\d+\]\.branches$/.test(k)).flatMap(([, v]) => v) : [];
  const placed = (k: string) => k === 'token.name' || k === 'token.description' || k === 'token.scope' || /^token\.scope\[\d+\]\.(environments|branches)$/.test(k);
  const unplaced = unplacedProblems(error, placed);

  return (
    <form class={props.class} onSubmit={submit} noValidate aria-describedby={error ? `${ids}-error` : undefined}>
      {props.heading && <h2>{props.heading}</h2>}
      {error ? (
        <div class="form-error" id={`${ids}-error`} role="alert">
          <p>
            <strong>{props.failed}</strong> {errorText(error)}
          </p>
          {unplaced.length > 0 && (
            <ul>
              {unplaced.map((p) => (
                <li key={p}>{p}</li>
              ))}
            </ul>
          )}
        </div>
      ) : null}
      <div class="two-col">
        <Field label="Token name" error={f('token.name')}>
          {(id, d) => (
            <input id={id} ref={props.nameInput} aria-describedby={d} aria-invalid={!!f('token.name')} value={draft.name} onInput={(e) => set({ name: valueOf(e) })} placeholder="Marketing site" />
          )}
        </Field>
        <Field label="Description (optional)" error={f('token.description')}>
          {(id, d) => <input id={id} aria-describedby={d} value={draft.description} onInput={(e) => set({ description: valueOf(e) })} placeholder="Read by the Next.js build" />}
        </Field>
      </div>
      <fieldset class="check-group token-scope" aria-describedby={envProblems.length ? `${ids}-envs-err` : undefined}>
        <legend>Environments it reads</legend>
        {environments.length === 0 ? (
          <p class="hint">This stack has no environment yet: entries are published to environments (development, production…). Add the first one:</p>
        ) : (
          <div class="check-row">
            {environments.map((env) => (
              <label class="check" key={env.uid}>
                <input
                  type="checkbox"
                  checked={draft.environments.includes(env.name)}
                  onChange={(e) => set({ environments: checkedOf(e) ? [...draft.environments, env.name] : draft.environments.filter((x) => x !== env.name) })}
                />{' '}
                {env.name}
              </label>
            ))}
          </div>
        )}
        {envProblems.length > 0 && (
          <p class="error" id={`${ids}-envs-err`}>
            {envProblems.join('; ')}
          </p>
        )}
      </fieldset>
      {environments.length === 0 && props.onEnvironment && (
        <div class="inline-form">
          <Field label="New environment" error={envError ? errorText(envError) : ''}>
            {(id, d) => (
              <input
                id={id}
                aria-describedby={d}
                value={newEnv}
                onInput={(e) => setNewEnv(valueOf(e))}
                onKeyDown={(e) => {
                  // Enter adds the environment here rather than submitting the token form.
                  if (e.key === 'Enter') (e.preventDefault(), void createEnv());
                }}
                placeholder="production"
              />
            )}
          </Field>
          <button type="button" class="btn btn-small" onClick={() => void createEnv()}>
            Add environment
          </button>
        </div>
      )}
      {branches.length > 1 && (
        <fieldset class="check-group token-scope">
          <legend>Branches it reads</legend>
          <div class="check-row">
            {branches.map((b) => (
              <label class="check" key={b}>
                <input type="checkbox" checked={draft.branches.includes(b)} onChange={(e) => set({ branches: checkedOf(e) ? [...draft.branches, b] : draft.branches.filter((x) => x !== b) })} /> {b}
              </label>
            ))}
          </div>
          {branchProblems.length > 0 && <p class="error">{branchProblems.join('; ')}</p>}
        </fieldset>
      )}
      <div class={props.onCancel ? 'actions' : 'actions-left'}>
        {props.onCancel && (
          <button type="button" class="btn" onClick={props.onCancel} disabled={busy}>
            Cancel
          </button>
        )}
        <button type="submit" class="btn btn-primary" disabled={busy}>
          {busy ? <Spinner label={props.busyLabel} /> : props.submitLabel}
        </button>
      </div>
    </form>
  );
}
