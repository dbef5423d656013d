import { describe, expect, it } from 'vitest';
import { checkPolicies, parsePolicies, resolvePolicy } from '../../../src/config/policies';
import type { Provider } from '../../../src/core/providers/types';

const provider = (name: string, format: 'openai' | 'anthropic' = 'openai'): [string, Provider] => [name, { name, baseUrl: `https://${name}.example`, format, injectStreamUsage: format === 'openai' }];
const providers = new Map([provider('openai'), provider('backup'), provider('anthropic', 'anthropic'), provider('groq')]);
const keys = new Map([['backup', 'bk-secret-key']]);
const issue = {
  default: { retries: 0 },
  routes: {
    'rag.generation': {
      targets: [{ provider: 'openai' }, { provider: 'backup', model: 'gpt-4o-mini' }],
      retries: 2,
      retry_on: [429, 500, 502, 503, 504, 'network_error', 'timeout'],
      backoff_ms: 200,
      first_token_timeout_ms: 2000,
      timeout_ms: 30000,
      breaker: { failure_rate: 0.5, min_calls: 10, window_s: 60, cooldown_s: 30 },
    },
  },
};

describe('POLICIES', () => {
  it("accepts the issue's example and resolves its route, every default filled in", () => {
    const checked = checkPolicies(JSON.stringify(issue), providers, keys);
    expect(checked.ok).toBe(true);
    if (!checked.ok) return;
    const p = resolvePolicy(checked.policies, 'rag.generation');
    expect(p).toMatchObject({
      matched: 'rag.generation',
      targets: [
        { provider: 'openai', model: null },
        { provider: 'backup', model: 'gpt-4o-mini' },
      ],
      retries: 2,
      backoffMs: 200,
      backoffMaxMs: 10_000,
      retryAfterMaxMs: 10_000,
      firstTokenTimeoutMs: 2000,
      timeoutMs: 30_000,
      breaker: { failureRate: 0.5, minCalls: 10, windowMs: 60_000, cooldownMs: 30_000 },
    });
    expect([...(p?.retryOn.statuses ?? [])].sort()).toEqual([429, 500, 502, 503, 504]);
    expect(p?.retryOn).toMatchObject({ networkError: true, timeout: true });
  });

  it('a route whose policy changes nothing takes the plain path (null)', () => {
    const parsed = parsePolicies(JSON.stringify(issue));
    if (!parsed.ok) throw new Error(parsed.problems.join('; '));
    expect(resolvePolicy(parsed.policies, 'other.route')).toBeNull();
  });

  it('merges the most specific block over default; null switches a default off', () => {
    const parsed = parsePolicies(
      JSON.stringify({
        default: { retries: 1, timeout_ms: 5000, breaker: { cooldown_s: 5 } },
        routes: { 'rag.*': { retries: 3 }, 'rag.gen*': { timeout_ms: null, breaker: null } },
      }),
    );
    if (!parsed.ok) throw new Error(parsed.problems.join('; '));
    expect(resolvePolicy(parsed.policies, 'rag.embed')).toMatchObject({ matched: 'rag.*', retries: 3, timeoutMs: 5000, breaker: { cooldownMs: 5000, failureRate: 0.5, minCalls: 10 } });
    expect(resolvePolicy(parsed.policies, 'rag.generation')).toMatchObject({ matched: 'rag.gen*', retries: 1, timeoutMs: null, breaker: null });
    expect(resolvePolicy(parsed.policies, 'x')).toMatchObject({ matched: null, retries: 1 });
  });

  it('refuses unknown keys, bad values and a target listed twice, saying where', () => {
    const bad = parsePolicies(JSON.stringify({ routes: { a: { retrys: 1, retries: -1, retry_on: ['sometimes'] } } }));
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.problems.join('\n')).toMatch(/routes\.a\.retrys: unknown key/);
    expect(bad.problems.join('\n')).toMatch(/routes\.a\.retries/);
    expect(bad.problems.join('\n')).toMatch(/routes\.a\.retry_on\[0\]/);
    const twice = parsePolicies(JSON.stringify({ routes: { a: { targets: [{ provider: 'backup' }, { provider: 'backup' }] } } }));
    expect(twice).toEqual({ ok: false, problems: ['routes.a.targets[1]: backup is listed twice'] });
    expect(parsePolicies('{not json')).toMatchObject({ ok: false, problems: [expect.stringMatching(/not valid JSON/)] });
    // A target's model goes into a header and /metrics labels as it is: printable ASCII, no quotes.
    const model = parsePolicies(JSON.stringify({ routes: { a: { targets: [{ provider: 'backup', model: 'gpt "4o"' }] } } }));
    expect(model).toMatchObject({ ok: false, problems: [expect.stringMatching(/^routes\.a\.targets\[0\]\.model: a model name in printable ASCII/)] });
    expect(parsePolicies(JSON.stringify({ routes: { a: { targets: [{ provider: 'backup', model: 'accounts/fw/models/llama-v3p1:free@2024' }] } } })).ok).toBe(true);
  });

  it('refuses a fallback to a provider without a managed key, naming the secret to set', () => {
    const r = checkPolicies(JSON.stringify({ routes: { a: { targets: [{ provider: 'openai' }, { provider: 'groq' }] } } }), providers, keys);
    expect(r).toEqual({
      ok: false,
      problems: [
        'routes["a"].targets[1]: falls back to "groq", which has no managed key (set the GROQ_API_KEY secret): the client\'s own key only ever goes to the provider its path names',
      ],
    });
  });

  it('refuses unknown providers and targets of two wire formats', () => {
    const r = checkPolicies(JSON.stringify({ default: { targets: [{ provider: 'openai' }, { provider: 'nope' }] }, routes: { b: { targets: [{ provider: 'backup' }, { provider: 'anthropic' }] } } }), providers, new Map([...keys, ['anthropic', 'ak']]));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toEqual([
      expect.stringMatching(/^default\.targets\[1\]\.provider: no provider named "nope"/),
      expect.stringMatching(/^routes\["b"\]\.targets: mixes wire formats \(openai: backup; anthropic: anthropic\)/),
    ]);
  });

  describe('strategy, first_token_timeout and hedge (decisions from the measured tails)', () => {
    const tails = {
      strategy: 'lowest_ttft_p95',
      first_token_timeout: { percentile: 95, factor: 2, min_ms: 300, max_ms: 10000, min_samples: 50 },
      hedge: { after: { percentile: 95 }, max_ratio: 0.05 },
    };

    it("accepts the issue's example and resolves it", () => {
      const r = checkPolicies(JSON.stringify({ routes: { 'rag.generation': { targets: [{ provider: 'openai' }, { provider: 'backup' }], ...tails } } }), providers, keys);
      if (!r.ok) throw new Error(r.problems.join('; '));
      expect(resolvePolicy(r.policies, 'rag.generation')).toMatchObject({
        strategy: 'lowest_ttft_p95',
        derivedFirstToken: { percentile: 95, factor: 2, minMs: 300, maxMs: 10_000, minSamples: 50 },
        hedge: { after: { percentile: 95 }, maxRatio: 0.05, minSamples: 50 },
        minSamples: 50,
        firstTokenTimeoutMs: null,
      });
    });

    it('fills the defaults in; min_samples is the one every decision by percentile uses', () => {
      const parsed = parsePolicies(JSON.stringify({ routes: { a: { first_token_timeout: { min_samples: 20 }, hedge: {} }, b: { hedge: { after: { ms: 250 } } }, c: { strategy: 'lowest_latency_p95' } } }));
      if (!parsed.ok) throw new Error(parsed.problems.join('; '));
      expect(resolvePolicy(parsed.policies, 'a')).toMatchObject({
        strategy: 'ordered',
        derivedFirstToken: { percentile: 95, factor: 2, minMs: 300, maxMs: 10_000, minSamples: 20 },
        hedge: { after: { percentile: 95 }, maxRatio: 0.05, minSamples: 20 },
        minSamples: 20,
      });
      expect(resolvePolicy(parsed.policies, 'b')).toMatchObject({ derivedFirstToken: null, hedge: { after: { ms: 250 }, maxRatio: 0.05, minSamples: 50 } });
      // A strategy alone is a policy (the call is ordered by the tails, on the policy's path).
      expect(resolvePolicy(parsed.policies, 'c')).toMatchObject({ strategy: 'lowest_latency_p95', hedge: null, derivedFirstToken: null, minSamples: 50 });
    });

    it('null switches a default hedge or derived deadline off', () => {
      const parsed = parsePolicies(JSON.stringify({ default: { hedge: { max_ratio: 0.1 }, first_token_timeout: {} }, routes: { quiet: { hedge: null, first_token_timeout: null } } }));
      if (!parsed.ok) throw new Error(parsed.problems.join('; '));
      expect(resolvePolicy(parsed.policies, 'x')).toMatchObject({ hedge: { maxRatio: 0.1 } });
      expect(resolvePolicy(parsed.policies, 'quiet')).toBeNull();
    });

    it('refuses bad values, naming the field', () => {
      const bad = parsePolicies(
        JSON.stringify({
          routes: {
            a: { strategy: 'fastest', first_token_timeout: { percentile: 100, factor: 0.5, min_ms: 5000, max_ms: 1000, min_samples: 0, window: 5 } },
            b: { hedge: { after: { percentile: 95, ms: 200 }, max_ratio: 0 } },
            c: { hedge: { after: {}, max_ratio: 1.5 } },
          },
        }),
      );
      expect(bad.ok).toBe(false);
      if (bad.ok) return;
      const text = bad.problems.join('\n');
      expect(text).toMatch(/routes\.a\.strategy: .*ordered.*lowest_ttft_p95.*lowest_latency_p95/);
      expect(text).toMatch(/routes\.a\.first_token_timeout\.percentile: a percentile below 100/);
      expect(text).toMatch(/routes\.a\.first_token_timeout\.factor: a factor of at least 1/);
      expect(text).toMatch(/routes\.a\.first_token_timeout\.min_samples/);
      expect(text).toMatch(/routes\.a\.first_token_timeout\.window: unknown key/);
      expect(text).toMatch(/routes\.b\.hedge\.after: give either percentile or ms/);
      expect(text).toMatch(/routes\.b\.hedge\.max_ratio: a share of the calls above 0/);
      expect(text).toMatch(/routes\.c\.hedge\.after: give either percentile or ms/);
      expect(text).toMatch(/routes\.c\.hedge\.max_ratio: a share of the calls, at most 1/);
      const order = parsePolicies(JSON.stringify({ routes: { a: { first_token_timeout: { min_ms: 5000, max_ms: 1000 } } } }));
      expect(order).toEqual({ ok: false, problems: ['routes.a.first_token_timeout.max_ms: max_ms (1000) is below min_ms (5000)'] });
    });
  });
});
