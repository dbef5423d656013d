import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import type { SlaReport } from '../../src/core/report-types';
import { ROOT } from './gateway';
import { slaReport } from './traffic';

/** `llm-sla check` against the running gateway: its verdicts are /sla's. Runs after the files that sent traffic. */
const gateway = inject('gatewayUrl');
const token = inject('readToken');
const CLI = path.join(ROOT, 'bin/llm-sla.mjs');

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LLM_SLA_TOKEN: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('llm-sla check against wrangler dev', () => {
  it('reports the same verdicts as /sla and gates on them', async () => {
    // Something to judge even when this file runs alone: 12 calls on a route without targets of its own.
    for (let i = 0; i < 12; i++) {
      const res = await fetch(`${gateway}/openai/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer sk-e2e', 'x-sla-route': 'e2e.cli', 'x-mock-latency-ms': '5' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
      });
      await res.arrayBuffer();
    }
    let report: SlaReport;
    const until = Date.now() + 15_000;
    do {
      report = await slaReport(gateway, token, '15m');
      if ((report.routes['e2e.cli']?.count ?? 0) >= 12) break;
      await new Promise((r) => setTimeout(r, 200));
    } while (Date.now() < until);

    const { code, stdout, stderr } = await run(['check', '--url', gateway, '--token', token, '--window', '15m', '--json']);
    expect(stderr).toBe('');
    const fromCli = JSON.parse(stdout) as SlaReport;
    const statuses = (r: SlaReport) => Object.fromEntries(Object.entries(r.routes).map(([k, v]) => [k, v.sla.status]));
    expect(statuses(fromCli)).toEqual(statuses(report));
    expect(fromCli.routes['e2e.cli']?.sla.status).toBe('passed');
    expect(code).toBe(fromCli.passed ? 0 : 1);

    const table = await run(['check', '--url', gateway, '--token', token, '--window', '15m']);
    expect(table.code).toBe(code);
    expect(table.stdout).toMatch(/^e2e\.cli +12 .* PASS$/m);
    for (const v of fromCli.violations) expect(table.stdout).toContain(v.message);
  });

  it('exits 2 without the read token', async () => {
    const { code, stderr } = await run(['check', '--url', gateway]);
    expect(code).toBe(2);
    expect(stderr).toContain('answered 401');
  });
});
