import type { Change } from './diff.ts';
import type { RestoreReport } from './restore/restorer.ts';
import type { EntityRow, Gap, StackRow } from './store.ts';

/**
 * The backup center's pages: plain server-rendered HTML, no script. Every value from the store is
 * escaped (titles and uids come from content editors). Pure functions: data in, HTML out.
 */
export function escape(v: unknown): string {
  return String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const enc = encodeURIComponent;
/**
 * A time: the exact UTC instant in the text and on hover; /ui/local-time.js (the pages' only
 * script) rewrites the text into the reader's local time, keeping the UTC instant on hover.
 */
const time = (ms: number | null | undefined) => {
  if (!ms) return '-';
  const iso = new Date(ms).toISOString();
  return `<time datetime="${iso}" title="${iso} (UTC)">${iso.replace('T', ' ').slice(0, 19)} UTC</time>`;
};

/** /ui/local-time.js: times in the reader's time zone, the exact UTC instant kept on hover. */
export const LOCAL_TIME_SCRIPT = `for (const t of document.querySelectorAll('time[datetime]')) {
  const d = new Date(t.getAttribute('datetime'));
  if (!isNaN(d)) t.textContent = d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}
`;

/** Who made a change: the token's name when the feed gave it, its uid on hover. */
const actor = (v: { actor: string | null; actor_name?: string | null }) =>
  v.actor === null ? '<span class="muted">unknown yet</span>' : `<span title="${escape(v.actor)}">${escape(v.actor_name ?? v.actor)}</span>`;

/** A stack as people know it: its name, and its API key beside it. */
const stackLabel = (apiKey: string, name: string | null | undefined) =>
  name ? `${escape(name)} <span class="muted mono">${escape(apiKey)}</span>` : `<span class="mono">${escape(apiKey)}</span>`;

// The web app's look (web/src/styles.css): its colours, type, buttons and tables.
const STYLE = `
:root{--bg:#f5f6f8;--surface:#fff;--border:#e2e5ea;--text:#1c2330;--muted:#5f6b7a;--accent:#4338ca;--accent-hover:#3730a3;--good:#137a3c;--good-bg:#e6f6ec;--bad:#b42318;--bad-bg:#fdecea;--warn:#9a5b00;--warn-bg:#fff4e0;--radius:8px;--mono:ui-monospace,SFMono-Regular,Menlo,Consolas,'Liberation Mono',monospace}
*{box-sizing:border-box}
body{font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:var(--text);background:var(--bg)}
header{background:var(--surface);border-bottom:1px solid var(--border);padding:.6rem 1.5rem;display:flex;align-items:center;gap:.6rem}
header a{color:var(--text);text-decoration:none;font-weight:650;display:flex;align-items:center;gap:.55rem}
.mark{display:inline-grid;place-items:center;width:30px;height:30px;border-radius:8px;background:var(--accent);color:#fff;font-weight:700}
main{padding:1.5rem;max-width:72rem;margin:0 auto}
h1{font-size:1.6rem;font-weight:650;margin:.2rem 0 .6rem;overflow-wrap:anywhere}
a{color:var(--accent)}a:hover{color:var(--accent-hover)}
:focus-visible{outline:3px solid #2563eb;outline-offset:2px}
.table-wrap{background:var(--surface);border:1px solid var(--border);border-radius:var(--radius);overflow-x:auto;box-shadow:0 1px 2px rgba(16,24,40,.06)}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.55rem .75rem;border-bottom:1px solid var(--border);vertical-align:top}
tbody tr:last-child td{border-bottom:0}
th{font-size:.75rem;letter-spacing:.04em;text-transform:uppercase;color:var(--muted);background:#f9fafb}
.deleted{color:var(--bad)}.live{color:var(--good)}.muted{color:var(--muted)}.mono,code{font-family:var(--mono);font-size:.9em}
.warn{background:var(--warn-bg);border:1px solid #f3d19c;color:var(--warn);border-radius:var(--radius);padding:.6rem .9rem;margin:.6rem 0}
.error{background:var(--bad-bg);border:1px solid #f1b4ae;color:var(--bad);border-radius:var(--radius);padding:.6rem .9rem;margin:.6rem 0}
.ok{background:var(--good-bg);border:1px solid #a6dcb8;border-radius:var(--radius);padding:.6rem .9rem;margin:.6rem 0}
pre{background:var(--surface);border:1px solid var(--border);border-radius:var(--radius);padding:.75rem;overflow:auto;max-height:32rem;font-family:var(--mono);font-size:.85rem}
button,.btn{font:inherit;font-size:.87rem;font-weight:600;padding:.35rem .8rem;border:1px solid #c9ced6;border-radius:6px;background:var(--surface);color:var(--text);cursor:pointer;text-decoration:none;display:inline-block}
button:hover,.btn:hover{background:#f9fafb;color:var(--text)}
.btn-primary,button.btn-primary{background:var(--accent);border-color:var(--accent);color:#fff}.btn-primary:hover{background:var(--accent-hover);color:#fff}
input[type=search],select{font:inherit;padding:.35rem .55rem;border:1px solid #c9ced6;border-radius:6px;background:var(--surface)}
input[type=search]{width:min(18rem,100%)}
form.search{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin:.5rem 0}
.actions{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin:1rem 0}
.row-actions{display:flex;flex-wrap:wrap;gap:.4rem .75rem;align-items:center}
.added{background:#e7f6ec}.removed{background:#fde8e8}.changed{background:#fff4e0}
.diff td{overflow-wrap:break-word}.diff td:first-child,.diff td:nth-child(2){white-space:nowrap}
@media (max-width:40rem){
  main{padding:1rem}
  .table-wrap{overflow-x:visible}
  table.cards thead{display:none}
  table.cards,table.cards tbody,table.cards tr,table.cards td{display:block;width:100%}
  table.cards tr{border-bottom:1px solid var(--border);padding:.4rem 0}
  table.cards td{border:0;padding:.2rem .75rem;overflow-wrap:anywhere}
  table.cards td[data-label]::before{content:attr(data-label) ': ';font-size:.75rem;text-transform:uppercase;color:var(--muted)}
}
`;

export function layout(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escape(title)} · Herald backup</title><style>${STYLE}</style></head>
<body><header><a href="/ui"><span class="mark" aria-hidden="true">H</span> Herald backup center</a></header><main>${body}</main><script src="/ui/local-time.js"></script></body></html>`;
}

export interface StackView extends StackRow {
  events: number;
  gaps: Gap[];
}

export function stacksPage(stacks: StackView[], opts: { source: string | null; files: Record<string, number> }): string {
  const rows = stacks
    .map(
      (s) => `<tr><td data-label="Stack"><a href="/ui/stacks/${enc(s.api_key)}">${s.name ? escape(s.name) : escape(s.api_key)}</a>${s.name ? ` <span class="muted mono">${escape(s.api_key)}</span>` : ''}</td><td data-label="Events">${s.events}</td><td data-label="Contiguous to seq">${s.feed_cursor}</td><td data-label="Highest seq">${s.highest_seq}</td>
<td data-label="Caught up">${time(s.caught_up_at)}</td><td data-label="Gaps">${s.gaps.length ? `<span class="deleted">${s.gaps.length} open</span>` : '<span class="live">none</span>'}</td></tr>`,
    )
    .join('');
  const gaps = stacks.flatMap((s) => s.gaps.map((g) => `<div class="warn"><strong>${stackLabel(s.api_key, s.name)}</strong> · ${escape(g.kind)}: ${escape(g.detail)}</div>`)).join('');
  return layout(
    'Stacks',
    `<h1>Stacks</h1>
<p class="muted">${opts.source ? `Catching up from ${escape(opts.source)}.` : 'No source is configured: the backup stores what is delivered and cannot check for gaps.'}
Asset files: ${opts.files.stored ?? 0} stored, ${opts.files.pending ?? 0} pending, ${opts.files.missing ?? 0} missing.</p>
${gaps}
${
  stacks.length
    ? `<div class="table-wrap"><table class="cards"><thead><tr><th>Stack</th><th>Events</th><th>Contiguous to seq</th><th>Highest seq</th><th>Caught up</th><th>Gaps</th></tr></thead><tbody>${rows}</tbody></table></div>`
    : '<p>Nothing is backed up yet. Point a Herald webhook (channels <code>*.*</code>) at <code>/deliveries</code> with this backup center\'s signing secret.</p>'
}`,
  );
}

/**
 * What names an entity beside its path, as query parameters: its branch (other than main) and an
 * entry's content type (an entry is keyed by content type and uid: a uid given again to another
 * content type's entry is another entity).
 */
function entityParams(e: EntityRow): string[] {
  return [e.branch !== 'main' ? `branch=${enc(e.branch)}` : '', e.module === 'entry' && e.content_type_uid ? `content_type_uid=${enc(e.content_type_uid)}` : ''].filter(Boolean);
}

/** `path` with `params` as its query, for an HTML attribute. */
function withQuery(path: string, params: string[]): string {
  return params.length ? `${path}?${params.join('&amp;')}` : path;
}

/** An entity's page. */
function entityHref(apiKey: string, e: EntityRow, sub = '', params: string[] = []): string {
  return withQuery(`/ui/stacks/${enc(apiKey)}/${enc(e.module)}/${enc(e.uid)}${sub}`, [...params, ...entityParams(e)]);
}

function linesCell(e: EntityRow): string {
  return Object.entries(e.lines)
    .map(([l, s]) => `<span class="${s}">${escape(l || (s === 'live' ? 'live' : 'deleted'))}${l && s === 'deleted' ? ' (deleted)' : ''}</span>`)
    .join(' ');
}

/** Where the uid named several entities one after another: which one the row's counts are of. */
function remadeNote(e: EntityRow): string {
  return e.incarnations > 1 ? ` <span class="muted">(incarnation ${e.incarnations}: made again under this uid)</span>` : '';
}

export function entitiesPage(apiKey: string, list: { entities: EntityRow[]; count: number }, q: { q?: string; module?: string }, stackName: string | null = null): string {
  const rows = list.entities
    .map(
      (e) => `<tr><td data-label="Title"><a href="${entityHref(apiKey, e)}">${escape(e.title ?? e.uid)}</a><div class="muted">${escape(e.uid)}</div></td>
<td data-label="Kind">${escape(e.module)}${e.content_type_uid && e.module === 'entry' ? ` <span class="muted">(${escape(e.content_type_uid)})</span>` : ''}</td>
<td data-label="State">${e.deleted ? '<span class="deleted">deleted</span>' : '<span class="live">live</span>'}</td><td data-label="Locales">${linesCell(e)}</td><td data-label="Versions">${e.events}${remadeNote(e)}</td><td data-label="Last change">${escape(e.last_action)}</td></tr>`,
    )
    .join('');
  const opt = (m: string, label: string) => `<option value="${m}"${q.module === m ? ' selected' : ''}>${label}</option>`;
  return layout(
    stackName ?? `Stack ${apiKey}`,
    `<p><a href="/ui">&larr; Stacks</a></p><h1>${stackLabel(apiKey, stackName)}</h1>
<form method="get" class="search"><label>Search by uid or title <input type="search" name="q" value="${escape(q.q ?? '')}"></label>
<select name="module" aria-label="Kind">${opt('', 'all kinds')}${opt('content_type', 'content types')}${opt('entry', 'entries')}${opt('asset', 'assets')}</select>
<button>Search</button></form><p class="muted">${list.count} found.</p>
${list.count ? `<div class="table-wrap"><table class="cards"><thead><tr><th>Title</th><th>Kind</th><th>State</th><th>Locales</th><th>Versions</th><th>Last change</th></tr></thead><tbody>${rows}</tbody></table></div>` : '<p>Nothing matches. Try part of a title, or an exact uid.</p>'}`,
  );
}

export interface VersionView {
  seq: number;
  action: string;
  line: string;
  locale: string | null;
  environment: string | null;
  version: number | null;
  actor: string | null;
  actor_name?: string | null;
  created_at: number;
  partial: boolean;
  /** A create that made the entity again under its uid after it was deleted (history.ts remadeAt): another entity's versions begin. */
  remade?: boolean;
  /** Which of the entities the uid named one after another this event is of, from 1 (history.ts incarnations). */
  incarnation?: number;
  file?: { status: string; size: number | null } | null;
}

/** Where the restored entity opens in Herald's web app (the source's `/`), or null for none. */
function heraldLink(heraldUrl: string | null, step: { module: string; uid: string; target_uid?: string | null }, contentType: string | null): string | null {
  if (!heraldUrl) return null;
  const base = heraldUrl.replace(/\/+$/, '');
  const uid = step.target_uid || step.uid;
  if (step.module === 'entry' && contentType) return `${base}/#/content/${enc(contentType)}/${enc(uid)}`;
  if (step.module === 'content_type') return `${base}/#/content/${enc(uid)}`;
  if (step.module === 'asset') return `${base}/#/assets`;
  return null;
}

