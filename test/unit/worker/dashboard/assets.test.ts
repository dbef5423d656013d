import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

describe('dashboard assets', () => {
  it('src/worker/dashboard/assets.generated.ts holds the current uPlot and page script (scripts/build-dashboard-assets.mjs)', () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts/build-dashboard-assets.mjs'), '--check'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('the page script type-checks strictly against the DOM, uPlot and the report types (tsconfig.dashboard.json)', () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.dashboard.json')], { encoding: 'utf8' });
    expect(r.stdout).toBe('');
    expect(r.status).toBe(0);
  }, 60_000);
});
