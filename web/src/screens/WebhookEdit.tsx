import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, fieldError, fieldErrorsUnder, get, unplacedProblems } from '../api.ts';
import { WebhookHeader } from '../components/WebhookHeader.tsx';
import { WhenEditor, type ContentTypeRef } from '../components/WhenEditor.tsx';
import { checkedOf, Confirm, CopyButton, Dialog, ErrorText, Field, Loading, Spinner, useLoad, valueOf } from '../components/ui.tsx';
import { notify } from '../notice.ts';
import { href, navigate } from '../router.ts';
import { WebhookPreview } from '../components/WebhookPreview.tsx';
import { TestEvent } from '../components/TestEvent.tsx';
import { EventSchemas } from '../components/EventSchemas.tsx';
import { RelayInfo } from '../components/RelayInfo.tsx';
import { AUTH_LABELS, DESTINATION_KINDS, destinationKind, FORMAT_LABELS, sendsHttp, formProblems, headerDraft, notifierList, toBody, toForm, type HeaderDraft, type WebhookForm, type WebhookView } from '../webhook-form.ts';
import { createWebhook, getSigningSecret, getWebhook, listWebhooks, rotateSigningSecret, updateWebhook } from '../webhooks-api.ts';

interface Context {
  webhook?: WebhookView;
  branches: string[];
  contentTypes: ContentTypeRef[];
  /** The stack's other webhooks, to warn about a name already in use. */
  others: Array<{ uid: string; name: string }>;
}

/** "+ New Webhook" and a webhook's Details tab: the form of seed 003. */
export function WebhookEdit(props: { uid?: string }) {
  const loaded = useLoad<Context>(async () => {
    const [webhook, branches, cts, all] = await Promise.all([
      props.uid ? getWebhook(props.uid) : Promise.resolve(undefined),
      get<{ branches: Array<{ uid: string }> }>('/v3/stacks/branches', { limit: 100 }).then((r) => r.branches.map((b) => b.uid)),
      get<{ content_types: ContentTypeRef[] }>('/v3/content_types', { limit: 100 }).then((r) => r.content_types),
      listWebhooks().then((r) => r.webhooks.map((w) => ({ uid: w.uid, name: w.name }))),
    ]);
    return { webhook, branches, contentTypes: cts, others: all.filter((w) => w.uid !== props.uid) };
  }, [props.uid]);
  const [webhook, setWebhook] = useState<WebhookView | undefined>(undefined);

  return (
    <section>
      <Loading loaded={loaded} label="Loading the webhook…">
        {(ctx) => {
          const w = webhook ?? ctx.webhook;
          return (
            <>
              {w ? (
                <WebhookHeader webhook={w} tab="details" onChange={setWebhook} />
              ) : (
                <div class="page-head">
                  <div>
                    <p class="crumbs">
                      <a href={href('webhooks')}>Settings › Webhooks</a>
                    </p>
                    <h1>New Webhook</h1>
                  </div>
                </div>
              )}
              <Form key={w ? `${w.uid}:${w.updated_at}:${w.disabled}` : 'new'} ctx={ctx} webhook={w} onSaved={setWebhook} />
            </>
          );
        }}
      </Loading>
    </section>
  );
}

