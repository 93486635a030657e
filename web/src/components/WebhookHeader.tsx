import { useState } from 'preact/hooks';
import { errorText } from '../api.ts';
import { notify } from '../notice.ts';
import { href, navigate } from '../router.ts';
import type { WebhookView } from '../webhook-form.ts';
import { deleteWebhook, sendTestCall, setEnabled } from '../webhooks-api.ts';
import { Badge, Confirm, MoreMenu, Spinner, Tabs } from './ui.tsx';
import { isRelayWebhook } from '../../../src/webhooks/relay-target.ts';

/**
 * The head of one webhook's pages: its name and state, the Details / Logs tabs (seed 003), the
 * enable/disable switch, "Send test call" (a signed sample call, answered in a notice; nothing is
 * logged) and "More Options" (delete, with confirmation).
 */
export function WebhookHeader(props: { webhook: WebhookView; tab: 'details' | 'logs'; onChange: (w: WebhookView) => void }) {
  const w = props.webhook;
  const [busy, setBusy] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const toggle = async () => {
    setBusy(true);
    try {
      const next = await setEnabled(w.uid, w.disabled);
      notify(`Webhook ${next.disabled ? 'disabled' : 'enabled'}.`);
      props.onChange(next);
    } catch (err) {
      notify(`Could not ${w.disabled ? 'enable' : 'disable'} the webhook: ${errorText(err)}`, 'error', 10_000);
    } finally {
      setBusy(false);
    }
  };
  const [testing, setTesting] = useState(false);
  const test = async () => {
    setTesting(true);
    try {
      const r = await sendTestCall(w.uid);
      const ok = r.test.outcome === 'success';
      notify(`${r.notice} (${r.test.status ?? 'no response'}, ${r.test.duration_ms} ms)`, ok ? 'info' : 'error', ok ? 5_000 : 10_000);
    } catch (err) {
      notify(`Could not send a test call: ${errorText(err)}`, 'error', 10_000);
    } finally {
      setTesting(false);
    }
  };
  return (
    <>
      <div class="page-head">
        <div>
          <p class="crumbs">
            <a href={href('webhooks')}>Settings › Webhooks</a>
          </p>
          <h1>
            {w.name} {w.disabled ? <Badge kind="bad">Disabled</Badge> : <Badge kind="good">Enabled</Badge>}{' '}
            {isRelayWebhook(w) && (
              <Badge kind="info" title="Its calls go to herald listen on a developer machine">
                Relay
              </Badge>
            )}
          </h1>
          {w.disabled && w.disabled_reason && <p class="reason warn-text">{w.disabled_reason}</p>}
        </div>
        <div class="head-actions">
          <button type="button" class="btn" onClick={test} disabled={testing}>
            {testing ? <Spinner label="Calling…" /> : 'Send test call'}
          </button>
          <button type="button" class="btn" onClick={toggle} disabled={busy} aria-pressed={!w.disabled}>
            {busy ? <Spinner label="Saving…" /> : w.disabled ? 'Enable' : 'Disable'}
          </button>
          <MoreMenu label={`More options for ${w.name}`} items={[{ label: 'Delete', danger: true, onSelect: () => setDeleting(true) }]} />
        </div>
      </div>
      <Tabs
        tabs={[
          { label: 'Details', href: href('webhooks', w.uid), current: props.tab === 'details' },
          { label: 'Logs', href: href('webhooks', w.uid, 'logs'), current: props.tab === 'logs' },
        ]}
      />
      {deleting && (
        <Confirm
          title="Delete webhook"
          danger
          confirmLabel="Delete"
          message={
            <p>
              Delete <strong>{w.name}</strong>? Herald stops calling <span class="mono">{w.destinations[0]?.target_url}</span> and its logs go with
              it. This cannot be undone.
            </p>
          }
          onConfirm={async () => {
            await deleteWebhook(w.uid);
            notify(`Webhook “${w.name}” deleted.`);
            navigate('webhooks');
          }}
          onClose={() => setDeleting(false)}
        />
      )}
    </>
  );
}
