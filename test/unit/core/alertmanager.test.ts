import { describe, expect, it } from 'vitest';
import type { AlertPayload } from '../../../src/core/alerts';
import { afterDelivery, ALERT_KINDS, applyAlert, toAlertmanager, toPost, type AmEntry } from '../../../src/core/alertmanager';

const T = Date.UTC(2026, 11, 7, 12, 0, 0);
const at = (ms: number) => new Date(T + ms).toISOString();
const stats = { count: 100, success_rate: 0.9, p95_ms: 300, p99_ms: 500, throughput_rps: 1 };
const alert = (over: Partial<AlertPayload>): AlertPayload => ({
  type: 'sla.violated',
  route: 'openai/chat',
  status: 'failed',
  previous_status: 'passed',
  window: '5m',
  at: at(0),
  violations: ["Route 'openai/chat' P95 latency (325.4ms) exceeds target (300.0ms)"],
  stats,
  text: ":red_circle: SLA violated on route 'openai/chat' (window 5m)",
  ...over,
});

describe('alerts as Alertmanager API v2 alerts', () => {
  it('pairs each resolving type with the alert it closes, by the same key and labels', () => {
    const state = new Map<string, AmEntry>();
    applyAlert(state, alert({}), 'https://gw.example/');
    const [open] = toPost(state, T);
    expect(open).toEqual({
      labels: { alertname: 'LlmSlaViolated', route: 'openai/chat', severity: 'page' },
      annotations: { summary: "SLA violated on route 'openai/chat' (window 5m)", description: "Route 'openai/chat' P95 latency (325.4ms) exceeds target (300.0ms)", type: 'sla.violated', window: '5m' },
      startsAt: at(0),
      generatorURL: 'https://gw.example/sla/openai/chat',
    });
    // Two burn pairs of one route are two alerts; each resolve closes its own.
    const burn = (type: 'slo.burn' | 'slo.burn_resolved', window: string, ms: number) =>
      alert({ type, window, at: at(ms), labels: { slo: 'chat', burn: window === '1h/5m' ? 'fast' : 'slow', severity: 'page' }, text: ':fire: burning' });
    applyAlert(state, burn('slo.burn', '1h/5m', 1000), null);
    applyAlert(state, burn('slo.burn', '6h/30m', 2000), null);
    applyAlert(state, burn('slo.burn_resolved', '1h/5m', 60_000), null);
    applyAlert(state, alert({ type: 'sla.recovered', at: at(120_000), text: ':large_green_circle: SLA recovered' }), 'https://gw.example');
    const sent = toPost(state, T + 120_000);
    expect(sent.map((a) => [a.labels['alertname'], a.labels['burn'] ?? '', a.startsAt, a.endsAt ?? null])).toEqual([
      ['LlmSlaViolated', '', at(0), at(120_000)],
      ['LlmSlaErrorBudgetBurn', 'fast', at(1000), at(60_000)],
      ['LlmSlaErrorBudgetBurn', 'slow', at(2000), null],
    ]);
    // Once Alertmanager took them, only the open alert is left to re-send.
    afterDelivery(state, T + 120_000);
    expect(toPost(state, T + 180_000).map((a) => a.labels['burn'])).toEqual(['slow']);
  });

  it('sends a resolve whose opening was never seen with its own labels; budget alerts end with their period', () => {
    const state = new Map<string, AmEntry>();
    applyAlert(state, alert({ type: 'sla.recovered', at: at(5000) }), null);
    expect(toPost(state, T)[0]).toMatchObject({ labels: { alertname: 'LlmSlaViolated', route: 'openai/chat' }, startsAt: at(5000), endsAt: at(5000) });
    const budget = toAlertmanager(
      alert({ type: 'budget.exhausted', route: 'budget:search', window: 'month', budget: { team: 'search', period: 'month', key: '2026-12', spent_usd: 100, limit_usd: 100, threshold: 1 } }),
      'https://gw.example',
    );
    expect(budget.resolves).toBe(false);
    expect(budget.alert.labels).toEqual({ alertname: 'LlmSlaTeamBudget', team: 'search', period: 'month', budget_key: '2026-12', threshold: '1', severity: 'page' });
    expect(budget.alert.endsAt).toBe(new Date(Date.UTC(2027, 0, 1)).toISOString());
    expect(budget.alert.generatorURL).toBe('https://gw.example/budgets');
    // Every alert type has its place: opening or resolving, with an alertname.
    for (const [type, kind] of Object.entries(ALERT_KINDS)) expect(kind.alertname, type).toMatch(/^LlmSla/);
  });
});
