import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/listen';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** What the README promises: the dashboard, /sla, /metrics and an alert show something within a minute. */
const PROMISED_MS = 60_000;

type Sla = { routes: Record<string, { count: number; sla: { status: string }; error_budget?: { burning: string[] } | null }> };

/** The process group of `npm run demo` (npm, the demo script, wrangler dev, workerd) is empty. */
function groupGone(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

let pgid = 0;
afterAll(() => {
  if (pgid && !groupGone(pgid)) process.kill(-pgid, 'SIGKILL');
});

describe('npm run demo', () => {
  it('shows a failed route, a burning error budget, an alert and dashboard data within a minute, and Ctrl-C stops every process', async () => {
    const port = await freePort();
    const started = Date.now();
    // As a user runs it, in a process group of its own (a terminal's), so Ctrl-C can be sent to the group.
    const demo = spawn('npm', ['run', 'demo'], { cwd: ROOT, env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    pgid = demo.pid ?? 0;
    let log = '';
    demo.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    demo.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise<number | string | null>((resolve) => demo.once('exit', (code, signal) => resolve(code ?? signal)));
    const base = `http://127.0.0.1:${port}`;
    const get = async <T>(p: string): Promise<T | null> => {
      try {
        const res = await fetch(`${base}${p}`);
        return res.ok ? ((await res.json()) as T) : null;
      } catch {
        return null;
      }
    };

    const seen = { failed: '', burning: '', alert: '', dashboard: 0 };
    while (Date.now() - started < PROMISED_MS && !(seen.failed && seen.burning && seen.alert && seen.dashboard)) {
      await new Promise((r) => setTimeout(r, 1000));
      const sla = await get<Sla>('/sla');
      for (const [route, r] of Object.entries(sla?.routes ?? {})) {
        if (r.sla.status === 'failed') seen.failed ||= route;
        if ((r.error_budget?.burning.length ?? 0) > 0) seen.burning ||= route;
      }
      const alerts = await get<{ alerts: { alert: { type: string; route: string } }[] }>('/sla/alerts');
      const first = alerts?.alerts[0]?.alert;
      if (first) seen.alert ||= `${first.type} ${first.route}`;
      seen.dashboard ||= (await get<{ routes: unknown[] }>('/dashboard/data'))?.routes.length ?? 0;
    }
    const elapsed = Date.now() - started;
    expect(seen, log).toMatchObject({ failed: expect.stringMatching(/^demo\./), burning: 'demo.summarize', alert: expect.stringMatching(/demo\./) });
    expect(seen.dashboard).toBeGreaterThanOrEqual(3);
    expect(elapsed).toBeLessThan(PROMISED_MS);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('llm_sla_requests_total{route="demo.search"');
    expect(metrics).toMatch(/llm_sla_burn_rate\{route="demo.summarize"/);

    // Ctrl-C: SIGINT to the whole group, as a terminal sends it.
    process.kill(-pgid, 'SIGINT');
    const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 20_000))]);
    // npm re-raises the interrupt once its script has exited; the demo itself stops everything and exits 0.
    expect([0, 'SIGINT'], log).toContain(code);
    expect(log).toContain('demo: stopped');
    const until = Date.now() + 10_000;
    while (!groupGone(pgid) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    expect(groupGone(pgid)).toBe(true);
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  }, 120_000);
});
