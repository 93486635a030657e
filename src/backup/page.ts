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
const time = (ms: number | null | undefined) => (ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) + 'Z' : '-');

const STYLE = `
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d2433;background:#f6f7f9}
header{background:#1d2433;color:#fff;padding:.7rem 1.2rem}header a{color:#fff;text-decoration:none;font-weight:600}
main{padding:1rem 1.2rem;max-width:72rem}
table{border-collapse:collapse;width:100%;background:#fff}th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #e3e6ea;vertical-align:top}
th{font-size:.8rem;text-transform:uppercase;color:#5a6272}
.deleted{color:#a3262b}.live{color:#1f7a3a}.muted{color:#5a6272}.warn{background:#fff4e0;border:1px solid #f0c36d;padding:.5rem .8rem;margin:.5rem 0}
.error{background:#fde8e8;border:1px solid #e59a9a;padding:.5rem .8rem;margin:.5rem 0}
.ok{background:#e7f6ec;border:1px solid #8cc9a0;padding:.5rem .8rem;margin:.5rem 0}
pre{background:#fff;border:1px solid #e3e6ea;padding:.6rem;overflow:auto;max-height:32rem}
button{font:inherit;padding:.2rem .7rem;cursor:pointer}input[type=search]{font:inherit;padding:.25rem .4rem;width:18rem}
.added{background:#e7f6ec}.removed{background:#fde8e8}.changed{background:#fff4e0}
@media (max-width:40rem){th:nth-child(n+5),td:nth-child(n+5){display:none}}
`;

export function layout(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escape(title)} · Herald backup</title><style>${STYLE}</style></head>
<body><header><a href="/ui">Herald backup center</a></header><main>${body}</main></body></html>`;
}

export interface StackView extends StackRow {
  events: number;
  gaps: Gap[];
}

export function stacksPage(stacks: StackView[], opts: { source: string | null; files: Record<string, number> }): string {
  const rows = stacks
    .map(
      (s) => `<tr><td><a href="/ui/stacks/${enc(s.api_key)}">${escape(s.api_key)}</a></td><td>${s.events}</td><td>${s.feed_cursor}</td><td>${s.highest_seq}</td>
<td>${time(s.caught_up_at)}</td><td>${s.gaps.length ? `<span class="deleted">${s.gaps.length} open</span>` : '<span class="live">none</span>'}</td></tr>`,
    )
    .join('');
  const gaps = stacks.flatMap((s) => s.gaps.map((g) => `<div class="warn"><strong>${escape(s.api_key)}</strong> · ${escape(g.kind)}: ${escape(g.detail)}</div>`)).join('');
  return layout(
    'Stacks',
    `<h1>Stacks</h1>
<p class="muted">${opts.source ? `Catching up from ${escape(opts.source)}.` : 'No source is configured: the backup stores what is delivered and cannot check for gaps.'}
Asset files: ${opts.files.stored ?? 0} stored, ${opts.files.pending ?? 0} pending, ${opts.files.missing ?? 0} missing.</p>
${gaps}
${
  stacks.length
    ? `<table><thead><tr><th>Stack</th><th>Events</th><th>Contiguous to seq</th><th>Highest seq</th><th>Caught up</th><th>Gaps</th></tr></thead><tbody>${rows}</tbody></table>`
    : '<p>Nothing is backed up yet. Point a Herald webhook (channels <code>*.*</code>) at <code>/deliveries</code> with this backup center\'s signing secret.</p>'
}`,
  );
}

function linesCell(e: EntityRow): string {
  return Object.entries(e.lines)
    .map(([l, s]) => `<span class="${s}">${escape(l || (s === 'live' ? 'live' : 'deleted'))}${l && s === 'deleted' ? ' (deleted)' : ''}</span>`)
    .join(' ');
}

export function entitiesPage(apiKey: string, list: { entities: EntityRow[]; count: number }, q: { q?: string; module?: string }): string {
  const rows = list.entities
    .map(
      (e) => `<tr><td><a href="/ui/stacks/${enc(apiKey)}/${enc(e.module)}/${enc(e.uid)}${e.branch !== 'main' ? `?branch=${enc(e.branch)}` : ''}">${escape(e.title ?? e.uid)}</a><div class="muted">${escape(e.uid)}</div></td>
<td>${escape(e.module)}${e.content_type_uid && e.module === 'entry' ? ` <span class="muted">(${escape(e.content_type_uid)})</span>` : ''}</td>
<td>${e.deleted ? '<span class="deleted">deleted</span>' : '<span class="live">live</span>'}</td><td>${linesCell(e)}</td><td>${e.events}</td><td>${escape(e.last_action)}</td></tr>`,
    )
    .join('');
  const opt = (m: string, label: string) => `<option value="${m}"${q.module === m ? ' selected' : ''}>${label}</option>`;
  return layout(
    `Stack ${apiKey}`,
    `<h1>Stack ${escape(apiKey)}</h1>