/** Where the API (and `formProblems`) reports problems with each part of the form. */
const ERROR_PATHS: Partial<Record<keyof WebhookForm, string[]>> = {
  name: ['name'],
  url: ['destinations.0.target_url'],
  username: ['destinations.0.http_basic_auth'],
  password: ['destinations.0.http_basic_password'],
  removePassword: ['destinations.0.http_basic_password'],
  authType: ['destinations.0.authentication_type', 'destinations.0.http_basic_auth', 'destinations.0.access_token_url', 'destinations.0.client_id', 'destinations.0.client_secret', 'destinations.0.bearer_token'],
  tokenUrl: ['destinations.0.access_token_url'],
  clientId: ['destinations.0.client_id'],
  clientSecret: ['destinations.0.client_secret'],
  scope: ['destinations.0.scope'],
  queryParams: ['destinations.0.request_query_parameters'],
  bearerToken: ['destinations.0.bearer_token'],
  clientCert: ['destinations.0.client_certificate'],
  clientKey: ['destinations.0.client_key'],
  caCert: ['destinations.0.ca_certificate'],
  headers: ['destinations.0.custom_header'],
  channels: ['channels'],
  conditions: ['conditions'],
  branches: ['branches'],
  concise: ['concise_payload'],
  enabled: ['disabled'],
  // A batch is refused for other formats than Contentstack JSON (filed under batch).
  format: ['format', 'format_options', 'batch'],
  ceMode: ['format_options'],
  notifiers: ['notifiers'],
  // Toggling batches also settles "a rate limit cannot be combined with batches" (filed under rate_limit).
  batchOn: ['batch', 'rate_limit'],
  batchMax: ['batch.max_events'],
  batchWindow: ['batch.window_ms'],
  debounce: ['debounce_ms'],
  rateOn: ['rate_limit'],
  rateMax: ['rate_limit.max'],
  ratePer: ['rate_limit.max', 'rate_limit.per'],
};

/**
 * The key a problem of the When editor itself (a condition without a value, JSON that does not
 * parse) is filed under: no API field, so it goes when the editor says the problem is gone.
 */
const WHEN_EDITOR = 'when';

/**
 * The error without the problems of `paths` (and of fields under them); null once no field
 * problem is left of an error that was about fields. Other errors (the server unreachable) stay
 * until the next save.
 */
function withoutProblems(error: unknown, paths: string[]): unknown {
  if (!(error instanceof ApiError) || Object.keys(error.fields).length === 0) return error;
  const under = (k: string) => paths.some((p) => k === p || k.startsWith(p + '.') || k.startsWith(p + '['));
  const left = Object.entries(error.fields).filter(([k]) => !under(k));
  if (left.length === Object.keys(error.fields).length) return error;
  if (left.length === 0) return null;
  const [k, v] = left[0]!;
  return new ApiError(error.status, `Check the form: ${k.replace(/^destinations\.0\./, '')} ${v[0]}${left.length > 1 ? ` (and ${left.length - 1} more)` : ''}.`, Object.fromEntries(left));
}

