import { useEffect, useState } from 'preact/hooks';
import { errorText } from '../api.ts';
import { describeChannel } from '../channels.ts';
import { Badge, Confirm, EmptyState, Loading, MoreMenu, Spinner, TimeAgo, useLoad } from '../components/ui.tsx';
import { health, healthLevel, type Health } from '../health.ts';
import { notify } from '../notice.ts';
import { href, navigate } from '../router.ts';
import type { WebhookView } from '../webhook-form.ts';
import { deleteWebhook, getStats, listExecutions, listWebhooks, setEnabled, type Stats } from '../webhooks-api.ts';
import { Sparkline } from '../components/HealthChart.tsx';
import { isRelayWebhook } from '../../../src/webhooks/relay-target.ts';

/** Executions looked at for a webhook's health in the list. */
const HEALTH_WINDOW = 20;

/**
 * Settings > Webhooks: every webhook with its target URL, channels, whether it is enabled (and
 * why not), and its health (recent success rate and last call, from the executions API).
 */
export function WebhookList() {
  const loaded = useLoad(() => listWebhooks(), []);
  const [healths, setHealths] = useState<Record<string, Health | 'error'>>({});
  const [stats, setStats] = useState<Record<string, Stats>>({});
  const [deleting, setDeleting] = useState<WebhookView | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  // Health is a second step, per webhook, so the list shows at once.
  useEffect(() => {
    const list = loaded.data?.webhooks ?? [];
    let cancelled = false;
    for (const w of list) {
      listExecutions(w.uid, { limit: HEALTH_WINDOW })
        .then((r) => !cancelled && setHealths((h) => ({ ...h, [w.uid]: health(r.executions) })))
        .catch(() => !cancelled && setHealths((h) => ({ ...h, [w.uid]: 'error' })));
      // The sparkline: the last 24 hours, hour by hour (a missing one leaves the cell as it was).
      getStats(w.uid)
        .then((r) => !cancelled && setStats((m) => ({ ...m, [w.uid]: r })))
        .catch(() => {});
    }
    return () => {
      cancelled = true;
    };
  }, [loaded.data]);

  const toggle = async (w: WebhookView) => {
    setBusy(w.uid);
    try {
      await setEnabled(w.uid, w.disabled);
      notify(`Webhook “${w.name}” ${w.disabled ? 'enabled' : 'disabled'}.`);
      await loaded.reload();
    } catch (err) {
      notify(`Could not ${w.disabled ? 'enable' : 'disable'} “${w.name}”: ${errorText(err)}`, 'error', 10_000);
    } finally {
      setBusy(null);
    }
  };

  return (
    <section>
      <div class="page-head">
        <div>
          <p class="crumbs">Settings</p>
          <h1>Webhooks</h1>
        </div>
        <a class="btn btn-primary" href={href('webhooks', 'new')}>
          + New Webhook
        </a>
      </div>
      <Loading loaded={loaded} label="Loading webhooks…">
        {({ webhooks }) =>
          webhooks.length === 0 ? (
            <EmptyState
              title="No webhooks yet"
              action={
                <a class="btn btn-primary" href={href('webhooks', 'new')}>
                  Let’s go make one!
                </a>
              }
            >
              A webhook calls a URL of yours whenever content changes: an entry is published, an asset is deleted… Herald posts the change as
              signed JSON, retries failed calls and keeps a log of every call.
            </EmptyState>
          ) : (
            <div class="table-wrap">
              <table class="list webhooks">
                <caption class="visually-hidden">Webhooks of this stack</caption>
                <thead>
                  <tr>
                    <th scope="col" class="col-name">Name</th>
                    <th scope="col">URL to notify</th>
                    <th scope="col">When</th>
                    <th scope="col">Status</th>
                    <th scope="col" class="col-health">Health</th>
                    <th scope="col">
                      <span class="visually-hidden">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {webhooks.map((w) => (
                    <tr key={w.uid} data-uid={w.uid}>
                      <td data-label="Name">
                        <a class="row-title" href={href('webhooks', w.uid)}>
                          {w.name}
                        </a>
                      </td>
                      <td data-label="URL to notify" class="url-cell">
                        {isRelayWebhook(w) ? (
                          // A relay webhook has no address: its calls go to whoever runs herald listen for it.
                          <span title="Delivered to herald listen on a developer machine">
                            <Badge kind="info">Relay</Badge> <span class="small muted">herald listen</span>
                          </span>
                        ) : (
                          <span class="mono" title={w.destinations[0]?.target_url}>
                            {w.destinations[0]?.target_url}
                          </span>
                        )}
                      </td>
                      <td data-label="When">
                        <Channels channels={w.channels} />
                      </td>
                      <td data-label="Status">
                        {busy === w.uid ? (
                          <Spinner label="Saving…" />
                        ) : w.disabled ? (
                          <>
                            <Badge kind="bad">Disabled</Badge>
                            {w.disabled_reason && <p class="small muted reason">{w.disabled_reason}</p>}
                          </>
                        ) : (
                          <Badge kind="good">Enabled</Badge>
                        )}
                      </td>
                      <td data-label="Health">
                        <HealthCell h={healths[w.uid]} uid={w.uid} name={w.name} stats={stats[w.uid]} />
                      </td>
                      <td class="row-actions">
                        <MoreMenu
                          label={`More options for ${w.name}`}
                          items={[
                            { label: 'Edit', onSelect: () => navigate('webhooks', w.uid) },
                            { label: 'View logs', onSelect: () => navigate('webhooks', w.uid, 'logs') },
                            { label: w.disabled ? 'Enable' : 'Disable', onSelect: () => void toggle(w) },
                            { label: 'Delete', danger: true, onSelect: () => setDeleting(w) },
                          ]}
                        />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Loading>
      {deleting && (
        <Confirm
          title="Delete webhook"
          danger
          confirmLabel="Delete"
          message={
            <p>
              Delete <strong>{deleting.name}</strong>? Herald stops calling <span class="mono">{deleting.destinations[0]?.target_url}</span> and its logs
              go with it. This cannot be undone.
            </p>
          }
          onConfirm={async () => {
            await deleteWebhook(deleting.uid);
            notify(`Webhook “${deleting.name}” deleted.`);
            await loaded.reload();
          }}
          onClose={() => setDeleting(null)}
        />
      )}
    </section>
  );
}

export function Channels(props: { channels: string[]; max?: number }) {
  const max = props.max ?? 3;
  const shown = props.channels.slice(0, max);
  const more = props.channels.length - shown.length;
  return (
    <ul class="chips">
      {shown.map((c) => (
        <li key={c} class="chip" title={c}>
          {describeChannel(c)}
        </li>
      ))}
      {more > 0 && (
        <li class="chip chip-more" title={props.channels.slice(max).join('\n')}>
          +{more} more
        </li>
      )}
    </ul>
  );
}

function HealthCell(props: { h: Health | 'error' | undefined; uid: string; name: string; stats?: Stats }) {
  const h = props.h;
  const spark = props.stats && (props.stats.succeeded > 0 || props.stats.failed > 0) && (
    <span class="spark-wrap">
      <Sparkline stats={props.stats} label={`Attempts of ${props.name}`} />
      <span class="small muted">24 h</span>
    </span>
  );
  if (h === undefined) return <Spinner label="Checking…" />;
  if (h === 'error') return <span class="muted">Unknown</span>;
  if (h.total === 0) return <span class="small muted">No calls yet</span>;
  const level = healthLevel(h);
  return (
    <div class="health">
      <div class="health-top">
        {h.rate === null ? (
          <Badge kind="info">{h.waiting} waiting</Badge>
        ) : (
          <Badge kind={level} title={`${h.succeeded} of the last ${h.called} calls were delivered`}>
            {Math.round(h.rate * 100)}% ok
          </Badge>
        )}
        <span class="small muted">
          {h.succeeded}/{h.called} delivered
          {h.retrying > 0 && `, ${h.retrying} retrying`}
        </span>
      </div>
      {spark}
      <span class="small">
        Last call <TimeAgo t={h.lastCallAt} /> ·{' '}
        <a href={href('webhooks', props.uid, 'logs')} aria-label={`Logs of this webhook`}>
          Logs
        </a>
      </span>
    </div>
  );
}
