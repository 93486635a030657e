import { render, type ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { currentSession, handleUnauthorized, setSession, type Session } from './api.ts';
import { dismiss, notify, subscribe, type Notice } from './notice.ts';
import { currentPath, href, navigate, useRoute } from './router.ts';
import { Assets } from './screens/Assets.tsx';
import { ContentTypes } from './screens/ContentTypes.tsx';
import { EntryEditor } from './screens/EntryEditor.tsx';
import { Entries } from './screens/Entries.tsx';
import { SignIn, StackPicker } from './screens/SignIn.tsx';
import { Tokens } from './screens/Tokens.tsx';
import { DeliveryTokens } from './screens/DeliveryTokens.tsx';
import { ContentTypeBuilder } from './screens/ContentTypeBuilder.tsx';
import { WebhookEdit } from './screens/WebhookEdit.tsx';
import { WebhookList } from './screens/WebhookList.tsx';
import { WebhookLogs } from './screens/WebhookLogs.tsx';
import './styles.css';

/**
 * The Herald web app: sign in, Settings > Webhooks (list, form, Logs tab, Call Details, Retry),
 * content (types, entries, the entry editor) and assets. Everything goes through the public API.
 */
function App() {
  const [session, setS] = useState<Session | null>(currentSession);
  const [signOutReason, setSignOutReason] = useState('');
  const path = useRoute();
  // A deep link opened while signed out (#/webhooks/.../logs): kept through signing in (and
  // through picking a stack after an admin sign-in), then opened.
  const deepLink = useRef<string[] | null>(session ? null : currentPath());

  useEffect(() => {
    handleUnauthorized((message) => {
      deepLink.current = currentPath();
      setSession(null);
      setS(null);
      setSignOutReason(`You were signed out: ${message}`);
    });
  }, []);

  const signIn = (s: Session) => {
    setSession(s);
    setS(s);
    setSignOutReason('');
    const wanted = deepLink.current;
    if (s.api_key && wanted && wanted.length > 0 && wanted[0] !== 'stacks') {
      deepLink.current = null;
      navigate(...wanted);
    } else if (s.api_key) navigate('webhooks');
    else navigate('stacks');
  };
  const signOut = () => {
    deepLink.current = null;
    setSession(null);
    setS(null);
    setSignOutReason('');
    navigate();
  };

  if (!session) return <SignIn onSignIn={signIn} reason={signOutReason} />;
  if (!session.api_key || path[0] === 'stacks') {
    return (
      <Layout session={session} onSignOut={signOut} path={path}>
        <StackPicker session={session} onPick={signIn} />
      </Layout>
    );
  }
  return (
    <Layout session={session} onSignOut={signOut} path={path}>
      <Screen path={path} />
    </Layout>
  );
}

function Screen({ path }: { path: string[] }) {
  const [area, a, b, c] = path;
  switch (area) {
    case undefined:
    case 'webhooks':
      if (!a) return <WebhookList />;
      if (a === 'new') return <WebhookEdit key="new" />;
      if (b === 'logs') return <WebhookLogs key={a} uid={a} executionUid={c} />;
      return <WebhookEdit key={a} uid={a} />;
    case 'content':
      if (!a) return <ContentTypes />;
      if (!b) return <Entries key={a} contentType={a} />;
      return <EntryEditor key={`${a}/${b}`} contentType={a} uid={b === 'new' ? undefined : b} />;
    case 'assets':
      return <Assets />;
    case 'tokens':
      return a === 'delivery' ? <DeliveryTokens editUid={b} /> : <Tokens />;
    case 'types':
      return <ContentTypeBuilder key={a ?? 'new'} uid={a === 'new' || !a ? undefined : a} />;
    default:
      return (
        <section>
          <h1>Page not found</h1>
          <p>
            There is nothing at this address. Go to <a href={href('webhooks')}>Webhooks</a> or <a href={href('content')}>Content</a>.
          </p>
        </section>
      );
  }
}

function Layout(props: { session: Session; onSignOut: () => void; path: string[]; children: ComponentChildren }) {
  const main = useRef<HTMLElement>(null);
  // The content type builder belongs to Content.
  const area = props.path[0] === 'types' ? 'content' : (props.path[0] ?? 'webhooks');
  const first = useRef(true);
  // Moves focus to the new screen after navigating, so keyboard and screen reader users start there.
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    main.current?.focus({ preventScroll: false });
  }, [props.path.join('/')]);
  const link = (name: string, label: string) => (
    <a href={href(name)} class={area === name ? 'nav-link current' : 'nav-link'} aria-current={area === name ? 'page' : undefined}>
      {label}
    </a>
  );
  return (
    <div class="shell">
      <button type="button" class="skip-link" onClick={() => main.current?.focus()}>
        Skip to content
      </button>
      <header class="topbar">
        <a class="brand" href={href('webhooks')} aria-label="Herald, home">
          <span class="brand-mark" aria-hidden="true">
            H
          </span>
          <span class="brand-name">Herald</span>
        </a>
        <nav class="nav" aria-label="Main">
          {link('content', 'Content')}
          {link('assets', 'Assets')}
          <a href={href('webhooks')} class={area === 'webhooks' ? 'nav-link current' : 'nav-link'} aria-current={area === 'webhooks' ? 'page' : undefined}>
            <span class="nav-group">Settings ›</span> Webhooks
          </a>
          {link('tokens', 'Tokens')}
        </nav>
        <div class="account">
          {props.session.api_key && (
            <span class="stack-name" title={`Stack API key ${props.session.api_key}`}>
              {props.session.stack_name || props.session.api_key}
            </span>
          )}
          {props.session.admin && (
            <a class="btn btn-small" href={href('stacks')}>
              Switch stack
            </a>
          )}
          <button type="button" class="btn btn-small" onClick={props.onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        {props.children}
      </main>
      <Notices />
    </div>
  );
}

function Notices() {
  const [list, setList] = useState<Notice[]>([]);
  useEffect(() => subscribe(setList), []);
  return (
    <div class="notices" aria-live="polite" aria-atomic="false">
      {list.map((n) => (
        <div key={n.id} class={`notice notice-${n.kind}`} role={n.kind === 'error' ? 'alert' : 'status'}>
          <span>{n.text}</span>
          <button type="button" class="notice-close" aria-label="Dismiss" onClick={() => dismiss(n.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}

addEventListener('unhandledrejection', (e) => {
  notify(`Something went wrong: ${(e.reason as Error)?.message ?? e.reason}`, 'error');
});

render(<App />, document.getElementById('app')!);
