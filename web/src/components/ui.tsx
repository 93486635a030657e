import type { ComponentChildren, JSX } from 'preact';
import { useCallback, useEffect, useId, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { errorText } from '../api.ts';
import { exactTime, humanise } from '../time.ts';

/** Small building blocks shared by the screens: fields with their errors, menus, dialogs, states. */

/** A labelled control with its hint and its error in words right under it. */
export function Field(props: { label: string; error?: string; hint?: ComponentChildren; children: (id: string, describedBy: string | undefined) => ComponentChildren; class?: string }) {
  const id = useId();
  const errId = `${id}-err`;
  const hintId = `${id}-hint`;
  const describedBy = [props.error ? errId : '', props.hint ? hintId : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div class={`field ${props.error ? 'has-error' : ''} ${props.class ?? ''}`}>
      <label for={id}>{props.label}</label>
      {props.children(id, describedBy)}
      {props.hint && (
        <p class="hint" id={hintId}>
          {props.hint}
        </p>
      )}
      {props.error && (
        <p class="error" id={errId} role="alert">
          {props.error}
        </p>
      )}
    </div>
  );
}

/** An error next to an action, in words. */
export function ErrorText(props: { error: unknown; id?: string }) {
  if (!props.error) return null;
  return (
    <p class="error" role="alert" id={props.id}>
      {errorText(props.error)}
    </p>
  );
}

export function Spinner(props: { label?: string }) {
  return (
    <span class="spinner-wrap" role="status">
      <span class="spinner" aria-hidden="true" />
      <span class={props.label ? '' : 'visually-hidden'}>{props.label ?? 'Loading…'}</span>
    </span>
  );
}

/** What to show when a list is empty: what it is, and what to do next. */
export function EmptyState(props: { title: string; children?: ComponentChildren; action?: ComponentChildren }) {
  return (
    <div class="empty">
      <h3>{props.title}</h3>
      {props.children && <div class="empty-text">{props.children}</div>}
      {props.action && <div class="empty-action">{props.action}</div>}
    </div>
  );
}

/** "3 minutes ago" with the exact time on hover (and for screen readers, in the title). */
export function TimeAgo(props: { t: string | number | null | undefined; focusable?: boolean }) {
  const now = useNow();
  if (props.t === null || props.t === undefined) return <span class="muted">never</span>;
  const exact = exactTime(props.t);
  const iso = typeof props.t === 'number' ? new Date(props.t).toISOString() : props.t;
  return (
    <time dateTime={iso} title={exact} tabIndex={props.focusable === false ? undefined : 0} class="time-ago" aria-label={`${humanise(props.t, now)}, ${exact}`}>
      {humanise(props.t, now)}
    </time>
  );
}

/** The current time, refreshed every `ms` (default 10 s) so humanised times stay true. */
export function useNow(ms = 10_000): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  /** Loads again; `quiet` (background refresh) shows no progress. */
  reload: (quiet?: boolean) => Promise<void>;
}

/** Loads data for a screen; `deps` change -> load again. Keeps the last data while reloading. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({ data: undefined, error: null, loading: true });
  const seq = useRef(0);
  const run = useCallback(async (quiet = false) => {
    const n = ++seq.current;
    if (!quiet) setState((s) => ({ ...s, loading: true }));
    try {
      const data = await load();
      if (n === seq.current) setState({ data, error: null, loading: false });
    } catch (error) {
      if (n === seq.current) setState((s) => ({ data: s.data, error, loading: false }));
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  useEffect(() => {
    void run();
  }, [run]);
  return { ...state, reload: run };
}

/** Loading / error / content, for the body of a screen. */
export function Loading<T>(props: { loaded: Loaded<T>; children: (data: T) => ComponentChildren; label?: string }) {
  const { data, error, loading } = props.loaded;
  if (data === undefined) {
    if (error) {
      return (
        <div class="panel">
          <ErrorText error={error} />
          <button type="button" class="btn" onClick={() => props.loaded.reload()}>
            Try again
          </button>
        </div>
      );
    }
    return loading ? <Spinner label={props.label ?? 'Loading…'} /> : null;
  }
  return (
    <>
      {error ? <ErrorText error={error} /> : null}
      {props.children(data)}
    </>
  );
}

