import { errorBudgetMarkdown } from './error-budget-render';
import type { RouteDetailReport, RouteReport, SlaReport } from '../core/report-types';
import { formatUsd } from './format';

const dash = '–';
const ms = (v: number | null | undefined) => (v === null || v === undefined ? dash : v.toFixed(1));
const pct = (v: number | null) => (v === null ? dash : `${(v * 100).toFixed(1)}%`);
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const STATUS = { passed: '✅ passed', failed: '❌ failed', insufficient_data: '⚪ insufficient data' } as const;

function row(name: string, r: RouteReport): string {
  return `| ${cell(name)} | ${STATUS[r.sla.status]} | ${r.count} | ${pct(r.success_rate)} | ${r.throughput_rps.toFixed(2)} | ${ms(r.latency?.p50)} | ${ms(r.latency?.p95)} | ${ms(r.latency?.p99)} | ${ms(r.ttft?.p95)} | ${r.tokens.input} / ${r.tokens.output} | ${r.cost_usd === null ? dash : formatUsd(r.cost_usd)} |`;
}

const HEAD = [
  '| Route | Status | Calls | Success | RPS | p50 ms | p95 ms | p99 ms | TTFT p95 ms | Tokens in / out | Cost USD |',
  '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
];

/** `GET /sla?format=md`. */
export function renderSlaMarkdown(report: SlaReport): string {
  const lines = [
    `# SLA report — ${report.passed ? 'PASSED' : 'FAILED'}`,
    '',
    `Window: ${report.window} · generated ${report.generated_at}`,
    '',
    ...HEAD,
    ...Object.entries(report.routes).map(([name, r]) => row(name, r)),
    row('**overall**', report.overall),
    ...errorBudgetMarkdown(report.routes),
    '',
    '## Violations',
    '',
    ...(report.violations.length ? report.violations.map((v) => `- ${v.message}`) : ['None']),
  ];
  return `${lines.join('\n')}\n`;
}

/** `GET /sla/<route>?format=md`. */
export function renderRouteMarkdown(d: RouteDetailReport): string {
  const lines = [
    `# Route ${cell(d.route)} — ${STATUS[d.stats.sla.status]}`,
    '',
    `Window: ${d.window} · generated ${d.generated_at}`,
    '',
    ...HEAD,
    row(d.route, d.stats),
    ...errorBudgetMarkdown({ [d.route]: d.stats }),
    '',
    '## Violations',
    '',
    ...(d.stats.sla.violations.length ? d.stats.sla.violations.map((v) => `- ${v.message}`) : ['None']),
    ...targetsMarkdown(d),
    '',
    '## Per minute',
    '',
    '| Minute | Calls | Success | RPS | p50 ms | p95 ms | p99 ms | TTFT p95 ms |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...d.series.map((p) => `| ${p.start} | ${p.count} | ${pct(p.success_rate)} | ${p.throughput_rps.toFixed(2)} | ${ms(p.p50)} | ${ms(p.p95)} | ${ms(p.p99)} | ${ms(p.ttft_p95)} |`),
  ];
  return `${lines.join('\n')}\n`;
}

/** The route's targets (a policy's attempts, each as its target saw them), when it has any. */
function targetsMarkdown(d: RouteDetailReport): string[] {
  const targets = Object.entries(d.targets ?? {});
  if (targets.length === 0) return [];
  return [
    '',
    '## Targets',
    '',
    '| Target | Breaker | Attempts | Success | p95 ms | TTFT p95 ms | Cost USD |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
    ...targets.map(([name, t]) => `| ${cell(name)} | ${t.breaker.state} | ${t.count} | ${pct(t.success_rate)} | ${ms(t.latency?.p95)} | ${ms(t.ttft?.p95)} | ${t.cost_usd === null ? dash : formatUsd(t.cost_usd)} |`),
  ];
}
