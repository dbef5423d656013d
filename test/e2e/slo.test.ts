import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { RouteDetailReport } from '../../src/core/report-types';
import { ROOT } from './gateway';
import { startPrometheus, type PrometheusServer } from './prometheus-server';
import { chat, limited, openai, waitForCounts } from './traffic';

/**
 * The SLO of route e2e.slo (99 %, test/e2e/global-setup.ts) through the tools SRE teams use: the rule file
 * `llm-sla rules` prints, checked and unit-tested by promtool; the real Prometheus evaluating it over the scraped
 * gateway, against /sla on the same calls; and the gateway's own burn alert in the real Alertmanager.
 */
const gateway = inject('gatewayUrl');
const token = inject('readToken');
const alertmanager = inject('alertmanagerUrl');
const ROUTE = 'e2e.slo';
const GOOD = 30;
const BAD = 20;
const dir = mkdtempSync(path.join(os.tmpdir(), 'llm-sla-rules-'));
const rules = path.join(dir, 'slo-rules.yml');
let prometheus: PrometheusServer;

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/llm-sla.mjs'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const detail = async (): Promise<RouteDetailReport> => (await fetch(`${gateway}/sla/${ROUTE}?window=5m`, { headers: { authorization: `Bearer ${token}` } })).json() as Promise<RouteDetailReport>;

type AmAlert = { labels: Record<string, string>; status: { state: string }; generatorURL: string; startsAt: string; endsAt: string };
async function amAlerts(): Promise<AmAlert[]> {
  const filter = ['alertname="LlmSlaErrorBudgetBurn"', `route="${ROUTE}"`, 'burn="fast"'].map((f) => `filter=${encodeURIComponent(f)}`).join('&');
  return (await fetch(`${alertmanager}/api/v2/alerts?${filter}`)).json() as Promise<AmAlert[]>;
}

beforeAll(async () => {
  const printed = await cli(['rules', '--url', gateway, '--token', token]);
  expect(printed.stderr).toBe('');
  expect(printed.code).toBe(0);
  writeFileSync(rules, printed.stdout);
  // The committed unit tests of the rules, for this gateway's URL (the alerts' links).
  writeFileSync(path.join(dir, 'slo-rules.test.yml'), readFileSync(path.join(ROOT, 'test/e2e/rules/slo-rules.test.yml'), 'utf8').replaceAll('@GATEWAY@', gateway));
  prometheus = await startPrometheus(gateway, token, [rules]);
});

afterAll(async () => {
  await prometheus?.stop();
});

describe('Prometheus rules for the SLOs in force', () => {
  it("scrapes the route's judged calls from 0, before its first call", async () => {
    // So increase() sees every call that follows.
    await expect.poll(() => prometheus.scalar(`count(llm_sla_slo_calls_total{route="${ROUTE}"} == 0)`), { timeout: 20_000, interval: 250 }).toBe(2);
    await expect.poll(() => prometheus.scalar(`count_over_time(llm_sla_slo_calls_total{route="${ROUTE}",good="true"}[1m])`), { timeout: 10_000, interval: 250 }).toBeGreaterThanOrEqual(2);
  });

  it('llm-sla rules prints a rule file promtool accepts', () => {
    const check = spawnSync('promtool', ['check', 'rules', rules], { encoding: 'utf8' });
    expect(check.stderr + check.stdout).toContain('SUCCESS');
    expect(check.status).toBe(0);
  });

  it('fires and resolves each burn-rate alert under promtool test rules', () => {
    const test = spawnSync('promtool', ['test', 'rules', path.join(dir, 'slo-rules.test.yml')], { encoding: 'utf8' });
    expect(test.stdout + test.stderr).toContain('SUCCESS');
    expect(test.status).toBe(0);
  });

  it("Prometheus' burn rate over the scraped gateway equals /sla's within 2 %, and the page alert fires in both", async () => {
    const client = openai(gateway);
    const calls = [...Array.from({ length: GOOD }, () => () => chat(client, ROUTE)), ...Array.from({ length: BAD }, () => () => chat(client, ROUTE, { 'x-mock-status': '500' }))];
    expect((await limited(10, calls)).filter(Boolean)).toHaveLength(GOOD);
    await waitForCounts(gateway, token, { [ROUTE]: GOOD + BAD });
    await expect.poll(() => prometheus.scalar(`sum(llm_sla_slo_calls_total{route="${ROUTE}"})`), { timeout: 20_000, interval: 250 }).toBe(GOOD + BAD);

    const budget = (await detail()).stats.error_budget;
    expect(budget?.good).toBe(GOOD);
    expect(budget?.bad).toBe(BAD);
    for (const w of ['5m', '1h'] as const) {
      const sla = budget?.burn_rates[w] ?? NaN;
      expect(sla).toBeCloseTo(BAD / (GOOD + BAD) / 0.01, 6);
      // The recording rule, evaluated after the scrape that saw every call.
      await expect
        .poll(async () => Math.abs(((await prometheus.scalar(`route:llm_sla_slo_errors:ratio_rate${w}{route="${ROUTE}"} / 0.01`)) ?? 0) / sla - 1), { timeout: 20_000, interval: 250 })
        .toBeLessThanOrEqual(0.02);
    }
    await expect
      .poll(() => prometheus.scalar(`ALERTS{alertname="LlmSlaErrorBudgetBurn",route="${ROUTE}",burn="fast",severity="page",alertstate="firing"}`), { timeout: 20_000, interval: 250 })
      .toBe(1);
    // The gateway pages on the same calls.
    expect((await detail()).stats.error_budget?.burning).toContain('fast');
  });

  it("the gateway's own page alert reaches Alertmanager, firing, then resolved", async () => {
    await expect.poll(async () => (await amAlerts()).filter((a) => a.status.state === 'active').length, { timeout: 30_000, interval: 500 }).toBe(1);
    const [firing] = await amAlerts();
    expect(firing?.labels).toMatchObject({ alertname: 'LlmSlaErrorBudgetBurn', route: ROUTE, slo: 'e2e-slo', objective: '0.99', burn: 'fast', severity: 'page', long: '1h', short: '5m', factor: '14.4' });
    expect(firing?.generatorURL).toBe(`${gateway}/sla/${ROUTE}`);

    // Good calls bring the 5-minute window under 14.4x: the gateway resolves the alert, and Alertmanager ends it.
    const client = openai(gateway);
    expect((await limited(10, Array.from({ length: 250 }, () => () => chat(client, ROUTE)))).every(Boolean)).toBe(true);
    await waitForCounts(gateway, token, { [ROUTE]: GOOD + BAD + 250 });
    await expect.poll(async () => (await amAlerts()).filter((a) => a.status.state === 'active').length, { timeout: 30_000, interval: 500 }).toBe(0);
  });
});
