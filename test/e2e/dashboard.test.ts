import { copyFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DashboardData } from '../../src/core/dashboard';
import { ROOT } from './gateway';
import { chat, limited, openai, slaReport, waitForCounts } from './traffic';

/**
 * The dashboard in a real browser: Debian's Chromium, headless, driven by playwright-core, against `wrangler dev`
 * with traffic sent through it by the openai SDK. Screenshot: test/e2e/artifacts/dashboard.png (and docs/dashboard.png
 * when missing or with UPDATE_SCREENSHOT=1).
 */
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const ARTIFACTS = path.join(ROOT, 'test/e2e/artifacts');
const gateway = inject('gatewayUrl');
const token = inject('readToken');
const MINUTE = 60_000;

let browser: Browser;
let page: Page;
const problems: string[] = [];

beforeAll(async () => {
  const client = openai(gateway);
  const calls: (() => Promise<boolean>)[] = [];
  for (let i = 0; i < 30; i++) calls.push(() => chat(client, 'e2e.fast', { 'x-mock-chunk-delay-ms': String(i % 5) }, true));
  for (let i = 0; i < 12; i++) calls.push(() => chat(client, 'e2e.slow', { 'x-mock-latency-ms': String(150 + i * 5) }));
  for (let i = 0; i < 20; i++) calls.push(() => chat(client, 'e2e.flaky', i % 5 === 0 ? { 'x-mock-status': '500' } : {}));
  for (let i = 0; i < 3; i++) calls.push(() => chat(client, 'e2e.sparse'));
  const ok = await limited(8, calls);
  expect(ok.filter((x) => !x)).toHaveLength(4);

  // A pipeline stage timed over the last hour (POST /v1/timings accepts past starts): lines on the charts.
  const now = Date.now();
  const timings = [];
  for (let m = 59; m >= 1; m--) {
    for (let k = 0; k < 6; k++) {
      const wave = 80 + 40 * Math.sin(m / 6) + k * 6;
      timings.push({ route: 'rag.retrieval', duration_ms: Math.round(wave), ok: !(m % 17 === 0 && k < 2), ts: now - m * MINUTE + k * 5_000 });
    }
  }
  const posted = await fetch(`${gateway}/v1/timings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(timings) });
  expect(posted.status).toBe(200);
  expect(((await posted.json()) as { accepted: number }).accepted).toBe(timings.length);
  await waitForCounts(gateway, token, { 'e2e.fast': 30, 'e2e.slow': 12, 'e2e.flaky': 20, 'e2e.sparse': 3 });

  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1360, height: 1000 } });
  page.on('console', (m) => (m.type() === 'error' ? problems.push(`console: ${m.text()}`) : undefined));
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
});

afterAll(async () => {
  await browser?.close();
});

async function statusesOnPage(p: Page): Promise<{ cards: Record<string, string>; rows: Record<string, string>; overall: string | undefined }> {
  return p.evaluate(() => {
    const pick = (sel: string) => Object.fromEntries([...document.querySelectorAll<HTMLElement>(sel)].map((e) => [e.dataset['route'] ?? '', e.dataset['status'] ?? '']));
    return { cards: pick('.route-card'), rows: pick('#routes-body tr'), overall: document.getElementById('overall')?.dataset['status'] };
  });
}

describe('GET /dashboard in Chromium', () => {
  it('asks for the read token, then renders every route with the statuses /sla gives and its charts', async () => {
    const first = await page.goto(`${gateway}/dashboard`);
    expect(first?.status()).toBe(401);
    await page.fill('#token', 'wrong-token');
    await page.click('button[type=submit]');
    await expect.poll(() => page.textContent('.problem')).toBe('That token is not valid.');
    await page.fill('#token', token);
    problems.length = 0; // the sign-in form's 401 answers are logged as failed loads; from here on, nothing may fail
    await Promise.all([page.waitForURL(`${gateway}/dashboard`), page.click('button[type=submit]')]);
    await page.waitForSelector('body[data-loaded=true]', { timeout: 10_000 });
    // The page's own clock: from the sign-in's submission (the navigation's start) to the first data drawn. Playwright's
    // click dispatch and its polling for the attribute are not the page's time.
    const loadedMs = Number(await page.getAttribute('body', 'data-loaded-ms'));

    const report = await slaReport(gateway, token, '5m');
    const { cards, rows, overall } = await statusesOnPage(page);
    const expected = Object.fromEntries(Object.entries(report.routes).map(([route, r]) => [route, r.sla.status]));
    expect(cards).toEqual(expected);
    expect(rows).toEqual({ ...expected, overall: report.overall.sla.status });
    expect(overall).toBe(report.passed ? 'passed' : 'failed');
    expect(expected).toMatchObject({ 'e2e.fast': 'passed', 'e2e.slow': 'failed', 'e2e.flaky': 'failed', 'e2e.sparse': 'insufficient_data' });

    // The violations /sla lists, on the page.
    const listed = await page.$$eval('#violations li', (els) => els.map((e) => e.textContent));
    expect(listed).toEqual(report.violations.map((v) => v.message));

    // Two uPlot charts per route, drawn on canvases with a size, and the target lines in their legends.
    for (const route of Object.keys(expected)) {
      const card = page.locator('.route-card').filter({ has: page.getByRole('heading', { name: route, exact: true }) });
      const sizes = await card.locator('canvas').evaluateAll((cs) => cs.map((c) => [(c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height]));
      expect(sizes, route).toHaveLength(2);
      for (const [w, h] of sizes) expect((w ?? 0) * (h ?? 0), route).toBeGreaterThan(10_000);
    }
    const slowLegend = await page.locator('.route-card[data-route="e2e.slow"] .u-legend').first().textContent();
    expect(slowLegend).toContain('p95 target');
    const ragLegends = await page.locator('.route-card[data-route="rag.retrieval"] .u-legend').allTextContents();
    expect(ragLegends.join(' ')).toContain('success target');

    // The chart data are the per-minute windows: the stage timed over the last hour has points in ~59 minutes.
    const data = (await (await page.request.get(`${gateway}/dashboard/data?window=5m`)).json()) as DashboardData;
    const rag = data.routes.find((r) => r.route === 'rag.retrieval');
    expect(rag?.series.filter((p) => p.count > 0).length).toBeGreaterThanOrEqual(58);

    mkdirSync(ARTIFACTS, { recursive: true });
    const shot = path.join(ARTIFACTS, 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(20_000);
    const docs = path.join(ROOT, 'docs/dashboard.png');
    if (process.env['UPDATE_SCREENSHOT'] === '1' || !existsSync(docs)) copyFileSync(shot, docs);

    // Light: the page, uPlot and the data in well under a second on a local gateway.
    expect(loadedMs).toBeGreaterThan(0);
    expect(loadedMs).toBeLessThan(1_000);
    expect(problems).toEqual([]);
  });

  it('switches windows from the selector and follows /sla for that window', async () => {
    await page.selectOption('#window', '15m');
    await expect.poll(() => page.textContent('#generated')).toContain('Window 15m');
    expect(new URL(page.url()).searchParams.get('window')).toBe('15m');
    const report = await slaReport(gateway, token, '15m');
    const { cards } = await statusesOnPage(page);
    expect(cards).toEqual(Object.fromEntries(Object.entries(report.routes).map(([route, r]) => [route, r.sla.status])));
    expect(problems).toEqual([]);
  });

  it('refreshes itself', async () => {
    const before = await page.evaluate(() => document.body.dataset['generatedAt']);
    await expect.poll(() => page.evaluate(() => document.body.dataset['generatedAt']), { timeout: 15_000, interval: 500 }).not.toBe(before);
  });

  it('renders hostile route names as text', async () => {
    const evil = '<img src=x onerror="window.__pwned=1">"\'&</td>';
    await page.route('**/dashboard/data*', async (route) => {
      const res = await route.fetch();
      const data = (await res.json()) as DashboardData;
      const victim = data.routes[0];
      if (victim) {
        victim.route = evil;
        victim.stats.sla.violations = [{ route: evil, metric: 'latency_p95', actual: 1, target: 0, message: `Route '${evil}' P95 latency` }];
      }
      data.violations = victim?.stats.sla.violations ?? [];
      data.alerts = [{ id: 1, at: new Date().toISOString(), delivered: false, type: 'sla.violated', route: evil, status: 'failed', previous_status: 'passed', violations: [evil] }];
      await route.fulfill({ response: res, json: data });
    });
    await page.reload();
    await page.waitForSelector('body[data-loaded=true]');
    await expect.poll(() => page.locator('.route-card h3').allTextContents()).toContain(evil);
    expect(await page.locator('#routes-body td', { hasText: evil }).count()).toBe(1);
    expect(await page.locator('#alerts-body td', { hasText: evil }).count()).toBeGreaterThan(0);
    expect(await page.locator('main img').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    await page.unroute('**/dashboard/data*');
  });
});
