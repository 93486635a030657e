/**
 * Short messages after an action ("Webhook saved."), shown in one place and read out by screen
 * readers (an aria-live region in the layout). Any screen may call `notify`.
 */
export interface Notice {
  id: number;
  text: string;
  kind: 'info' | 'error';
}

type Listener = (notices: Notice[]) => void;

let notices: Notice[] = [];
let next = 1;
const listeners = new Set<Listener>();

function emit() {
  for (const l of listeners) l(notices);
}

/** Shows `text` for `ms` (default 5 s). */
export function notify(text: string, kind: Notice['kind'] = 'info', ms = 5000): void {
  const n = { id: next++, text, kind };
  notices = [...notices, n].slice(-3);
  emit();
  setTimeout(() => dismiss(n.id), ms);
}

export function dismiss(id: number): void {
  notices = notices.filter((n) => n.id !== id);
  emit();
}

export function subscribe(l: Listener): () => void {
  listeners.add(l);
  l(notices);
  return () => listeners.delete(l);
}
