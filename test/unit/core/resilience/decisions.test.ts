import { describe, expect, it } from 'vitest';
import { parsePolicies, resolvePolicy } from '../../../../src/config/policies';
import { percentilesRead, readsTails, routeDecisions } from '../../../../src/core/resilience/decisions';
import type { ResolvedPolicy } from '../../../../src/core/resilience/policy';
import { compactTails, tailFrom } from '../../../../src/core/resilience/tails';

function policy(block: Record<string, unknown>): ResolvedPolicy {
  const parsed = parsePolicies(JSON.stringify({ routes: { r: { targets: [{ provider: 'openai' }, { provider: 'backup' }], ...block } } }));
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  return resolvePolicy(parsed.policies, 'r') as ResolvedPolicy;
}
const ramp = (scale: number, n = 100) => Array.from({ length: n }, (_, i) => (i + 1) * scale);

describe('what a policy decides from the tails', () => {
  it('reads the tails only when a decision needs them: a strategy, a derived deadline, a hedge by percentile', () => {
    expect(readsTails(policy({ first_token_timeout_ms: 2000, retries: 1 }))).toBe(false);
    expect(readsTails(policy({ hedge: { after: { ms: 200 } } }))).toBe(false);
    expect(readsTails(policy({ hedge: {} }))).toBe(true);
    expect(readsTails(policy({ first_token_timeout: {} }))).toBe(true);
    expect(readsTails(policy({ strategy: 'lowest_latency_p95' }))).toBe(true);
  });

  it('per target: the measured percentiles read, the deadline and the hedge delay, by the functions the loop calls', () => {
    const p = policy({ strategy: 'lowest_ttft_p95', first_token_timeout: { percentile: 99, factor: 3, min_samples: 20 }, first_token_timeout_ms: 2500, hedge: { after: { percentile: 90 } } });
    const d = routeDecisions(p, new Map([['openai', tailFrom(ramp(2), ramp(10))]]), ['openai', 'backup']);
    expect(d).toMatchObject({ window: '5m', strategy: 'lowest_ttft_p95', min_samples: 20 });
    const openai = d.targets['openai'];
    expect(openai?.samples).toEqual({ ttft: 100, latency: 100 });
    expect(Object.keys(openai?.percentiles ?? {}).sort()).toEqual(['latency_p90', 'ttft_p90', 'ttft_p95', 'ttft_p99']);
    expect(openai?.percentiles['ttft_p99']).toBeCloseTo(198, -1);
    expect(openai?.first_token_timeout_ms).toBeCloseTo(594, -1);
    expect(openai?.first_token_timeout_source).toBe('derived');
    expect(openai?.hedge_after_ms?.stream).toBeCloseTo(180, -1);
    expect(openai?.hedge_after_ms?.other).toBeCloseTo(900, -1);
    // Listed but never measured: the fixed deadline, no hedge by percentile.
    expect(d.targets['backup']).toMatchObject({ samples: { ttft: 0, latency: 0 }, first_token_timeout_ms: 2500, first_token_timeout_source: 'fixed', hedge_after_ms: { stream: null, other: null } });
    expect(d.targets['backup']?.percentiles['ttft_p95']).toBeNull();
  });

  it('an isolate keeps only the percentiles its policy reads, and decides the same from them as from the sketches', () => {
    const p = policy({ strategy: 'lowest_latency_p95', first_token_timeout: { percentile: 99, min_samples: 20 }, hedge: { after: { percentile: 90 } } });
    expect(percentilesRead(p)).toEqual({ ttft: [90, 99], latency: [90, 95] });
    expect(percentilesRead(policy({ retries: 1 }))).toEqual({ ttft: [], latency: [] });
    const full = new Map([
      ['openai', tailFrom(ramp(2), ramp(10))],
      ['backup', tailFrom(ramp(3, 10), ramp(4, 10))],
    ]);
    const kept = compactTails(full, percentilesRead(p));
    expect(routeDecisions(p, kept)).toEqual(routeDecisions(p, full));
    expect(kept.get('openai')?.ttft.count).toBe(100);
    // What was not kept is not there.
    expect(kept.get('openai')?.ttft.at(50)).toBeNull();
  });
});