export function entityPage(
  apiKey: string,
  e: EntityRow,
  versions: VersionView[],
  opts: { canRestore: boolean; csrf: string; branch: string; stackName?: string | null; heraldUrl?: string | null; result?: { report?: RestoreReport; error?: string } },
): string {
  // Restoring asks first: each Restore is a link to a page that says what will happen and holds the form.
  const ask = (label: string, seq?: number, primary = false) =>
    opts.canRestore ? `<a class="btn${primary ? ' btn-primary' : ''}" href="${entityHref(apiKey, e, '/restore', seq !== undefined ? [`seq=${seq}`] : [])}">${escape(label)}…</a>` : '';
  const prevOfLine = new Map<number, number>();
  const lastByLine = new Map<string, number>();
  for (const v of [...versions].sort((a, b) => a.seq - b.seq)) {
    // Nothing is diffed across a remaking: the versions before it were another entity's.
    if (v.remade) lastByLine.clear();
    const p = lastByLine.get(v.line);
    if (p !== undefined) prevOfLine.set(v.seq, p);
    if (v.action !== 'delete') lastByLine.set(v.line, v.seq);
  }
  const rows = versions
    .map((v) => {
      const prev = prevOfLine.get(v.seq);
      return `<tr><td data-label="Seq">${v.seq}</td><td data-label="Time">${time(v.created_at)}</td><td data-label="Event">${escape(v.action)}${v.remade ? ' <strong>made again under this uid</strong>' : ''}${v.environment ? ` <span class="muted">${escape(v.environment)}/${escape(v.locale)}</span>` : ''}</td>
<td data-label="Locale">${escape(v.line)}</td><td data-label="Version">${v.version ?? '-'}${e.incarnations > 1 ? ` <span class="muted">of incarnation ${v.incarnation ?? 1}</span>` : ''}</td><td data-label="By">${actor(v)}</td>
<td data-label="File">${v.file ? escape(v.file.status) + (v.file.size !== null ? ` <span class="muted">${v.file.size} B</span>` : '') : ''}</td>
<td><div class="row-actions"><a href="${entityHref(apiKey, e, `/versions/${v.seq}`)}">view</a>${prev !== undefined ? `<a href="${entityHref(apiKey, e, '/diff', [`from=${prev}`, `to=${v.seq}`])}">diff</a>` : ''}
${!v.partial && v.action !== 'delete' ? ask('Restore this version', v.seq) : ''}</div></td></tr>`;
    })
    .join('');
  const report = opts.result?.report;
  const opened = report?.steps.find((s) => s.module === e.module && s.uid === e.uid) ?? report?.steps[0];
  const link = opened ? heraldLink(opts.heraldUrl ?? null, opened, opened.module === 'entry' ? (opened.uid === e.uid ? e.content_type_uid : null) : null) : null;
  const result = opts.result?.error
    ? `<div class="error" role="alert">Restore failed: ${escape(opts.result.error)}</div>`
    : report
      ? `<div class="ok" role="status">Restored: ${report.steps.map((s) => `${escape(s.action)} ${escape(s.module)} ${escape(s.uid)}${s.target_uid && s.target_uid !== s.uid ? ` as ${escape(s.target_uid)}` : ''}${s.locale ? ` (${escape(s.locale)})` : ''}`).join('; ')}${
          link ? `. <a href="${escape(link)}">Open it in Herald</a>` : ''
        }</div>${report.warnings.map((w) => `<div class="warn">${escape(w)}</div>`).join('')}`
      : '';
  return layout(
    e.title ?? e.uid,
    `<p><a href="/ui/stacks/${enc(apiKey)}">&larr; ${opts.stackName ? escape(opts.stackName) : escape(apiKey)}</a></p>
<h1>${escape(e.title ?? e.uid)}</h1>
<p>${escape(e.module)} <code>${escape(e.uid)}</code>${e.content_type_uid && e.module === 'entry' ? ` of content type <code>${escape(e.content_type_uid)}</code>` : ''} ·
${e.deleted ? '<span class="deleted">deleted at the source</span>' : '<span class="live">live</span>'} · locales: ${linesCell(e)}</p>
${
  e.incarnations > 1
    ? `<p>This uid named ${e.incarnations} ${e.module === 'content_type' ? 'content types' : `${escape(e.module)}s`} one after another (each made again under it once deleted): incarnations 1 to ${e.incarnations}, each with versions from 1. A version below says which it is of; the button above restores incarnation ${e.incarnations}, and <code>herald restore --version N</code> needs <code>--incarnation</code> where several had version N.</p>`
    : ''
}
${result}
${opts.canRestore ? `<div class="actions">${ask(e.deleted ? 'Restore as it was before deletion' : 'Restore the latest version', undefined, true)}</div>` : '<p class="muted">Restoring from this page needs --source and --token.</p>'}
<div class="table-wrap"><table class="cards"><thead><tr><th>Seq</th><th>Time</th><th>Event</th><th>Locale</th><th>Version</th><th>By</th><th>File</th><th></th></tr></thead><tbody>${rows}</tbody></table></div>`,
  );
}

