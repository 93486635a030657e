import { useEffect, useRef, useState } from 'preact/hooks';
import { callStatus, EVENT_LABELS, httpStatusText, onHold, STATE_LABELS } from '../call-status.ts';
import { HealthChart } from '../components/HealthChart.tsx';
import { WebhookHeader } from '../components/WebhookHeader.tsx';
import { Replay } from '../components/Replay.tsx';
import { Badge, Code, Dialog, EmptyState, ErrorText, Field, HeaderTable, Loading, Spinner, TimeAgo, useLoad, valueOf } from '../components/ui.tsx';
import { errorText } from '../api.ts';
import { notify } from '../notice.ts';
import { href, navigate } from '../router.ts';
import { duration, fromLocalInput } from '../time.ts';
import type { WebhookView } from '../webhook-form.ts';
import {
  attemptOutcome,
  BUSY_STATES,
  getExecution,
  getStats,
  getWebhook,
  listExecutions,
  retryAndWait,
  type Attempt,
  type Execution,
  type ExecutionFilter,
} from '../webhooks-api.ts';
import { post } from '../api.ts';

/** Executions per page of the Logs tab. */
const PAGE = 25;
/** How often the Logs tab refreshes itself, ms, so new calls appear without a reload. */
const REFRESH_MS = 3000;

/**
 * The Logs tab (seed 003): newest first, "Webhook Called At" humanised with the exact time on
 * hover, "Call Status", attempts, "Call Details" (request and response of each attempt) and the
 * "Retry" link, which sends the call again and shows the new attempt. Filters by status and time.
 */
