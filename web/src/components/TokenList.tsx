import type { ComponentChildren } from 'preact';
import { del } from '../api.ts';
import { notify } from '../notice.ts';
import { Confirm, CopyButton, Dialog, TimeAgo } from './ui.tsx';

/**
 * What Settings › Tokens shows alike for management and delivery tokens: the list (masked values),
 * the dialog that shows a new token once, and the confirmation that revokes one. Herald keeps a
 * token's hash only, so its value is shown in the answer to its creation and never again.
 */

/** A token as the lists show it. */
export interface ListedToken {
  uid: string;
  name: string;
  /** Shown under the name when the list is `described` and this is not empty. */
  description?: string;
  /** Masked: only the last four characters show. */
  token: string;
  created_at: string;
}

/** A column of the list, between the token and the actions. */
export interface TokenColumn<T> {
  label: string;
  cell: (t: T) => ComponentChildren;
}

/** The "Created" column, as both lists have it. */
export const CREATED_COLUMN: TokenColumn<ListedToken> = { label: 'Created', cell: (t) => <TimeAgo t={t.created_at} /> };

/**
 * The tokens, one row each: name (with its description when `described`), the masked token,
 * `columns`, then `actions`. The row of `added` (the token just created) is highlighted.
 */
export function TokenList<T extends ListedToken>(props: {
  tokens: T[];
  caption: string;
  /** Added to the table's classes. */
  class?: string;
  described?: boolean;
  columns: Array<TokenColumn<T>>;
  added: string | null;
  actions: (t: T) => ComponentChildren;
}) {
  return (
    <div class="table-wrap">
      <table class={props.class ? `list tokens ${props.class}` : 'list tokens'}>
        <caption class="visually-hidden">{props.caption}</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Token</th>
            {props.columns.map((c) => (
              <th scope="col" key={c.label}>
                {c.label}
              </th>
            ))}
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {props.tokens.map((t) => (
            <tr key={t.uid} data-uid={t.uid} class={t.uid === props.added ? 'just-added' : undefined}>
              <td data-label="Name">
                <strong>{t.name}</strong>
                {props.described && t.description && <div class="small muted">{t.description}</div>}
              </td>
              <td data-label="Token" class="mono">
                {t.token}
              </td>
              {props.columns.map((c) => (
                <td data-label={c.label} key={c.label}>
                  {c.cell(t)}
                </td>
              ))}
              <td class="row-links">{props.actions(t)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * A token just created, shown this once with a copy button. `kind` names it in the title and the
 * copy button ("Token", "Delivery token"); `usedIn` says where it goes ("your tool’s settings");
 * `children` come after the value (an example request).
 */
export function CreatedTokenDialog(props: { kind: string; name: string; token: string; usedIn: string; onClose: () => void; children?: ComponentChildren }) {
  return (
    <Dialog title={`${props.kind} created`} onClose={props.onClose}>
      <p>
        This is the only time <strong>{props.name}</strong> is shown: Herald keeps only its hash. Copy it now into {props.usedIn}.
      </p>
      <div class="copy-row">
        <p class="secret-box mono" tabIndex={0}>
          {props.token}
        </p>
        <CopyButton value={props.token} what={props.kind.toLowerCase()} />
      </div>
      {props.children}
      <div class="actions">
        <button type="button" class="btn btn-primary" onClick={props.onClose}>
          Done
        </button>
      </div>
    </Dialog>
  );
}

/**
 * Asks, then revokes `token` (DELETE `path`) and says so. `kind` as in CreatedTokenDialog;
 * `refused` says who is refused from now on.
 */
export function DeleteTokenConfirm(props: { kind: string; token: ListedToken; path: string; refused: string; onDeleted: () => Promise<void>; onClose: () => void }) {
  const { kind, token } = props;
  return (
    <Confirm
      title={`Delete ${kind.toLowerCase()}`}
      danger
      confirmLabel="Delete"
      message={
        <p>
          Delete <strong>{token.name}</strong> ({token.token})? {props.refused} This cannot be undone.
        </p>
      }
      onConfirm={async () => {
        await del(props.path);
        notify(`${kind} “${token.name}” deleted.`);
        await props.onDeleted();
      }}
      onClose={props.onClose}
    />
  );
}