/** "Are you sure?" before a restore: what comes back, from when, and the form that does it. */
export function restoreConfirmPage(apiKey: string, e: EntityRow, v: VersionView | null, opts: { csrf: string; branch: string; stackName?: string | null }): string {
  const label = v ? 'Restore this version' : e.deleted ? 'Restore as it was before deletion' : 'Restore the latest version';
  const of = (n: number) => (e.incarnations > 1 ? `, of incarnation ${n} of the ${e.incarnations} made under this uid${n < e.incarnations ? ' (an earlier one, deleted since)' : ''}` : '');
  const what = v
    ? `the version of event ${v.seq} (${escape(v.action)}${v.line ? `, ${escape(v.line)}` : ''}, ${time(v.created_at)}, by ${actor(v)}${of(v.incarnation ?? 1)})`
    : e.deleted
      ? `its last version before it was deleted (with what it refers to)${of(e.incarnations)}`
      : `its latest version${of(e.incarnations)}`;
  return layout(
    `Restore ${e.title ?? e.uid}?`,
    `<p><a href="${entityHref(apiKey, e)}">&larr; ${escape(e.title ?? e.uid)}</a></p>
<h1>Restore ${escape(e.title ?? e.uid)}?</h1>
<p>This writes ${what} back to ${opts.stackName ? `the stack <strong>${escape(opts.stackName)}</strong>` : `stack <code>${escape(apiKey)}</code>`} in Herald, through its API.
${e.deleted ? 'The entity was deleted there, so it is created again, under its own uid when that is free there (else a new one, and the restore says so).' : 'Its current content there is replaced; the backup keeps that version too.'} Webhooks hear of it as of any other change.</p>
<div class="actions"><form method="post" action="${entityHref(apiKey, e, '/restore')}" style="display:inline"><input type="hidden" name="csrf" value="${escape(opts.csrf)}">${
      v ? `<input type="hidden" name="seq" value="${v.seq}">` : ''
    }<button class="btn-primary">${escape(label)}</button></form><a class="btn" href="${entityHref(apiKey, e)}">Cancel</a></div>`,
  );
}

