import { spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slaReport } from '../../../src/core/report';
import type { SlaReport } from '../../../src/core/report-types';
import { parseSlaConfig } from '../../../src/core/sla/config';
import { prometheusRules } from '../../../src/core/sla/prometheus-rules';
import { addSample, emptyWindow, type Outcome, type WindowStats } from '../../../src/core/sla/window';
import { listenLocal, type Listening } from '../../support/listen';

/** `llm-sla check` against a local server answering /sla with reports built by the gateway's own core. */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI = path.join(ROOT, 'bin/llm-sla.mjs');
const TOKEN = 'cli-read-token';
const WINDOW_MS = 300_000;
const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);

function windowOf(latencies: number[], outcomes: Outcome[] = [], ttft: number | null = null): WindowStats {
  const w = emptyWindow(NOW - WINDOW_MS, WINDOW_MS);
  latencies.forEach((ms, i) => addSample(w, { ts: NOW - 1000, outcome: outcomes[i] ?? 'success', totalMs: ms, ttftMs: ttft, inputTokens: 10, outputTokens: 5, costUsd: null }));
  return w;
}

/** The report /sla answers, built by the gateway's own report function over windows built here. */
function report(windows: Record<string, WindowStats>, configJson: string, window = '5m'): SlaReport {
  const parsed = parseSlaConfig(configJson);
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  return slaReport(Object.entries(windows).map(([route, merged]) => ({ route, merged, slo: null })), parsed.config, window, NOW);
}

const steady = Array.from({ length: 40 }, (_, i) => 80 + i);
const reports: Record<string, SlaReport> = {
  passing: report({ 'openai/chat': windowOf(steady, [], 30), 'rag.embedding': windowOf(steady.slice(0, 12)) }, '{"default":{"max_p95_ms":500}}'),
  failing: report(
    { 'openai/chat': windowOf(steady), 'rag.retrieval': windowOf([...steady, 900, 950], [...steady.map((): Outcome => 'success'), 'upstream_error', 'timeout']) },
    '{"default":{"max_p95_ms":500,"min_success_rate":0.99}}',
  ),
  sparse: report({ 'openai/chat': windowOf(steady), 'rare.route': windowOf([100, 120]) }, '{"default":{"max_p95_ms":500}}'),
};

let server: Listening;
const seen: { url: string; auth: string | undefined }[] = [];

beforeAll(async () => {
  server = await listenLocal(
    http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      seen.push({ url: req.url ?? '', auth: req.headers.authorization });
      const send = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (req.headers.authorization !== `Bearer ${TOKEN}`) return send(401, { error: { message: 'Missing or invalid bearer token.' } });
      const scenario = url.pathname.split('/')[1] ?? '';
      if (scenario === 'not-a-gateway') return send(200, { hello: 'world' });
      if (scenario === 'slo' && url.pathname.endsWith('/sla/rules')) {
        return res.writeHead(200, { 'content-type': 'application/yaml' }).end(prometheusRules({ routes: { 'rag.generation': { slo: { objective: 0.99 } } } }));
      }
      const report = reports[scenario];
      if (!report || !url.pathname.endsWith('/sla')) return send(404, { error: { message: 'No such route.' } });
      const window = url.searchParams.get('window');
      if (window !== null && window !== '5m') return send(400, { error: { message: `window must be between 1m and 24h, got ${window}` } });
      return send(200, report);
    }),
  );
});

afterAll(async () => server?.close());

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, NO_COLOR: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const check = (scenario: string, ...more: string[]) => run(['check', '--url', `${server.url}/${scenario}`, '--token', TOKEN, ...more]);