function Form(props: { ctx: Context; webhook?: WebhookView; onSaved: (w: WebhookView) => void }) {
  const existing = props.webhook;
  const [form, setForm] = useState<WebhookForm>(() => toForm(existing));
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [codeProblem, setCodeProblem] = useState<string | null>(null);
  const [created, setCreated] = useState<{ uid: string; secret: string } | null>(null);
  // The header row just added: its name input gets the focus.
  const [addedHeader, setAddedHeader] = useState<number | null>(null);
  /**
   * Changes the form and forgets the problems of what changed: a field's error (and the banner, once
   * no problem is left) goes as soon as the user edits that field, not at the next save.
   */
  const set = (patch: Partial<WebhookForm>, fixes: string[] = Object.keys(patch).flatMap((k) => ERROR_PATHS[k as keyof WebhookForm] ?? [])) => {
    setForm((f) => ({ ...f, ...patch }));
    if (fixes.length) setError((e: unknown) => withoutProblems(e, fixes));
  };
  const setHeader = (i: number, patch: Partial<HeaderDraft>) =>
    set({ headers: form.headers.map((h, j) => (j === i ? { ...h, ...patch } : h)) }, [`destinations.0.custom_header.${i}`]);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (codeProblem) return setError(new ApiError(0, codeProblem, { [WHEN_EDITOR]: [codeProblem] }));
    const local = formProblems(form);
    if (Object.keys(local).length) {
      const [k, v] = Object.entries(local)[0];
      return setError(new ApiError(0, `Check the form: ${k.replace(/^destinations\.0\./, '')} ${v[0]}.`, local));
    }
    setBusy(true);
    setError(null);
    try {
      if (existing) {
        const saved = await updateWebhook(existing.uid, toBody(form));
        notify('Webhook saved.');
        props.onSaved(saved);
      } else {
        const saved = await createWebhook(toBody(form));
        notify('Webhook created.');
        if (saved.signing_secret) setCreated({ uid: saved.uid, secret: saved.signing_secret });
        else navigate('webhooks', saved.uid);
      }
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const f = (path: string) => fieldError(error, path);
  // The server names an address by its place in the list (notifiers.1); the form names it as typed.
  const typedNotifiers = notifierList(form.notifiers);
  const notifierErrors =
    error instanceof ApiError
      ? Object.entries(error.fields)
          .filter(([k]) => k === 'notifiers' || k.startsWith('notifiers.'))
          .flatMap(([k, list]) => list.map((p) => (k === 'notifiers' ? p : `${typedNotifiers[Number(k.slice('notifiers.'.length))] ?? k}: ${p}`)))
      : [];
  const sameName = form.name.trim() ? props.ctx.others.find((w) => w.name.trim().toLowerCase() === form.name.trim().toLowerCase()) : undefined;
  const dest = 'destinations.0';
  const headerErrors = fieldErrorsUnder(error, `${dest}.custom_header`).filter((p) => !/^destinations\.0\.custom_header\.\d+\./.test(p));
  const whenErrors = [...fieldErrorsUnder(error, 'channels'), ...fieldErrorsUnder(error, 'conditions')];
  // The summary says what went wrong; fields say where. Field errors the form has no place for are listed.
  const placed = /^(name|channels|conditions|branches|concise_payload|disabled|notifiers|format|format_options|batch|debounce_ms|rate_limit|destinations\.0\.(target_url|http_basic_auth|http_basic_password|custom_header|authentication_type|access_token_url|client_id|client_secret|scope|request_query_parameters|bearer_token|client_certificate|client_key|ca_certificate))/;
  const unplaced = unplacedProblems(error, (k) => placed.test(k));

  return (
    <form class="webhook-form" onSubmit={submit} noValidate aria-describedby={error ? 'form-error' : undefined}>
      {error ? (
        <div class="form-error" id="form-error" role="alert">
          <p>
            <strong>The webhook was not saved.</strong> {(error as Error).message}
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

      <div class="form-section">
        <h2>Details</h2>
        <Field
          label="Name"
          error={f('name')}
          hint={
            sameName ? (
              <span class="warn-text" role="status">
                Another webhook is already named “{sameName.name}”. Herald allows it, but the list and its logs will be hard to tell apart.
              </span>
            ) : undefined
          }
        >
          {(id, d) => <input id={id} aria-describedby={d} aria-invalid={!!f('name')} value={form.name} onInput={(e) => set({ name: valueOf(e) })} placeholder="Rebuild the site" />}
        </Field>
        <Field
          label="URL to notify"
          error={f(`${dest}.target_url`)}
          hint={
            <>
              Herald sends the change as JSON here when one of the events below happens. The scheme picks the kind of destination:
              <ul class="url-kinds">
                {DESTINATION_KINDS.map(([scheme, what, example]) => (
                  <li key={scheme}>
                    <code>{scheme}</code> {what}, e.g. <code>{example}</code>
                  </li>
                ))}
              </ul>
              A broker URL's password is a secret: once saved it is shown masked, and sending the URL back unchanged keeps it.
            </>
          }
        >
          {(id, d) => (
            <input
              id={id}
              type="url"
              inputMode="url"
              aria-describedby={d}
              aria-invalid={!!f(`${dest}.target_url`)}
              value={form.url}
              onInput={(e) => set({ url: valueOf(e) })}
              placeholder="https://example.com/hooks/herald"
              spellcheck={false}
            />
          )}
        </Field>
        {destinationKind(form.url) === 'relay' && <RelayInfo uid={existing?.uid} />}
      </div>

      <div class="form-section">
        <h2>Security</h2>
        {!sendsHttp(form.url) ? (
          <p class="hint">A {destinationKind(form.url)} destination authenticates with the user and password in its URL. Custom headers below travel as message headers.</p>
        ) : (
          <>
            <Field label="Authentication" error={f(`${dest}.authentication_type`)}>
              {(id, d) => (
                <select id={id} aria-describedby={d} value={form.authType} onChange={(e) => set({ authType: valueOf(e) as WebhookForm['authType'] })}>
                  {AUTH_LABELS.map(([v, l]) => (
                    <option key={v} value={v}>
                      {l}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            {form.authType === 'Basic' && (
              <>
                <div class="two-col">
                  <Field label="HTTP basic auth username" error={f(`${dest}.http_basic_auth`)}>
                    {(id, d) => <input id={id} aria-describedby={d} value={form.username} onInput={(e) => set({ username: valueOf(e) })} autoComplete="off" spellcheck={false} />}
                  </Field>
                  <Field
                    label="HTTP basic auth password"
                    error={f(`${dest}.http_basic_password`)}
                    hint={form.passwordStored && !form.removePassword ? 'A password is set. It is never shown; leave this empty to keep it, or type a new one.' : undefined}
                  >
                    {(id, d) => (
                      <input
                        id={id}
                        type="password"
                        aria-describedby={d}
                        value={form.password}
                        onInput={(e) => set({ password: valueOf(e), removePassword: false })}
                        placeholder={form.passwordStored && !form.removePassword ? '•••••••• (unchanged)' : ''}
                        autoComplete="new-password"
                        disabled={form.removePassword}
                      />
                    )}
                  </Field>
                </div>
                {form.passwordStored && (
                  <label class="check">
                    <input type="checkbox" checked={form.removePassword} onChange={(e) => set({ removePassword: checkedOf(e), password: '' })} /> Remove the stored password
                  </label>
                )}
              </>
            )}
            {form.authType === 'OAuth2' && (
              <div class="oauth-fields">
                <Field label="Access token URL" error={f(`${dest}.access_token_url`)} hint="Herald asks it for a token (client credentials grant), keeps it until it expires, and sends it as Authorization: Bearer.">
                  {(id, d) => <input id={id} type="url" aria-describedby={d} value={form.tokenUrl} onInput={(e) => set({ tokenUrl: valueOf(e) })} placeholder="https://auth.example.com/oauth/token" spellcheck={false} />}
                </Field>
                <div class="two-col">
                  <Field label="Client ID" error={f(`${dest}.client_id`)}>
                    {(id, d) => <input id={id} aria-describedby={d} value={form.clientId} onInput={(e) => set({ clientId: valueOf(e) })} autoComplete="off" spellcheck={false} />}
                  </Field>
                  <Field label="Client secret" error={f(`${dest}.client_secret`)} hint={form.clientSecretStored ? 'A client secret is set. It is never shown; leave this empty to keep it, or type a new one.' : undefined}>
                    {(id, d) => (
                      <input id={id} type="password" aria-describedby={d} value={form.clientSecret} onInput={(e) => set({ clientSecret: valueOf(e) })} placeholder={form.clientSecretStored ? '•••••••• (unchanged)' : ''} autoComplete="new-password" />
                    )}
                  </Field>
                </div>
                <div class="two-col">
                  <Field label="Scope (optional)" error={f(`${dest}.scope`)}>
                    {(id, d) => <input id={id} aria-describedby={d} value={form.scope} onInput={(e) => set({ scope: valueOf(e) })} spellcheck={false} />}
                  </Field>
                  <Field label="Request query parameters (optional)" error={f(`${dest}.request_query_parameters`)} hint="key=value pairs joined by &, added to the token URL.">
                    {(id, d) => <input id={id} aria-describedby={d} value={form.queryParams} onInput={(e) => set({ queryParams: valueOf(e) })} placeholder="audience=cms" spellcheck={false} />}
                  </Field>
                </div>
              </div>
            )}
            {form.authType === 'Bearer' && (
              <Field label="Bearer token" error={f(`${dest}.bearer_token`)} hint={form.bearerStored ? 'A token is set. It is never shown; leave this empty to keep it, or type a new one.' : 'Sent as Authorization: Bearer <token>.'}>
                {(id, d) => (
                  <input id={id} type="password" aria-describedby={d} value={form.bearerToken} onInput={(e) => set({ bearerToken: valueOf(e) })} placeholder={form.bearerStored ? '•••••••• (unchanged)' : ''} autoComplete="new-password" />
                )}
              </Field>
            )}
            <details class="mtls" open={!!(form.clientCert || form.caCert)}>
              <summary>Mutual TLS (https only)</summary>
              <Field label="Client certificate (PEM)" error={f(`${dest}.client_certificate`)}>
                {(id, d) => <textarea id={id} aria-describedby={d} rows={4} value={form.clientCert} onInput={(e) => set({ clientCert: valueOf(e) })} placeholder="-----BEGIN CERTIFICATE-----" spellcheck={false} />}
              </Field>
              <Field label="Client key (PEM)" error={f(`${dest}.client_key`)} hint={form.clientKeyStored ? 'A key is set. It is never shown; leave this empty to keep it, or paste a new one.' : 'Unencrypted; it must belong to the certificate.'}>
                {(id, d) => (
                  <textarea id={id} aria-describedby={d} rows={4} value={form.clientKey} onInput={(e) => set({ clientKey: valueOf(e) })} placeholder={form.clientKeyStored ? '(unchanged)' : '-----BEGIN PRIVATE KEY-----'} spellcheck={false} autoComplete="off" />
                )}
              </Field>
              <Field label="CA certificates to trust (PEM, optional)" error={f(`${dest}.ca_certificate`)} hint="Trusted for this endpoint instead of the system's certificate authorities.">
                {(id, d) => <textarea id={id} aria-describedby={d} rows={4} value={form.caCert} onInput={(e) => set({ caCert: valueOf(e) })} placeholder="-----BEGIN CERTIFICATE-----" spellcheck={false} />}
              </Field>
            </details>
          </>
        )}
        <fieldset class="headers">
          <legend>Custom headers</legend>
          <p class="hint">Sent with every call, so your endpoint can check it comes from Herald. Mark a value secret to keep it hidden once saved.</p>
          {form.headers.length > 0 && (
            <ol class="header-rows">
              {form.headers.map((h, i) => (
                <HeaderRow
                  key={h.id}
                  n={i + 1}
                  focus={h.id === addedHeader}
                  h={h}
                  nameError={f(`${dest}.custom_header.${i}.header_name`)}
                  valueError={f(`${dest}.custom_header.${i}.value`) || f(`${dest}.custom_header.${i}.secret`)}
                  onChange={(patch) => setHeader(i, patch)}
                  onRemove={() => set({ headers: form.headers.filter((_, j) => j !== i) }, ['destinations.0.custom_header'])}
                />
              ))}
            </ol>
          )}
          {headerErrors.map((p) => (
            <p class="error" key={p}>
              {p}
            </p>
          ))}
          <button type="button" class="btn btn-small" onClick={() => {
              const h = headerDraft();
              setAddedHeader(h.id);
              set({ headers: [...form.headers, h] }, []);
            }} aria-label="Add a custom header">
            + Add header
          </button>
        </fieldset>
      </div>

      <div class="form-section">
        <h2>When</h2>
        <p class="hint">Pick the events that trigger the webhook. It is called once for each event that matches any of them.</p>
        <WhenEditor
          channels={form.channels}
          conditions={form.conditions}
          contentTypes={props.ctx.contentTypes}
          errors={whenErrors}
          onChange={(channels, conditions) => set({ channels, conditions })}
          onValidity={(problem) => {
            setCodeProblem(problem);
            if (!problem) setError((e: unknown) => withoutProblems(e, [WHEN_EDITOR]));
          }}
        />
      </div>

      <div class="form-section">
        <h2>Options</h2>
        <fieldset class="branches">
          <legend>Branches</legend>
          {props.ctx.webhook?.all_branches && (
            <label class="check">
              <input type="checkbox" checked={form.allBranches} onChange={(e) => set({ allBranches: checkedOf(e), branches: checkedOf(e) ? form.branches : props.ctx.branches })} />{' '}
              Every branch, those made later too (as Contentful webhooks fire in every environment)
            </label>
          )}
          <div class="check-row">
            {props.ctx.branches.map((b) => (
              <label class="check" key={b}>
                <input
                  type="checkbox"
                  disabled={form.allBranches}
                  checked={form.allBranches || form.branches.includes(b)}
                  onChange={(e) => set({ branches: checkedOf(e) ? [...form.branches, b] : form.branches.filter((x) => x !== b) })}
                />{' '}
                {b}
              </label>
            ))}
          </div>
          {(fieldError(error, 'branches') || fieldErrorsUnder(error, 'branches').length > 0) && <p class="error">{fieldErrorsUnder(error, 'branches').join('; ')}</p>}
        </fieldset>
        {form.format === 'contentful' ? (
          <p class="hint">Payload format: Contentful (this webhook was made through the Contentful API, which sets its format and transformation).</p>
        ) : (
          <Field label="Payload format" error={f('format') || fieldErrorsUnder(error, 'format_options').join('; ')} hint="CloudEvents 1.0 wraps the same payload for receivers that read CloudEvents (the cloudevents SDKs, Knative, Azure Event Grid…).">
            {(id, d) => (
              <select id={id} aria-describedby={d} value={form.format} onChange={(e) => set({ format: valueOf(e) })}>
                {FORMAT_LABELS.map(([v, l]) => (
                  <option key={v} value={v}>
                    {l}
                  </option>
                ))}
              </select>
            )}
          </Field>
        )}
        {form.format === 'cloudevents' && (
          <fieldset class="ce-mode">
            <legend>CloudEvents mode</legend>
            <label class="check">
              <input type="radio" name="ce-mode" checked={form.ceMode === 'binary'} onChange={() => set({ ceMode: 'binary' })} /> Binary{' '}
              <span class="muted">— the body is the payload; the event's attributes travel as ce-* headers</span>
            </label>
            <label class="check">
              <input type="radio" name="ce-mode" checked={form.ceMode === 'structured'} onChange={() => set({ ceMode: 'structured' })} /> Structured{' '}
              <span class="muted">— the body is the whole event (application/cloudevents+json)</span>
            </label>
          </fieldset>
        )}
        <label class="check">
          <input type="checkbox" checked={form.concise} onChange={(e) => set({ concise: checkedOf(e) })} /> Concise payload{' '}
          <span class="muted">— send uids and metadata only, not the whole entry</span>
        </label>
        <label class="check">
          <input type="checkbox" checked={form.enabled} onChange={(e) => set({ enabled: checkedOf(e) })} /> Enabled
        </label>
        <Field
          label="Email when Herald disables it"
          error={notifierErrors.join('; ')}
          hint="Up to 10 addresses, separated by commas. Herald writes to them when its circuit breaker or a 410 Gone turns this webhook off (sent through the server's --smtp-url)."
        >
          {(id, d) => (
            <input id={id} aria-describedby={d} aria-invalid={notifierErrors.length > 0} type="text" value={form.notifiers} placeholder="ops@example.com, web-team@example.com" onInput={(e) => set({ notifiers: valueOf(e) })} />
          )}
        </Field>
      </div>

      <div class="form-section storms">
        <h2>Event storms</h2>
        <p class="hint">When many changes come at once (a bulk publish, an import): fewer calls, or calls at a pace the endpoint can take. Each is off unless set.</p>
        <label class="check">
          <input type="checkbox" checked={form.batchOn} aria-describedby={f('batch') ? 'batch-error' : undefined} aria-invalid={!!f('batch')} disabled={form.format !== 'contentstack' && !form.batchOn} onChange={(e) => set({ batchOn: checkedOf(e) })} /> Send events in batches{' '}
          <span class="muted">
            — one call carries several events as {'{"events": [...]}'}
            {form.format !== 'contentstack' ? ' (Contentstack JSON format only)' : ''}
          </span>
        </label>
        {f('batch') ? (
          <p class="error" id="batch-error">
            batch {f('batch')}
          </p>
        ) : null}
        {form.batchOn && (
          <div class="two-col">
            <Field label="Events per call at most" error={f('batch.max_events')} hint="1 to 1000; a batch this big goes at once.">
              {(id, d) => (
                <input id={id} aria-describedby={d} aria-invalid={!!f('batch.max_events')} type="number" inputMode="numeric" min={1} max={1000} value={form.batchMax} onInput={(e) => set({ batchMax: valueOf(e) })} />
              )}
            </Field>
            <Field label="Wait for more events, ms" error={f('batch.window_ms')} hint="10 to 60000: how long the first event of a batch waits for others.">
              {(id, d) => (
                <input id={id} aria-describedby={d} aria-invalid={!!f('batch.window_ms')} type="number" inputMode="numeric" min={10} max={60000} value={form.batchWindow} onInput={(e) => set({ batchWindow: valueOf(e) })} />
              )}
            </Field>
          </div>
        )}
        <Field
          label="Debounce, ms"
          error={f('debounce_ms')}
          hint="0 (off) to 300000: changes of one entry within this time become one call, with its latest state. Deletes and unpublishes are never held."
        >
          {(id, d) => (
            <input id={id} aria-describedby={d} aria-invalid={!!f('debounce_ms')} type="number" inputMode="numeric" min={0} max={300000} value={form.debounce} onInput={(e) => set({ debounce: valueOf(e) })} />
          )}
        </Field>
        <label class="check">
          <input type="checkbox" checked={form.rateOn} aria-describedby={f('rate_limit') ? 'rate-limit-error' : undefined} aria-invalid={!!f('rate_limit')} onChange={(e) => set({ rateOn: checkedOf(e) })} /> Limit the rate{' '}
          <span class="muted">— calls start at most so many per second or minute, evenly spaced; the others wait their turn</span>
        </label>
        {f('rate_limit') ? (
          <p class="error" id="rate-limit-error">
            rate limit {f('rate_limit')}
          </p>
        ) : null}
        {form.rateOn && (
          <div class="two-col">
            <Field label="Calls at most" error={f('rate_limit.max')}>
              {(id, d) => (
                <input id={id} aria-describedby={d} aria-invalid={!!f('rate_limit.max')} type="number" inputMode="numeric" min={1} value={form.rateMax} onInput={(e) => set({ rateMax: valueOf(e) })} />
              )}
            </Field>
            <Field label="Per" error={f('rate_limit.per')}>
              {(id, d) => (
                <select id={id} aria-describedby={d} value={form.ratePer} onChange={(e) => set({ ratePer: valueOf(e) as WebhookForm['ratePer'] })}>
                  <option value="second">second</option>
                  <option value="minute">minute</option>
                </select>
              )}
            </Field>
          </div>
        )}
      </div>

      <div class="form-section">
        <h2>Payloads</h2>
        <p class="hint">What your endpoint receives for each kind of event picked under When: an example, and its JSON Schema (all of them: GET /v3/webhooks/schemas).</p>
        <EventSchemas channels={form.channels} format={form.format} mode={form.format === 'cloudevents' ? form.ceMode : undefined} />
      </div>

      <div class="form-actions">
        <button type="submit" class="btn btn-primary" disabled={busy}>
          {busy ? <Spinner label="Saving…" /> : existing ? 'Save' : 'Create webhook'}
        </button>
        <WebhookPreview body={() => toBody(form)} uid={existing?.uid} />
        {existing && <TestEvent uid={existing.uid} channels={existing.channels} />}
        <a class="btn" href={href('webhooks')}>
          Cancel
        </a>
      </div>

      {existing && <SigningSecret uid={existing.uid} />}

      {created && (
        <Dialog title="Webhook created" onClose={() => navigate('webhooks', created.uid)}>
          <p>Every call is signed with this secret (Standard Webhooks). Give it to your endpoint so it can check calls come from Herald.</p>
          <div class="copy-row">
            <p class="secret-box mono" tabIndex={0}>
              {created.secret}
            </p>
            <CopyButton value={created.secret} what="signing secret" />
          </div>
          <p class="hint">You can see it again later under “Signing secret” on the webhook’s Details tab.</p>
          <div class="actions">
            <button type="button" class="btn btn-primary" autoFocus onClick={() => navigate('webhooks', created.uid)}>
              Done
            </button>
          </div>
        </Dialog>
      )}
    </form>
  );
}

function HeaderRow(props: { n: number; h: HeaderDraft; focus?: boolean; nameError: string; valueError: string; onChange: (p: Partial<HeaderDraft>) => void; onRemove: () => void }) {
  const { h, n } = props;
  const keeps = !!h.stored && h.value === '';
  const ref = useRef<HTMLLIElement>(null);
  useEffect(() => {
    if (props.focus) ref.current?.querySelector('input')?.focus();
  }, []);
  return (
    <li class="header-row" ref={ref}>
      <Field label={`Header ${n} name`} error={props.nameError} class="grow">
        {(id, d) => <input id={id} aria-describedby={d} value={h.name} onInput={(e) => props.onChange({ name: valueOf(e) })} placeholder="X-Token" spellcheck={false} />}
      </Field>
      <Field label={`Header ${n} value`} error={props.valueError} class="grow" hint={keeps ? `Secret, stored (${h.stored!.mask}). Leave empty to keep it.` : undefined}>
        {(id, d) => (
          <input
            id={id}
            aria-describedby={d}
            type={h.secret ? 'password' : 'text'}
            value={h.value}
            onInput={(e) => props.onChange({ value: valueOf(e) })}
            placeholder={keeps ? '•••••••• (unchanged)' : ''}
            autoComplete="off"
            spellcheck={false}
          />
        )}
      </Field>
      <label class="check secret-check" title={h.stored ? 'A secret header stays secret' : undefined}>
        <input type="checkbox" checked={h.secret} disabled={!!h.stored} onChange={(e) => props.onChange({ secret: checkedOf(e) })} aria-label={`Header ${n} is secret`} /> Secret
      </label>
      <button type="button" class="btn icon-btn remove" onClick={props.onRemove} aria-label={`Remove header ${n}`} title="Remove">
        ×
      </button>
    </li>
  );
}

/** The webhook's signing secret: hidden until asked for (GET .../secret), and rotation. */
function SigningSecret(props: { uid: string }) {
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [rotating, setRotating] = useState(false);
  const reveal = async () => {
    setBusy(true);
    setError(null);
    try {
      setSecret((await getSigningSecret(props.uid)).signing_secret);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="form-section">
      <h2>Signing secret</h2>
      <p class="hint">
        Each call carries <code>webhook-signature</code> (Standard Webhooks), signed with this secret. After a rotation the old secret keeps signing for 24
        hours.
      </p>
      {secret ? (
        <div class="copy-row">
          <p class="secret-box mono" tabIndex={0}>
            {secret}
          </p>
          <CopyButton value={secret} what="signing secret" />
        </div>
      ) : null}
      <div class="actions-left">
        {secret ? (
          <button type="button" class="btn btn-small" onClick={() => setSecret(null)}>
            Hide
          </button>
        ) : (
          <button type="button" class="btn btn-small" onClick={reveal} disabled={busy}>
            {busy ? <Spinner label="Loading…" /> : 'Reveal signing secret'}
          </button>
        )}
        <button type="button" class="btn btn-small" onClick={() => setRotating(true)}>
          Rotate…
        </button>
      </div>
      <ErrorText error={error} />
      {rotating && (
        <Confirm
          title="Rotate the signing secret"
          confirmLabel="Rotate"
          message={<p>A new secret signs every call from now on; the current one keeps signing too for 24 hours, so update your endpoint within that time.</p>}
          onConfirm={async () => {
            setSecret((await rotateSigningSecret(props.uid)).signing_secret);
            notify('Signing secret rotated.');
          }}
          onClose={() => setRotating(false)}
        />
      )}
    </div>
  );
}
