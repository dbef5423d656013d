import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../support/listen';

export interface AlertmanagerServer {
  url: string;
  stop(): Promise<void>;
  log(): string;
}

/** The binary of Debian's `prometheus-alertmanager` package. */
export const ALERTMANAGER_BIN = 'prometheus-alertmanager';

/**
 * Debian's Alertmanager on a free port, clustering off (no fixed gossip port), one receiver that sends nothing: the
 * tests read the alerts back from its API v2.
 */
export async function startAlertmanager(): Promise<AlertmanagerServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'llm-sla-am-'));
  const config = path.join(dir, 'alertmanager.yml');
  writeFileSync(config, ['route:', '  receiver: none', '  group_wait: 1s', 'receivers:', '  - name: none', ''].join('\n'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let log = '';
  const child: ChildProcess = spawn(
    ALERTMANAGER_BIN,
    [`--config.file=${config}`, `--storage.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  const until = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`alertmanager exited with ${child.exitCode}:\n${log}`);
    if (await fetch(`${url}/-/ready`).then((r) => r.ok, () => false)) return { url, stop, log: () => log };
    if (Date.now() > until) {
      await stop();
      throw new Error(`alertmanager not ready in 30 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
