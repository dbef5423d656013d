import { errorBudgetHtml } from './error-budget-render';
import type { RouteDetailReport, RouteReport, SlaReport } from '../core/report-types';
import { formatUsd } from './format';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const dash = '–';
const ms = (v: number | null | undefined) => (v === null || v === undefined ? dash : v.toFixed(1));
const pct = (v: number | null) => (v === null ? dash : `${(v * 100).toFixed(1)}%`);

const CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:2rem;color:#1f2328}table{border-collapse:collapse;margin:1rem 0}
th,td{padding:.35rem .6rem;border-bottom:1px solid #d0d7de;text-align:right}th:first-child,td:first-child{text-align:left}
.badge{padding:.1rem .5rem;border-radius:1rem;color:#fff;font-size:12px}.passed{background:#1a7f37}.failed{background:#cf222e}
.insufficient_data{background:#6e7781}h1 .badge{font-size:16px}`;

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${esc(title)}</title><style>${CSS}</style></head><body>${body}</body></html>`;
}

const badge = (status: string) => `<span class="badge ${esc(status)}">${esc(status.replace('_', ' '))}</span>`;

function row(name: string, r: RouteReport): string {
  const cells = [r.count, pct(r.success_rate), r.throughput_rps.toFixed(2), ms(r.latency?.p50), ms(r.latency?.p95), ms(r.latency?.p99), ms(r.ttft?.p95), `${r.tokens.input} / ${r.tokens.output}`, r.cost_usd === null ? dash : formatUsd(r.cost_usd)];
  return `<tr><td>${esc(name)}</td><td>${badge(r.sla.status)}</td>${cells.map((c) => `<td>${esc(String(c))}</td>`).join('')}</tr>`;
}

const HEAD = '<tr><th>Route</th><th>Status</th><th>Calls</th><th>Success</th><th>RPS</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>TTFT p95 ms</th><th>Tokens in / out</th><th>Cost USD</th></tr>';

const violations = (messages: string[]) =>
  `<h2>Violations</h2>${messages.length ? `<ul>${messages.map((m) => `<li>${esc(m)}</li>`).join('')}</ul>` : '<p>None</p>'}`;

/** `GET /sla?format=html`: a self-contained page (inline CSS, nothing fetched). */
export function renderSlaHtml(report: SlaReport): string {
  const status = report.passed ? 'passed' : 'failed';
  const rows = Object.entries(report.routes).map(([name, r]) => row(name, r)).join('') + row('overall', report.overall);
  return page(
    `SLA report (${report.window})`,
    `<h1>SLA report ${badge(status)}</h1><p>Window ${esc(report.window)} · generated ${esc(report.generated_at)}</p><table>${HEAD}${rows}</table>${errorBudgetHtml(report.routes, esc)}${violations(report.violations.map((v) => v.message))}`,
  );
}

/** `GET /sla/<route>?format=html`. */
export function renderRouteHtml(d: RouteDetailReport): string {
  const series = d.series
    .map((p) => `<tr><td>${esc(p.start)}</td>${[p.count, pct(p.success_rate), p.throughput_rps.toFixed(2), ms(p.p50), ms(p.p95), ms(p.p99), ms(p.ttft_p95)].map((c) => `<td>${esc(String(c))}</td>`).join('')}</tr>`)
    .join('');
  return page(
    `Route ${d.route}`,
    `<h1>Route ${esc(d.route)} ${badge(d.stats.sla.status)}</h1><p>Window ${esc(d.window)} · generated ${esc(d.generated_at)}</p><table>${HEAD}${row(d.route, d.stats)}</table>${errorBudgetHtml({ [d.route]: d.stats }, esc)}${violations(d.stats.sla.violations.map((v) => v.message))}${targetsHtml(d)}<h2>Per minute</h2><table><tr><th>Minute</th><th>Calls</th><th>Success</th><th>RPS</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>TTFT p95 ms</th></tr>${series}</table>`,
  );
}

/** The route's targets (a policy's attempts, each as its target saw them), when it has any. */
function targetsHtml(d: RouteDetailReport): string {
  const targets = Object.entries(d.targets ?? {});
  if (targets.length === 0) return '';
  const rows = targets
    .map(([name, t]) => `<tr><td>${esc(name)}</td>${[t.breaker.state, t.count, pct(t.success_rate), ms(t.latency?.p95), ms(t.ttft?.p95)].map((c) => `<td>${esc(String(c))}</td>`).join('')}</tr>`)
    .join('');
  return `<h2>Targets</h2><table><tr><th>Target</th><th>Breaker</th><th>Attempts</th><th>Success</th><th>p95 ms</th><th>TTFT p95 ms</th></tr>${rows}</table>`;
}