describe('llm-sla check', () => {
  it('prints the routes and exits 0 when every SLA passed', async () => {
    const { code, stdout, stderr } = await check('passing');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    const header = lines.find((l) => l.startsWith('ROUTE'));
    expect(header?.split(/\s+/)).toEqual(['ROUTE', 'CALLS', 'P50', 'P95', 'P99', 'TTFT', 'P95', 'SUCCESS', 'RPS', 'STATUS']);
    const chat = reports['passing']?.routes['openai/chat'];
    const row = lines.find((l) => l.startsWith('openai/chat'))?.split(/\s+/);
    expect(row).toEqual([
      'openai/chat',
      String(chat?.count),
      `${chat?.latency?.p50.toFixed(1)}ms`,
      `${chat?.latency?.p95.toFixed(1)}ms`,
      `${chat?.latency?.p99.toFixed(1)}ms`,
      `${chat?.ttft?.p95.toFixed(1)}ms`,
      '100.00%',
      chat?.throughput_rps.toFixed(3),
      'PASS',
    ]);
    expect(lines.find((l) => l.startsWith('rag.embedding'))).toMatch(/ - +100\.00% .* PASS$/);
    expect(stdout).toContain('No violations.');
    expect(stdout).toContain('SLA check passed');
    expect(stdout).not.toContain('\u001b[');
    expect(seen.at(-1)).toEqual({ url: '/passing/sla', auth: `Bearer ${TOKEN}` });
  });

  it('lists the violations and exits 1 when an SLA failed', async () => {
    const { code, stdout } = await check('failing', '--window', '5m');
    expect(code).toBe(1);
    expect(seen.at(-1)?.url).toBe('/failing/sla?window=5m');
    const violations = reports['failing']?.violations ?? [];
    expect(violations.length).toBeGreaterThan(0);
    for (const v of violations) expect(stdout).toContain(v.message);
    expect(stdout).toMatch(/^rag\.retrieval .* FAIL$/m);
    expect(stdout).toMatch(/^openai\/chat .* PASS$/m);
    expect(stdout).toContain(`SLA check failed: ${violations.length} violation(s).`);
  });

  it('colors statuses with --color, and not with NO_COLOR or a pipe', async () => {
    const colored = await check('failing', '--color');
    expect(colored.stdout).toContain('\u001b[31mFAIL\u001b[0m');
    expect(colored.stdout).toContain('\u001b[32mPASS\u001b[0m');
    // Columns line up whatever the escape codes add.
    const rows = colored.stdout.split('\n').filter((l) => /^(openai|rag)/.test(l)).map((l) => l.replace(/\u001b\[[0-9;]*m/g, ''));
    expect(new Set(rows.map((r) => r.length)).size).toBe(1);
    expect((await check('failing')).stdout).not.toContain('\u001b[');
  });

  it('--json prints the report itself, and keeps the exit code', async () => {
    const failed = await check('failing', '--json');
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stdout)).toEqual(reports['failing']);
    const passed = await check('passing', '--json');
    expect(passed.code).toBe(0);
    expect(JSON.parse(passed.stdout)).toEqual(reports['passing']);
  });

  it('passes routes without enough calls, unless --strict', async () => {
    expect(reports['sparse']?.routes['rare.route']?.sla.status).toBe('insufficient_data');
    const lenient = await check('sparse');
    expect(lenient.code).toBe(0);
    expect(lenient.stdout).toMatch(/^rare\.route .* NO DATA$/m);
    expect(lenient.stdout).toContain('1 route(s) without enough data');
    const strict = await check('sparse', '--strict');
    expect(strict.code).toBe(1);
    expect(strict.stdout).toContain('--strict');
  });

  it('takes the URL and token from the environment', async () => {
    const { code } = await run(['check'], { LLM_SLA_URL: `${server.url}/passing`, LLM_SLA_TOKEN: TOKEN });
    expect(code).toBe(0);
  });

  it.each<[string, string[], RegExp]>([
    ['no command', [], /missing command: check/],
    ['an unknown command', ['status', '--url', 'http://x'], /unknown command "status"/],
    ['no URL', ['check'], /--url is required/],
    ['a bad URL', ['check', '--url', 'nope'], /--url is not a URL: "nope"/],
    ['a non-HTTP URL', ['check', '--url', 'ftp://x'], /must be http\(s\)/],
    ['a bad window', ['check', '--url', 'http://x', '--window', 'soon'], /--window must look like 5m/],
    ['a missing value', ['check', '--url'], /--url needs a value/],
    ['a bad timeout', ['check', '--url', 'http://x', '--timeout', '-3'], /--timeout must be a positive number/],
    ['an unknown flag', ['check', '--url', 'http://x', '--verbose'], /unknown argument "--verbose"/],
    ['a check flag on rules', ['rules', '--url', 'http://x', '--json'], /--json: only for check/],
  ])('exits 2 with a clear message on %s', async (_, args, message) => {
    const { code, stderr, stdout } = await run(args, { LLM_SLA_URL: '', LLM_SLA_TOKEN: '' });
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr).toContain('Usage: llm-sla check');
    expect(stdout).toBe('');
  });

  it('exits 2 when the gateway refuses, is not a gateway, or cannot be reached', async () => {
    const noToken = await run(['check', '--url', `${server.url}/passing`], { LLM_SLA_TOKEN: '' });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain('/passing/sla answered 401: Missing or invalid bearer token. (pass the read token with --token or LLM_SLA_TOKEN)');
    const badWindow = await check('passing', '--window', '48h');
    expect(badWindow.code).toBe(2);
    expect(badWindow.stderr).toContain('answered 400: window must be between 1m and 24h, got 48h');
    const other = await check('not-a-gateway');
    expect(other.code).toBe(2);
    expect(other.stderr).toContain('did not answer an SLA report');
    const closed = await listenLocal(http.createServer());
    await closed.close();
    const down = await run(['check', '--url', closed.url, '--timeout', '2']);
    expect(down.code).toBe(2);
    expect(down.stderr).toContain(`could not reach ${closed.url}`);
  });
});

describe('llm-sla rules', () => {
  it('prints the rule file GET /sla/rules answers, and exits 0', async () => {
    const { code, stdout, stderr } = await run(['rules', '--url', `${server.url}/slo`, '--token', TOKEN]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toBe(prometheusRules({ routes: { 'rag.generation': { slo: { objective: 0.99 } } } }));
    expect(seen.at(-1)?.url).toBe('/slo/sla/rules');
  });

  it('exits 2 when the gateway refuses or does not answer a rule file', async () => {
    const refused = await run(['rules', '--url', `${server.url}/slo`], { LLM_SLA_TOKEN: '' });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('/slo/sla/rules answered 401: Missing or invalid bearer token.');
    const other = await run(['rules', '--url', `${server.url}/not-a-gateway`, '--token', TOKEN]);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain('did not answer a Prometheus rule file');
  });
});
