import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/** wrangler.toml as shipped: what a first `npm run deploy` sends. */
const toml = readFileSync(new URL('../../wrangler.toml', import.meta.url), 'utf8');
const telemetryGuide = readFileSync(new URL('../../docs/telemetry.md', import.meta.url), 'utf8');

/** The table headers (`[x]`, `[[x]]`) a TOML file declares, comments left out. */
const tables = (text: string) => [...text.matchAll(/^\s*\[\[?([\w.]+)\]\]?\s*$/gm)].map((m) => m[1]);

describe('wrangler.toml as shipped', () => {
  it('deploys on any account: no Analytics Engine dataset (a deploy declaring one fails with code 10089 where it is not enabled)', () => {
    expect(tables(toml)).not.toContain('analytics_engine_datasets');
    expect(toml).not.toMatch(/^\s*binding\s*=\s*"SLA_ANALYTICS"/m);
  });

  it('carries the sink commented out, exactly as the telemetry guide says to turn it on', () => {
    const commented = [...toml.matchAll(/^# (\[\[analytics_engine_datasets\]\]\n)# (binding = .*\n)# (dataset = .*)$/gm)].map((m) => `${m[1]}${m[2]}${m[3]}`);
    expect(commented).toHaveLength(1);
    expect(telemetryGuide).toContain(`\`\`\`toml\n${commented[0]}\n\`\`\``);
  });

  it('declares the three Durable Object classes, created by the v1 and v2 migrations', () => {
    const classes = [...toml.matchAll(/^class_name = "(\w+)"/gm)].map((m) => m[1]);
    expect(classes).toEqual(['RouteStats', 'SlaRegistry', 'TeamBudgets']);
    const migrations = [...toml.matchAll(/^tag = "(\w+)"\nnew_sqlite_classes = \[(.*)\]/gm)].map((m) => [m[1], m[2]]);
    expect(migrations).toEqual([
      ['v1', '"RouteStats", "SlaRegistry"'],
      ['v2', '"TeamBudgets"'],
    ]);
  });
});
