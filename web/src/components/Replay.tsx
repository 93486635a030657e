import { useEffect, useRef, useState } from 'preact/hooks';
import { errorText, get, post } from '../api.ts';
import { fromLocalInput, toLocalInput } from '../time.ts';
import { Dialog, Field, Spinner, valueOf } from './ui.tsx';

/** A replay job as POST /v3/webhooks/{uid}/replay and GET .../replays/{job} show it (src/delivery/replay.ts). */
interface Job {
  uid: string;
  state: 'running' | 'done';
  total: number;
  done: number;
  succeeded: number;
  failed: number;
}

/** How often a running job's progress is read, ms. */
const POLL_MS = 500;

/**
 * "Replay…" on the Logs tab: after an outage, send a time range again in one step: the calls that
 * failed for good (each with its delivery id), or every event of the range the webhook matches as
 * it is now (new calls, e.g. to a new or repaired endpoint); in order per entry, either way. Herald
 * runs it as a job; this follows its progress until every call ended.
 */
export function Replay(props: { webhookUid: string; onClose: () => void; onDone: () => void }) {
  const [from, setFrom] = useState(() => toLocalInput(Date.now() - 24 * 3_600_000));
  // To the end of this minute: a call made just now is in the range.
  const [to, setTo] = useState(() => toLocalInput(Date.now() + 60_000));
  const [mode, setMode] = useState<'failed' | 'events'>('failed');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [job, setJob] = useState<Job | null>(null);
  const alive = useRef(true);
  useEffect(() => () => void (alive.current = false), []);

  const start = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const base = `/v3/webhooks/${encodeURIComponent(props.webhookUid)}`;
      let j = (await post<{ job: Job }>(`${base}/replay`, { from: fromLocalInput(from), to: fromLocalInput(to), mode })).job;
      setJob(j);
      while (j.state !== 'done' && alive.current) {
        await new Promise((r) => setTimeout(r, POLL_MS));
        j = (await get<{ job: Job }>(`${base}/replays/${encodeURIComponent(j.uid)}`)).job;
        if (alive.current) setJob(j);
      }
      props.onDone();
    } catch (err) {
      if (alive.current) setError(err);
    } finally {
      if (alive.current) setBusy(false);
    }
  };

  const counts = job ? `${job.done} of ${job.total} done (${job.succeeded} succeeded, ${job.failed} failed)` : '';
  return (
    <Dialog title="Replay calls" onClose={props.onClose}>
      {!job ? (
        <form onSubmit={start} class="replay-form">
          <p class="hint">Send a time range again, in order for each entry, for example once your endpoint is back after an outage.</p>
          <div class="two-col">
            <Field label="From">{(id) => <input id={id} type="datetime-local" value={from} required onInput={(e) => setFrom(valueOf(e))} />}</Field>
            <Field label="To">{(id) => <input id={id} type="datetime-local" value={to} required onInput={(e) => setTo(valueOf(e))} />}</Field>
          </div>
          <fieldset>
            <legend>What to send</legend>
            <label class="check">
              <input type="radio" name="replay-mode" checked={mode === 'failed'} onChange={() => setMode('failed')} /> Failed calls{' '}
              <span class="muted">— every call that failed for good in the range, again, with its delivery id</span>
            </label>
            <label class="check">
              <input type="radio" name="replay-mode" checked={mode === 'events'} onChange={() => setMode('events')} /> All events{' '}
              <span class="muted">— every event of the range this webhook matches now, as new calls</span>
            </label>
          </fieldset>
          {error ? (
            <p class="error" role="alert">
              {errorText(error)}
            </p>
          ) : null}
          <div class="actions">
            <button type="button" class="btn" onClick={props.onClose}>
              Cancel
            </button>
            <button type="submit" class="btn btn-primary" disabled={busy || !from || !to}>
              {busy ? <Spinner label="Starting…" /> : 'Start replay'}
            </button>
          </div>
        </form>
      ) : (
        <>
          <p class="confirm-text">
            {job.state === 'done'
              ? job.total === 0
                ? 'Nothing to replay in that range.'
                : `Replay finished: ${job.succeeded} of ${job.total} succeeded${job.failed ? `, ${job.failed} failed again (see the log)` : ''}.`
              : `Replaying ${job.total} ${job.total === 1 ? 'call' : 'calls'}, in order for each entry. You may close this: the replay goes on in Herald.`}
          </p>
          <div class="retry-progress">
            <progress max={Math.max(job.total, 1)} value={job.total === 0 ? 1 : job.done} aria-label="Replayed so far" />
            <span class="small" role="status">
              {counts}
            </span>
          </div>
          {error ? (
            <p class="error" role="alert">
              {`Progress could not be read: ${errorText(error)}`}
            </p>
          ) : null}
          <div class="actions">
            <button type="button" class="btn btn-primary" onClick={props.onClose}>
              Close
            </button>
          </div>
        </>
      )}
    </Dialog>
  );
}
