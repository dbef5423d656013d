import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../support/listen';

export type Vector = { metric: Record<string, string>; value: [number, string] }[];

export interface PrometheusServer {
  api: string;
  query(promql: string): Promise<Vector>;
  /** The value of a query with exactly one series, else null. */
  scalar(promql: string): Promise<number | null>;
  stop(): Promise<void>;
  log(): string;
}

/**
 * Debian's Prometheus on a free port, scraping the gateway's /metrics (with the read token) and evaluating rules
 * every second; `ruleFiles` are loaded as `rule_files`. Resolves once it answers `/-/ready`.
 */
export async function startPrometheus(gateway: string, token: string, ruleFiles: readonly string[] = []): Promise<PrometheusServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'llm-sla-prom-'));
  const config = path.join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      ...(ruleFiles.length ? ['rule_files:', ...ruleFiles.map((f) => `  - ${JSON.stringify(f)}`)] : []),
      'scrape_configs:',
      '  - job_name: llm-sla-gateway',
      '    metrics_path: /metrics',
      '    authorization:',
      '      type: Bearer',
      `      credentials: ${token}`,
      '    static_configs:',
      `      - targets: ['${new URL(gateway).host}']`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const api = `http://127.0.0.1:${port}`;
  let log = '';
  const child: ChildProcess = spawn('prometheus', [`--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const query = async (promql: string): Promise<Vector> => {
    const res = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as { status: string; data?: { result: Vector }; error?: string };
    if (body.status !== 'success' || !body.data) throw new Error(`query ${promql} failed: ${body.error ?? res.status}`);
    return body.data.result;
  };
  const server: PrometheusServer = {
    api,
    query,
    scalar: async (promql) => {
      const v = await query(promql);
      return v.length === 1 && v[0] ? Number(v[0].value[1]) : null;
    },
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
    log: () => log,
  };
  const until = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}:\n${log}`);
    if (await fetch(`${api}/-/ready`).then((r) => r.ok, () => false)) return server;
    if (Date.now() > until) {
      await server.stop();
      throw new Error(`prometheus not ready in 30 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