<form method="get"><label>Search by uid or title <input type="search" name="q" value="${escape(q.q ?? '')}"></label>
<select name="module" aria-label="Kind">${opt('', 'all kinds')}${opt('content_type', 'content types')}${opt('entry', 'entries')}${opt('asset', 'assets')}</select>
<button>Search</button></form><p class="muted">${list.count} found.</p>
${list.count ? `<table><thead><tr><th>Title</th><th>Kind</th><th>State</th><th>Locales</th><th>Versions</th><th>Last change</th></tr></thead><tbody>${rows}</tbody></table>` : '<p>Nothing matches. Try part of a title, or an exact uid.</p>'}`,
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
  created_at: number;
  partial: boolean;
  file?: { status: string; size: number | null } | null;
}

export function entityPage(
  apiKey: string,
  e: EntityRow,
  versions: VersionView[],
  opts: { canRestore: boolean; csrf: string; branch: string; result?: { report?: RestoreReport; error?: string } },
): string {
  const base = `/ui/stacks/${enc(apiKey)}/${enc(e.module)}/${enc(e.uid)}`;
  const branchQ = opts.branch !== 'main' ? `branch=${enc(opts.branch)}` : '';
  const form = (label: string, seq?: number) =>
    opts.canRestore
      ? `<form method="post" action="${base}/restore${branchQ ? `?${branchQ}` : ''}" style="display:inline"><input type="hidden" name="csrf" value="${escape(opts.csrf)}">${
          seq !== undefined ? `<input type="hidden" name="seq" value="${seq}">` : ''
        }<button>${escape(label)}</button></form>`
      : '';
  const prevOfLine = new Map<number, number>();
  const lastByLine = new Map<string, number>();
  for (const v of [...versions].sort((a, b) => a.seq - b.seq)) {
    const p = lastByLine.get(v.line);
    if (p !== undefined) prevOfLine.set(v.seq, p);
    if (v.action !== 'delete') lastByLine.set(v.line, v.seq);
  }
  const rows = versions
    .map((v) => {
      const prev = prevOfLine.get(v.seq);
      return `<tr><td>${v.seq}</td><td>${time(v.created_at)}</td><td>${escape(v.action)}${v.environment ? ` <span class="muted">${escape(v.environment)}/${escape(v.locale)}</span>` : ''}</td>
<td>${escape(v.line)}</td><td>${v.version ?? '-'}</td><td>${escape(v.actor ?? 'unknown yet')}</td>
<td>${v.file ? escape(v.file.status) + (v.file.size !== null ? ` <span class="muted">${v.file.size} B</span>` : '') : ''}</td>
<td><a href="${base}/versions/${v.seq}${branchQ ? `?${branchQ}` : ''}">view</a>${prev !== undefined ? ` · <a href="${base}/diff?from=${prev}&amp;to=${v.seq}${branchQ ? `&amp;${branchQ}` : ''}">diff</a>` : ''}
${!v.partial && v.action !== 'delete' ? form('Restore this version', v.seq) : ''}</td></tr>`;
    })
    .join('');
  const result = opts.result?.error
    ? `<div class="error" role="alert">Restore failed: ${escape(opts.result.error)}</div>`
    : opts.result?.report
      ? `<div class="ok" role="status">Restored: ${opts.result.report.steps.map((s) => `${escape(s.action)} ${escape(s.module)} ${escape(s.uid)}${s.target_uid && s.target_uid !== s.uid ? ` as ${escape(s.target_uid)}` : ''}${s.locale ? ` (${escape(s.locale)})` : ''}`).join('; ')}</div>${opts.result.report.warnings
          .map((w) => `<div class="warn">${escape(w)}</div>`)
          .join('')}`
      : '';
  return layout(
    e.title ?? e.uid,
    `<p><a href="/ui/stacks/${enc(apiKey)}">&larr; ${escape(apiKey)}</a></p>
<h1>${escape(e.title ?? e.uid)}</h1>
<p>${escape(e.module)} <code>${escape(e.uid)}</code>${e.content_type_uid && e.module === 'entry' ? ` of content type <code>${escape(e.content_type_uid)}</code>` : ''} ·
${e.deleted ? '<span class="deleted">deleted at the source</span>' : '<span class="live">live</span>'} · locales: ${linesCell(e)}</p>
${result}
${opts.canRestore ? `<p>${form(e.deleted ? 'Restore as it was before deletion' : 'Restore the latest version')}</p>` : '<p class="muted">Restoring from this page needs --source and --token.</p>'}
<table><thead><tr><th>Seq</th><th>Time</th><th>Event</th><th>Locale</th><th>Version</th><th>By</th><th>File</th><th></th></tr></thead><tbody>${rows}</tbody></table>`,
  );
}

export function versionPage(apiKey: string, e: EntityRow, seq: number, data: unknown): string {
  return layout(
    `${e.title ?? e.uid} @ ${seq}`,
    `<p><a href="/ui/stacks/${enc(apiKey)}/${enc(e.module)}/${enc(e.uid)}">&larr; ${escape(e.title ?? e.uid)}</a></p><h1>Event ${seq}</h1><pre>${escape(JSON.stringify(data, null, 2))}</pre>`,
  );
}

export function diffPage(apiKey: string, e: EntityRow, from: number, to: number, changes: Change[]): string {
  const show = (v: unknown) => (v === undefined ? '' : escape(JSON.stringify(v)));
  const rows = changes.map((c) => `<tr class="${c.kind}"><td><code>${escape(c.path)}</code></td><td>${c.kind}</td><td>${show(c.from)}</td><td>${show(c.to)}</td></tr>`).join('');
  return layout(
    `${e.title ?? e.uid}: ${from} → ${to}`,
    `<p><a href="/ui/stacks/${enc(apiKey)}/${enc(e.module)}/${enc(e.uid)}">&larr; ${escape(e.title ?? e.uid)}</a></p>
<h1>Changes from event ${from} to ${to}</h1>
${changes.length ? `<table><thead><tr><th>Field</th><th>Change</th><th>Before</th><th>After</th></tr></thead><tbody>${rows}</tbody></table>` : '<p>No change in content between these versions.</p>'}`,
  );
}

export function errorPage(status: number, message: string): string {
  return layout(`Error ${status}`, `<h1>${status}</h1><div class="error" role="alert">${escape(message)}</div>`);
}