export interface MenuItem {
  label: string;
  onSelect: () => void;
  danger?: boolean;
}

/**
 * "More Options" (three vertical dots): a menu button. Keyboard: Enter/Space/ArrowDown opens and
 * focuses the first item, arrows move, Escape closes and returns focus to the button.
 */
export function MoreMenu(props: { label: string; items: MenuItem[] }) {
  const [open, setOpen] = useState(false);
  const button = useRef<HTMLButtonElement>(null);
  const menu = useRef<HTMLUListElement>(null);
  const id = useId();
  const focusItem = (i: number) => {
    const items = menu.current?.querySelectorAll<HTMLButtonElement>('[role=menuitem]');
    if (!items?.length) return;
    items[(i + items.length) % items.length].focus();
  };
  // Layout effect: the first item has focus before the next key press can arrive.
  useLayoutEffect(() => {
    if (open) focusItem(0);
  }, [open]);
  useEffect(() => {
    if (!open) return;
    const onDoc = (e: MouseEvent) => {
      if (!menu.current?.contains(e.target as Node) && !button.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('mousedown', onDoc);
    return () => document.removeEventListener('mousedown', onDoc);
  }, [open]);
  const close = () => {
    setOpen(false);
    button.current?.focus();
  };
  const onKey = (e: KeyboardEvent) => {
    const items = [...(menu.current?.querySelectorAll<HTMLButtonElement>('[role=menuitem]') ?? [])];
    const i = items.indexOf(document.activeElement as HTMLButtonElement);
    if (e.key === 'Escape') (e.preventDefault(), close());
    else if (e.key === 'ArrowDown') (e.preventDefault(), focusItem(i + 1));
    else if (e.key === 'ArrowUp') (e.preventDefault(), focusItem(i - 1));
    else if (e.key === 'Home') (e.preventDefault(), focusItem(0));
    else if (e.key === 'End') (e.preventDefault(), focusItem(items.length - 1));
    else if (e.key === 'Tab') setOpen(false);
  };
  return (
    <div class="menu-wrap">
      <button
        ref={button}
        type="button"
        class="btn icon-btn"
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={id}
        aria-label={props.label}
        title="More Options"
        onClick={() => setOpen(!open)}
        onKeyDown={(e) => {
          if (e.key === 'ArrowDown') (e.preventDefault(), setOpen(true));
        }}
      >
        <svg width="18" height="18" viewBox="0 0 24 24" aria-hidden="true">
          <circle cx="12" cy="5" r="2" />
          <circle cx="12" cy="12" r="2" />
          <circle cx="12" cy="19" r="2" />
        </svg>
      </button>
      {open && (
        <ul class="menu" role="menu" id={id} ref={menu} onKeyDown={onKey} aria-label={props.label}>
          {props.items.map((item) => (
            <li role="none" key={item.label}>
              <button
                type="button"
                role="menuitem"
                class={item.danger ? 'danger' : ''}
                onClick={() => {
                  setOpen(false);
                  item.onSelect();
                }}
              >
                {item.label}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/**
 * A modal dialog (the native <dialog>: focus stays inside, Escape closes). `onClose` runs however
 * it closes.
 */
export function Dialog(props: { title: string; onClose: () => void; children: ComponentChildren; class?: string; labelledBy?: string }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const d = ref.current!;
    const opener = document.activeElement as HTMLElement | null;
    if (!d.open) d.showModal();
    return () => opener?.focus?.();
  }, []);
  return (
    <dialog
      ref={ref}
      class={`dialog ${props.class ?? ''}`}
      aria-labelledby={titleId}
      onCancel={(e) => {
        e.preventDefault();
        props.onClose();
      }}
    >
      <div class="dialog-head">
        <h2 id={titleId}>{props.title}</h2>
        <button type="button" class="btn icon-btn" aria-label="Close" onClick={props.onClose}>
          ×
        </button>
      </div>
      <div class="dialog-body">{props.children}</div>
    </dialog>
  );
}

/** "Are you sure?" with the action's own words on the button and its progress and error inside. */
export function Confirm(props: { title: string; message: ComponentChildren; confirmLabel: string; danger?: boolean; onConfirm: () => Promise<void>; onClose: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      await props.onConfirm();
      props.onClose();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <Dialog title={props.title} onClose={props.onClose}>
      <div class="confirm-text">{props.message}</div>
      <ErrorText error={error} />
      <div class="actions">
        <button type="button" class="btn" onClick={props.onClose} disabled={busy} autoFocus={props.danger}>
          Cancel
        </button>
        <button type="button" class={`btn ${props.danger ? 'btn-danger' : 'btn-primary'}`} onClick={run} disabled={busy} autoFocus={!props.danger}>
          {busy ? <Spinner label={`${props.confirmLabel}…`} /> : props.confirmLabel}
        </button>
      </div>
    </Dialog>
  );
}

export function Badge(props: { kind: 'good' | 'warn' | 'bad' | 'none' | 'info'; children: ComponentChildren; title?: string }) {
  return (
    <span class={`badge badge-${props.kind}`} title={props.title}>
      {props.children}
    </span>
  );
}

/** A set of tabs that are links (each tab is a route). */
export function Tabs(props: { tabs: Array<{ label: string; href: string; current: boolean }> }) {
  return (
    <nav class="tabs" aria-label="Sections">
      {props.tabs.map((t) => (
        <a key={t.label} href={t.href} class={t.current ? 'tab current' : 'tab'} aria-current={t.current ? 'page' : undefined}>
          {t.label}
        </a>
      ))}
    </nav>
  );
}

/** JSON (or text) in a scrollable block, pretty-printed when it parses. */
export function Code(props: { value: unknown; label?: string }) {
  let text: string;
  if (typeof props.value === 'string') {
    try {
      text = JSON.stringify(JSON.parse(props.value), null, 2);
    } catch {
      text = props.value;
    }
  } else text = JSON.stringify(props.value, null, 2) ?? '';
  return (
    <pre class="code" tabIndex={0} aria-label={props.label}>
      <code>{text}</code>
    </pre>
  );
}

/** A table of header names and values. */
export function HeaderTable(props: { headers: Record<string, unknown> | undefined; caption: string }) {
  const entries = Object.entries(props.headers ?? {});
  if (!entries.length) return <p class="muted">No headers.</p>;
  return (
    <table class="kv">
      <caption class="visually-hidden">{props.caption}</caption>
      <tbody>
        {entries.map(([k, v]) => (
          <tr key={k}>
            <th scope="row">{k}</th>
            <td>{Array.isArray(v) ? v.join(', ') : String(v)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export type InputEvent = JSX.TargetedEvent<HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement, Event>;
export const valueOf = (e: InputEvent) => (e.currentTarget as HTMLInputElement).value;
export const checkedOf = (e: InputEvent) => (e.currentTarget as HTMLInputElement).checked;

/**
 * Copies `value` to the clipboard and says so ("Copied"), for a secret shown once. Where the
 * clipboard API is refused, the text is selected instead and the button says to press Ctrl+C.
 */
export function CopyButton(props: { value: string; what: string; class?: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'select'>('idle');
  useEffect(() => {
    if (state !== 'copied') return;
    const t = setTimeout(() => setState('idle'), 4000);
    return () => clearTimeout(t);
  }, [state]);
  const copy = async (e: Event) => {
    try {
      await navigator.clipboard.writeText(props.value);
      setState('copied');
    } catch {
      // Select the shown value (the element before the button) for a manual copy.
      const shown = (e.currentTarget as HTMLElement).parentElement?.querySelector('.secret-box');
      if (shown) getSelection()?.selectAllChildren(shown);
      setState('select');
    }
  };
  return (
    <>
      <button type="button" class={`btn btn-small ${props.class ?? ''}`} onClick={copy} aria-label={`Copy the ${props.what}`}>
        {state === 'copied' ? 'Copied ✓' : 'Copy'}
      </button>
      <span class="small muted" role="status">
        {state === 'copied' ? `The ${props.what} is on your clipboard.` : state === 'select' ? 'Selected: press Ctrl+C (⌘C) to copy.' : ''}
      </span>
    </>
  );
}