export function WebhookLogs(props: { uid: string; executionUid?: string }) {
  const hook = useLoad(() => getWebhook(props.uid), [props.uid]);
  const [webhook, setWebhook] = useState<WebhookView | undefined>(undefined);
  const [state, setState] = useState('');
  const [event, setEvent] = useState('');
  const [typed, setTyped] = useState('');
  const [q, setQ] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [skip, setSkip] = useState(0);
  const [retryAll, setRetryAll] = useState(false);
  const [replay, setReplay] = useState(false);
  // The search applies once typing pauses, not on every key.
  useEffect(() => {
    const t = setTimeout(() => (setQ(typed.trim()), setSkip(0)), 250);
    return () => clearTimeout(t);
  }, [typed]);
  const filter: ExecutionFilter = {
    ...(state === 'any_failure' ? { failed: 'any' } : { state: state || undefined }),
    event: event || undefined,
    q: q || undefined,
    from: fromLocalInput(from),
    to: fromLocalInput(to),
  };
  const list = useLoad(() => listExecutions(props.uid, { skip, limit: PAGE, ...filter }), [props.uid, skip, state, event, q, from, to]);
  const stats = useLoad(() => getStats(props.uid), [props.uid]);
  const shownWebhook = webhook ?? hook.data;
  const [retrying, setRetrying] = useState<Record<string, boolean>>({});
  const [retryErrors, setRetryErrors] = useState<Record<string, unknown>>({});
  const [detailsVersion, setDetailsVersion] = useState(0);

  // Refresh on a timer while the tab is visible.
  const reload = useRef(list.reload);
  reload.current = list.reload;
  useEffect(() => {
    const t = setInterval(() => {
      if (document.visibilityState === 'visible') void reload.current(true);
    }, REFRESH_MS);
    return () => clearInterval(t);
  }, []);
  const reloadStats = useRef(stats.reload);
  reloadStats.current = stats.reload;
  useEffect(() => {
    const t = setInterval(() => {
      if (document.visibilityState === 'visible') void reloadStats.current(true);
    }, REFRESH_MS * 5);
    return () => clearInterval(t);
  }, []);

  const retry = async (x: Execution) => {
    setRetrying((r) => ({ ...r, [x.uid]: true }));
    setRetryErrors((r) => ({ ...r, [x.uid]: null }));
    try {
      const { attempt } = await retryAndWait(props.uid, x);
      notify(
        attempt
          ? `Retried: attempt ${attempt.attempt} ${retryVerb(attempt)} ${attemptOutcome(attempt, httpStatusText)}.`
          : 'Retry sent; the new attempt has not finished yet. The log updates when it does.',
      );
      await list.reload();
      setDetailsVersion((v) => v + 1);
    } catch (err) {
      setRetryErrors((r) => ({ ...r, [x.uid]: err }));
    } finally {
      setRetrying((r) => ({ ...r, [x.uid]: false }));
    }
  };

  const filtered = !!(state || event || q || from || to);
  const clear = () => {
    setState('');
    setEvent('');
    setTyped('');
    setQ('');
    setFrom('');
    setTo('');
    setSkip(0);
  };

  return (
    <section>
      <Loading loaded={hook} label="Loading the webhook…">
        {(w) => <WebhookHeader webhook={webhook ?? w} tab="logs" onChange={setWebhook} />}
      </Loading>
      {stats.data && <HealthChart stats={stats.data} />}
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filter the log">
        <Field label="Search by entry" class="filter-search">
          {(id) => <input id={id} type="search" value={typed} placeholder="Entry title or uid" onInput={(e) => setTyped(valueOf(e))} />}
        </Field>
        <Field label="Event">
          {(id) => (
            <select id={id} value={event} onChange={(e) => (setEvent(valueOf(e)), setSkip(0))}>
              {EVENT_LABELS.map(([v, l]) => (
                <option key={v} value={v}>
                  {l}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Status">
          {(id) => (
            <select id={id} value={state} onChange={(e) => (setState(valueOf(e)), setSkip(0))}>
              {STATE_LABELS.map(([v, l]) => (
                <option key={v} value={v}>
                  {l}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Called from">
          {(id) => <input id={id} type="datetime-local" value={from} onChange={(e) => (setFrom(valueOf(e)), setSkip(0))} />}
        </Field>
        <Field label="Called until">
          {(id) => <input id={id} type="datetime-local" value={to} onChange={(e) => (setTo(valueOf(e)), setSkip(0))} />}
        </Field>
        <div class="filter-actions">
          {filtered && (
            <button type="button" class="btn btn-small" onClick={clear}>
              Clear filters
            </button>
          )}
          <button type="button" class="btn btn-small" onClick={() => setRetryAll(true)}>
            Retry all failed…
          </button>
          <button type="button" class="btn btn-small" onClick={() => setReplay(true)}>
            Replay…
          </button>
          <button type="button" class="btn btn-small" onClick={() => list.reload()} aria-label="Refresh the log">
            {list.loading ? <Spinner label="Refreshing…" /> : 'Refresh'}
          </button>
        </div>
      </form>
      <Loading loaded={list} label="Loading calls…">
        {({ executions, count }) =>
          executions.length === 0 ? (
            filtered ? (
              <EmptyState title="No calls match these filters" action={<button type="button" class="btn" onClick={clear}>Clear filters</button>}>
                Widen the time range or pick another status.
              </EmptyState>
            ) : (
              <EmptyState title="No calls yet">
                This webhook is called when one of its events happens. Change some content that matches it (for example publish an entry in{' '}
                <a href={href('content')}>Content</a>) and the call shows up here within seconds.
              </EmptyState>
            )
          ) : (
            <>
              <div class="table-wrap">
                <table class="list logs">
                  <caption class="visually-hidden">Calls of this webhook, newest first</caption>
                  <thead>
                    <tr>
                      <th scope="col">Webhook Called At</th>
                      <th scope="col">Entry</th>
                      <th scope="col">Event</th>
                      <th scope="col">Call Status</th>
                      <th scope="col">Attempts</th>
                      <th scope="col">
                        <span class="visually-hidden">Actions</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {executions.map((x) => (
                      <LogRow
                        key={x.uid}
                        x={x}
                        webhookUid={props.uid}
                        hold={onHold(x, shownWebhook)}
                        retrying={!!retrying[x.uid]}
                        retryError={retryErrors[x.uid]}
                        onRetry={() => retry(x)}
                      />
                    ))}
                  </tbody>
                </table>
              </div>
              <Pager skip={skip} count={count} shown={executions.length} onSkip={setSkip} />
            </>
          )
        }
      </Loading>
      {retryAll && (
        <RetryAll
          webhookUid={props.uid}
          from={fromLocalInput(from)}
          to={fromLocalInput(to)}
          onClose={() => setRetryAll(false)}
          onDone={() => {
            void list.reload(true);
            void stats.reload(true);
          }}
        />
      )}
      {replay && (
        <Replay
          webhookUid={props.uid}
          onClose={() => setReplay(false)}
          onDone={() => {
            void list.reload(true);
            void stats.reload(true);
          }}
        />
      )}
      {props.executionUid && (
        <CallDetails
          key={props.executionUid}
          webhookUid={props.uid}
          executionUid={props.executionUid}
          version={detailsVersion}
          retrying={!!retrying[props.executionUid]}
          retryError={retryErrors[props.executionUid]}
          onRetry={(x) => retry(x)}
          onClose={() => navigate('webhooks', props.uid, 'logs')}
        />
      )}
    </section>
  );
}

function retryVerb(a: Attempt): string {
  if (a.outcome === 'success') return 'succeeded:';
  return a.response?.status ? 'answered' : 'failed:';
}

function StatusCell(props: { x: Execution; hold: string | null }) {
  const s = callStatus(props.x);
  return (
    <div class="status-cell">
      <Badge kind={s.kind}>{s.text}</Badge>
      {props.hold && <span class="small warn-text block hold">{props.hold}</span>}
      {!props.hold && props.x.rate_limited && props.x.next_attempt_at && (
        <span class="small muted block rate-limited">
          waiting for the rate limit, sends <TimeAgo t={props.x.next_attempt_at} />
        </span>
      )}
      {!props.hold && !props.x.rate_limited && s.next === 'retry' && props.x.next_attempt_at && (
        <span class="small muted">
          retrying <TimeAgo t={props.x.next_attempt_at} />
        </span>
      )}
    </div>
  );
}

function LogRow(props: { x: Execution; webhookUid: string; hold: string | null; retrying: boolean; retryError: unknown; onRetry: () => void }) {
  const { x } = props;
  const e = x.entity;
  return (
    <tr data-uid={x.uid} data-state={x.state}>
      <td data-label="Webhook Called At">
        <TimeAgo t={x.created_at} />
      </td>
      <td data-label="Entry" class="entity-cell">
        <span class="entity-title">{e?.title || x.entity_uid}</span>
        <span class="small muted block">
          {[x.module === 'entry' ? e?.content_type_uid : x.module.replace('_', ' '), e?.locale, e?.title ? x.entity_uid : null].filter(Boolean).join(' · ')}
        </span>
      </td>
      <td data-label="Event">
        <span class="event-name">{x.event}</span>
        <span class="mono small muted block" title={`entity ${x.entity_uid}`}>
          {x.channel[0]}
        </span>
        {x.batch && <span class="small muted block batch-note">in a batch of {x.batch.size}</span>}
        {x.folded_seqs && x.folded_seqs.length > 0 && <span class="small muted block">+{x.folded_seqs.length} folded</span>}
      </td>
      <td data-label="Call Status">
        <StatusCell x={x} hold={props.hold} />
      </td>
      <td data-label="Attempts" class="num">
        {x.attempts}
      </td>
      <td class="row-links">
        <a href={href('webhooks', props.webhookUid, 'logs', x.uid)} aria-label={`Call Details of the ${x.event} call`}>
          Call Details
        </a>
        <button type="button" class="link-btn" onClick={props.onRetry} disabled={props.retrying || x.state === 'in_flight'} aria-label={`Retry the ${x.event} call`}>
          {props.retrying ? <Spinner label="Retrying…" /> : 'Retry'}
        </button>
        {props.retryError ? <ErrorText error={props.retryError} /> : null}
      </td>
    </tr>
  );
}

function Pager(props: { skip: number; count: number; shown: number; onSkip: (n: number) => void }) {
  if (props.count <= PAGE && props.skip === 0) return <p class="small muted">{props.count === 1 ? '1 call' : `${props.count} calls`}</p>;
  return (
    <nav class="pager" aria-label="Pages of the log">
      <button type="button" class="btn btn-small" disabled={props.skip === 0} onClick={() => props.onSkip(Math.max(0, props.skip - PAGE))}>
        ← Newer
      </button>
      <span class="small">
        {props.skip + 1}–{props.skip + props.shown} of {props.count}
      </span>
      <button type="button" class="btn btn-small" disabled={props.skip + props.shown >= props.count} onClick={() => props.onSkip(props.skip + PAGE)}>
        Older →
      </button>
    </nav>
  );
}

/** One call in full: every attempt's request (headers as logged, secrets masked) and response. */
function CallDetails(props: { executionUid: string; webhookUid: string; version: number; retrying: boolean; retryError: unknown; onRetry: (x: Execution) => void; onClose: () => void }) {
  const loaded = useLoad(() => getExecution(props.executionUid), [props.executionUid, props.version]);
  const [picked, setPicked] = useState<number | null>(null);
  const x = loaded.data;
  // While the call is queued or being sent, look again shortly.
  useEffect(() => {
    if (!x || !BUSY_STATES.has(x.state)) return;
    const t = setTimeout(() => loaded.reload(true), 500);
    return () => clearTimeout(t);
  }, [x]);
  // A new attempt (after Retry) becomes the one shown.
  const count = x?.request_details.length ?? 0;
  useEffect(() => setPicked(null), [count]);

  return (
    <Dialog title="Call Details" onClose={props.onClose} class="details-dialog">
      <Loading loaded={loaded} label="Loading the call…">
        {(x) => {
          const attempts = x.request_details;
          const shown = attempts.find((a) => a.attempt === picked) ?? attempts[attempts.length - 1];
          const s = callStatus(x);
          return (
            <div class="details">
              <dl class="summary">
                <div>
                  <dt>Event</dt>
                  <dd>
                    <span class="event-name">{x.event}</span> <span class="mono small">{x.channel[0]}</span>
                  </dd>
                </div>
                <div>
                  <dt>Webhook Called At</dt>
                  <dd>
                    <TimeAgo t={x.created_at} />
                  </dd>
                </div>
                <div>
                  <dt>Call Status</dt>
                  <dd>
                    <Badge kind={s.kind}>{s.text}</Badge>
                  </dd>
                </div>
                <div>
                  <dt>Attempts</dt>
                  <dd>{x.attempts}</dd>
                </div>
                <div>
                  <dt>Delivery id</dt>
                  <dd class="mono small">{x.uid}</dd>
                </div>
                {x.folded_seqs && x.folded_seqs.length > 0 && (
                  <div>
                    <dt>Folded changes</dt>
                    <dd class="small">seq {x.folded_seqs.join(', ')} (debounce: this call carries the latest state)</dd>
                  </div>
                )}
              </dl>
              {x.batch && (
                <section class="batch" aria-label="Batch">
                  <h3>
                    Batch of {x.batch.size} events <span class="mono small muted">{x.batch.uid}</span>
                  </h3>
                  <p class="small muted">One request carried them all (its webhook-id is the batch id); they are retried together.</p>
                  <ol class="batch-events">
                    {(x.batch.executions ?? []).map((m) => (
                      <li key={m.uid} data-uid={m.uid}>
                        <a href={href('webhooks', props.webhookUid, 'logs', m.uid)} aria-label={`Open the ${m.event} call of ${m.entity.title || m.entity.uid}`}>
                          {m.entity.title || m.entity.uid}
                        </a>{' '}
                        <span class="small muted">
                          {m.module} {m.event} · seq {m.seq}
                          {m.uid === x.uid ? ' · this call' : ''}
                        </span>
                      </li>
                    ))}
                  </ol>
                </section>
              )}
              <div class="actions-left">
                <button type="button" class="btn btn-small" onClick={() => props.onRetry(x)} disabled={props.retrying || x.state === 'in_flight'}>
                  {props.retrying ? <Spinner label="Retrying…" /> : 'Retry'}
                </button>
                <ErrorText error={props.retryError} />
              </div>
              {attempts.length === 0 ? (
                <p class="muted">No attempt was made yet: the call is {x.state === 'queued' ? 'queued' : 'waiting'}.</p>
              ) : (
                <>
                  {attempts.length > 1 && (
                    <div class="attempt-picker" role="group" aria-label="Attempts">
                      {attempts.map((a) => (
                        <button
                          key={a.uid}
                          type="button"
                          class={a === shown ? 'attempt-btn current' : 'attempt-btn'}
                          aria-pressed={a === shown}
                          onClick={() => setPicked(a.attempt)}
                        >
                          Attempt {a.attempt}: {a.response.status ? a.response.status : a.outcome}
                        </button>
                      ))}
                    </div>
                  )}
                  {shown && <AttemptView a={shown} total={attempts.length} />}
                </>
              )}
            </div>
          );
        }}
      </Loading>
    </Dialog>
  );
}

function AttemptView(props: { a: Attempt; total: number }) {
  const { a } = props;
  const answered = a.response && a.response.status !== null && a.response.status !== undefined;
  return (
    <div class="attempt" data-attempt={a.attempt}>
      <h3>
        Attempt {a.attempt} of {props.total}
        <span class="small muted">
          {' '}
          · <TimeAgo t={a.created_at} /> · took {duration(a.duration_ms)}
        </span>
      </h3>
      {a.reason && <p class="reason warn-text">{a.reason}</p>}
      <div class="req-res">
        <section aria-label="Request">
          <h4>Request</h4>
          <p class="mono small break">
            {a.request.method ?? 'POST'} {a.request.url}
          </p>
          <h5>Headers</h5>
          <HeaderTable headers={a.request.headers} caption="Request headers" />
          <h5>Body{a.request.truncated ? ' (first 64 KiB)' : ''}</h5>
          <Code value={a.request.body ?? ''} label="Request body" />
        </section>
        <section aria-label="Response">
          <h4>Response</h4>
          {answered ? (
            <>
              <p>
                <Badge kind={a.response.status! >= 200 && a.response.status! < 300 ? 'good' : 'bad'}>{httpStatusText(a.response.status!)}</Badge>
                <span class="small muted"> in {duration(a.duration_ms)}</span>
              </p>
              <h5>Headers</h5>
              <HeaderTable headers={a.response.headers} caption="Response headers" />
              <h5>Body{a.response.truncated ? ' (first 64 KiB)' : ''}</h5>
              {a.response.body ? <Code value={a.response.body} label="Response body" /> : <p class="muted">Empty body.</p>}
            </>
          ) : (
            <p class="muted">No response was received{a.reason ? `: ${a.reason}` : ''}.</p>
          )}
        </section>
      </div>
    </div>
  );
}


/**
 * Retry every failed call (any failure: last attempt failed) in the chosen time range: first the
 * count, asked to confirm, then one retry after another with progress; calls being sent right now
 * are skipped and counted as such.
 */
function RetryAll(props: { webhookUid: string; from?: string; to?: string; onClose: () => void; onDone: () => void }) {
  const range = { from: props.from, to: props.to };
  const found = useLoad(async () => {
    const all: Execution[] = [];
    for (let skip = 0; ; skip += 100) {
      const page = await listExecutions(props.webhookUid, { ...range, failed: 'any', skip, limit: 100 });
      all.push(...page.executions);
      if (page.executions.length < 100 || all.length >= page.count) return all;
    }
  }, [props.webhookUid, props.from, props.to]);
  const [done, setDone] = useState(0);
  const [skipped, setSkipped] = useState(0);
  const [running, setRunning] = useState(false);
  const [finished, setFinished] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const stop = useRef(false);
  useEffect(() => () => void (stop.current = true), []);
  const list = found.data ?? [];
  const when = props.from || props.to ? `between ${props.from ? new Date(props.from).toLocaleString() : 'the first call'} and ${props.to ? new Date(props.to).toLocaleString() : 'now'}` : 'in the whole log';

  const run = async () => {
    setRunning(true);
    setError(null);
    let n = 0;
    let busy = 0;
    for (const x of list) {
      if (stop.current) break;
      try {
        await post(`/v3/webhooks/${encodeURIComponent(props.webhookUid)}/retry`, { execution_uid: x.uid });
        n++;
        setDone(n);
      } catch (err) {
        // Being sent right now: it is being retried already.
        if ((err as { status?: number }).status === 409) setSkipped(++busy);
        else {
          setError(err);
          break;
        }
      }
    }
    setRunning(false);
    setFinished(true);
    props.onDone();
    notify(`${n} failed ${n === 1 ? 'call' : 'calls'} retried${busy ? `, ${busy} already being sent` : ''}.`);
  };

  return (
    <Dialog title="Retry all failed calls" onClose={props.onClose}>
      <Loading loaded={found} label="Counting failed calls…">
        {() =>
          list.length === 0 ? (
            <>
              <p>No failed calls {when}.</p>
              <div class="actions">
                <button type="button" class="btn" onClick={props.onClose}>
                  Close
                </button>
              </div>
            </>
          ) : (
            <>
              <p class="confirm-text">
                {finished ? (
                  <>
                    {done} of {list.length} retried{skipped ? `, ${skipped} already being sent` : ''}. Their new attempts show in the log as they finish.
                  </>
                ) : (
                  <>
                    Retry <strong>{list.length}</strong> failed {list.length === 1 ? 'call' : 'calls'} {when}? Each is sent again now, with its original
                    delivery id.
                  </>
                )}
              </p>
              {(running || finished) && (
                <div class="retry-progress">
                  <progress max={list.length} value={done + skipped} aria-label="Retried so far" />
                  <span class="small" role="status">
                    {done + skipped} of {list.length}
                  </span>
                </div>
              )}
              {error ? <p class="error" role="alert">{`Stopped: ${errorText(error)}`}</p> : null}
              <div class="actions">
                <button type="button" class="btn" onClick={props.onClose} disabled={running}>
                  {finished ? 'Close' : 'Cancel'}
                </button>
                {!finished && (
                  <button type="button" class="btn btn-primary" onClick={run} disabled={running}>
                    {running ? <Spinner label="Retrying…" /> : `Retry ${list.length}`}
                  </button>
                )}
              </div>
            </>
          )
        }
      </Loading>
    </Dialog>
  );
}
