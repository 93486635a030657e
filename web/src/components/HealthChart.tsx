import { useId } from 'preact/hooks';
import { duration } from '../time.ts';
import type { Stats } from '../webhooks-api.ts';

/**
 * Delivery health you look at rather than read (GET /v3/webhooks/{uid}/stats): per bucket, a bar of
 * successful attempts with failed ones stacked on top in red, and the p95 attempt duration as a
 * line. The window is stated in words above it; every bar names its numbers on hover (SVG title)
 * and the totals are text, for screen readers and for a quick read.
 */
const W = 720;
const H = 140;
const PAD = 4;

function hourLabel(iso: string): string {
  return new Date(iso).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

export function HealthChart(props: { stats: Stats; title?: string }) {
  const { stats } = props;
  const captionId = useId();
  const n = stats.buckets.length;
  const most = Math.max(1, ...stats.buckets.map((b) => b.succeeded + b.failed));
  const slowest = Math.max(1, ...stats.buckets.map((b) => b.p95_ms ?? 0));
  const bw = (W - 2 * PAD) / Math.max(1, n);
  const y = (v: number) => H - PAD - (v / most) * (H - 2 * PAD);
  const yLatency = (ms: number) => H - PAD - (ms / slowest) * (H - 2 * PAD);
  const points = stats.buckets
    .map((b, i) => (b.p95_ms === null ? null : `${PAD + i * bw + bw / 2},${yLatency(b.p95_ms)}`))
    .filter(Boolean)
    .join(' ');
  const worstP95 = stats.buckets.reduce<number | null>((m, b) => (b.p95_ms === null ? m : Math.max(m ?? 0, b.p95_ms)), null);
  const hours = Math.round((Date.parse(stats.to) - Date.parse(stats.from)) / 3_600_000);
  const window = `Last ${hours} hours, ${bucketWords(stats.bucket_ms)} by ${bucketWords(stats.bucket_ms)} (${hourLabel(stats.from)} to ${hourLabel(stats.to)})`;
  return (
    <figure class="health-chart" aria-labelledby={captionId}>
      <figcaption id={captionId}>
        <strong>{props.title ?? 'Delivery health'}</strong> <span class="muted small">{window}</span>
        <span class="health-totals">
          <span class="legend legend-ok" data-total="succeeded">
            {stats.succeeded} succeeded
          </span>
          <span class="legend legend-bad" data-total="failed">
            {stats.failed} failed
          </span>
          <span class="legend legend-p95">slowest p95 {worstP95 === null ? '—' : duration(worstP95)}</span>
          {stats.concurrency?.limit != null && (
            <span class="legend legend-limit" data-total="concurrency" title={`Herald adapts this to the receiver's answers, up to ${stats.concurrency.max}`}>
              up to {stats.concurrency.limit} at once
            </span>
          )}
        </span>
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} preserveAspectRatio="none" role="img" aria-label={`${stats.succeeded} attempts succeeded and ${stats.failed} failed. ${window}.`}>
        <line x1={PAD} x2={W - PAD} y1={H - PAD} y2={H - PAD} class="axis" />
        {stats.buckets.map((b, i) => {
          const x = PAD + i * bw + 1;
          const width = Math.max(1, bw - 2);
          return (
            <g key={b.start} class="bucket" data-start={b.start} data-succeeded={b.succeeded} data-failed={b.failed} data-p95={b.p95_ms ?? ''}>
              <title>
                {hourLabel(b.start)}: {b.succeeded} succeeded, {b.failed} failed{b.p95_ms === null ? '' : `, p95 ${duration(b.p95_ms)}`}
              </title>
              <rect x={x} width={width} y={y(b.succeeded)} height={H - PAD - y(b.succeeded)} class="bar-ok" />
              <rect x={x} width={width} y={y(b.succeeded + b.failed)} height={y(b.succeeded) - y(b.succeeded + b.failed)} class="bar-bad" />
              {/* A transparent full-height target, so a bucket without calls still shows its hover title. */}
              <rect x={x} width={width} y={0} height={H} class="bar-hit" />
            </g>
          );
        })}
        {points && <polyline points={points} class="p95-line" />}
        {stats.buckets.map((b, i) => (b.p95_ms === null ? null : <circle key={b.start} cx={PAD + i * bw + bw / 2} cy={yLatency(b.p95_ms)} r={3} class="p95-dot" />))}
      </svg>
    </figure>
  );
}

/** A small chart for the webhook list: failures in red over successes, same buckets. */
export function Sparkline(props: { stats: Stats; label: string }) {
  const { stats } = props;
  const w = 96;
  const h = 24;
  const n = stats.buckets.length;
  const most = Math.max(1, ...stats.buckets.map((b) => b.succeeded + b.failed));
  const bw = w / Math.max(1, n);
  return (
    <svg
      class="sparkline"
      viewBox={`0 0 ${w} ${h}`}
      width={w}
      height={h}
      role="img"
      aria-label={`${props.label}: ${stats.succeeded} succeeded, ${stats.failed} failed in the last ${Math.round((Date.parse(stats.to) - Date.parse(stats.from)) / 3_600_000)} hours`}
    >
      {stats.buckets.map((b, i) => {
        const ok = (b.succeeded / most) * h;
        const bad = (b.failed / most) * h;
        return (
          <g key={b.start}>
            {ok > 0 && <rect x={i * bw} width={Math.max(1, bw - 0.5)} y={h - ok} height={ok} class="bar-ok" />}
            {bad > 0 && <rect x={i * bw} width={Math.max(1, bw - 0.5)} y={h - ok - bad} height={bad} class="bar-bad" />}
          </g>
        );
      })}
    </svg>
  );
}

function bucketWords(ms: number): string {
  if (ms % 3_600_000 === 0) return ms === 3_600_000 ? 'hour' : `${ms / 3_600_000} hours`;
  if (ms % 60_000 === 0) return ms === 60_000 ? 'minute' : `${ms / 60_000} minutes`;
  return `${Math.round(ms / 1000)} s`;
}