export function versionPage(apiKey: string, e: EntityRow, seq: number, data: unknown): string {
  return layout(
    `${e.title ?? e.uid} @ ${seq}`,
    `<p><a href="${entityHref(apiKey, e)}">&larr; ${escape(e.title ?? e.uid)}</a></p><h1>Event ${seq}</h1><pre>${escape(JSON.stringify(data, null, 2))}</pre>`,
  );
}

export function diffPage(apiKey: string, e: EntityRow, from: number, to: number, changes: Change[]): string {
  const show = (v: unknown) => (v === undefined ? '' : escape(JSON.stringify(v)));
  const rows = changes.map((c) => `<tr class="${c.kind}"><td><code>${escape(c.path)}</code></td><td>${c.kind}</td><td>${show(c.from)}</td><td>${show(c.to)}</td></tr>`).join('');
  return layout(
    `${e.title ?? e.uid}: ${from} → ${to}`,
    `<p><a href="${entityHref(apiKey, e)}">&larr; ${escape(e.title ?? e.uid)}</a></p>
<h1>Changes from event ${from} to ${to}</h1>
${changes.length ? `<div class="table-wrap"><table class="diff"><thead><tr><th>Field</th><th>Change</th><th>Before</th><th>After</th></tr></thead><tbody>${rows}</tbody></table></div>` : '<p>No change in content between these versions.</p>'}`,
  );
}

export function errorPage(status: number, message: string): string {
  return layout(`Error ${status}`, `<h1>${status}</h1><div class="error" role="alert">${escape(message)}</div>`);
}
