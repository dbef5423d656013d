import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CallRecord } from '../../../../src/core/record';
import { checkSample, OUTCOMES, sampleOf, sampleSchema } from '../../../../src/core/sla/sample';

/**
 * `checkSample` checks well-formed samples by hand (the Durable Objects check every sample they are sent) and hands
 * anything else to `sampleSchema`: it must accept exactly what the schema accepts, returning what the schema returns.
 */
/** Mostly a good value, sometimes one at or past the edge of what the schema takes. */
const near = <T>(good: fc.Arbitrary<T>) =>
  fc.oneof(
    { arbitrary: good as fc.Arbitrary<unknown>, weight: 6 },
    { arbitrary: fc.constantFrom<unknown>(-1, -0, 0, 1.5, 2 ** 53, 2 ** 60, NaN, Infinity, -Infinity, null, undefined, '5', true, {}, []), weight: 1 },
  );
const ms = fc.double({ min: 0, max: 1e7, noNaN: true });
/** Like `near`, with the edge values rarer: an attempt has nine fields, and a call up to three attempts. */
const nearRarely = <T>(good: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: good as fc.Arbitrary<unknown>, weight: 40 }, { arbitrary: near(good), weight: 1 });
/** One attempt of a call a policy handled (src/core/resilience/), sometimes malformed. */
const attemptLike = fc.record(
  {
    target: fc.oneof({ arbitrary: fc.constantFrom<unknown>('openai', 'backup:gpt-4o-mini'), weight: 40 }, { arbitrary: fc.constantFrom<unknown>('', 'x'.repeat(201), 3), weight: 1 }),
    outcome: nearRarely(fc.constantFrom<unknown>(...OUTCOMES)),
    atMs: nearRarely(ms),
    totalMs: nearRarely(ms),
    ttftMs: nearRarely(fc.option(ms, { nil: null })),
    inputTokens: nearRarely(fc.nat()),
    outputTokens: nearRarely(fc.nat()),
    costUsd: nearRarely(fc.option(fc.double({ min: 0, max: 10, noNaN: true }), { nil: null })),
    reason: fc.oneof(
      { arbitrary: fc.option(fc.constantFrom<unknown>('status_503', 'first_token_timeout'), { nil: null }), weight: 40 },
      { arbitrary: fc.constantFrom<unknown>('x'.repeat(65), 7), weight: 1 },
    ),
  },
  { requiredKeys: ['target', 'outcome', 'atMs', 'totalMs', 'ttftMs', 'inputTokens', 'outputTokens', 'costUsd', 'reason'] },
);
const sampleLike = fc.record(
  {
    ts: near(fc.integer({ min: 0, max: 2 ** 45 })),
    outcome: near(fc.constantFrom<unknown>(...OUTCOMES, 'weird', 'SUCCESS')),
    totalMs: near(ms),
    ttftMs: near(fc.option(ms, { nil: null })),
    inputTokens: near(fc.nat()),
    outputTokens: near(fc.nat()),
    costUsd: near(fc.option(fc.double({ min: 0, max: 10, noNaN: true }), { nil: null })),
    attempts: nearRarely(fc.array(attemptLike, { maxLength: 3 })),
    servedBy: fc.oneof({ arbitrary: fc.constantFrom<unknown>('openai', 'backup:gpt-4o-mini'), weight: 40 }, { arbitrary: near(fc.constantFrom<unknown>('', 'x'.repeat(201))), weight: 1 }),
    hedge: fc.oneof({ arbitrary: fc.constantFrom<unknown>('won', 'lost'), weight: 40 }, { arbitrary: near(fc.constantFrom<unknown>('WON', '')), weight: 1 }),
    extra: fc.string(),
  },
  { requiredKeys: ['ts', 'outcome', 'totalMs', 'ttftMs', 'inputTokens', 'outputTokens', 'costUsd'] },
);

function verdict(f: () => unknown): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: f() };
  } catch {
    return { ok: false };
  }
}

describe('checkSample against sampleSchema', () => {
  it('accepts exactly what the schema accepts, and returns the same sample', () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.oneof({ arbitrary: sampleLike, weight: 4 }, { arbitrary: fc.anything(), weight: 1 }), (input) => {
        const schema = sampleSchema.safeParse(input);
        const ours = verdict(() => checkSample(input));
        expect(ours.ok).toBe(schema.success);
        if (ours.ok && schema.success) {
          accepted++;
          expect(ours.value).toStrictEqual(schema.data);
        }
      }),
      { numRuns: 3000 },
    );
    // Both sides of the check were exercised: well-formed samples (the hand-checked path) and refused ones.
    expect(accepted).toBeGreaterThan(100);
    expect(accepted).toBeLessThan(2900);
  });

  it('takes the hand-checked path for a well-formed sample (a fresh object with the schema keys only)', () => {
    const s = { ts: 1, outcome: 'success', totalMs: 12.5, ttftMs: null, inputTokens: 3, outputTokens: 4, costUsd: 0.001 };
    const out = checkSample(s);
    expect(out).toStrictEqual(s);
    expect(out).not.toBe(s);
  });

  it('takes the hand-checked path for a sample with attempts, copying each', () => {
    const attempt = { target: 'backup:gpt-4o-mini', outcome: 'success', atMs: 3, totalMs: 9, ttftMs: null, inputTokens: 1, outputTokens: 2, costUsd: null, reason: null };
    const s = { ts: 1, outcome: 'success', totalMs: 12.5, ttftMs: null, inputTokens: 3, outputTokens: 4, costUsd: 0.001, attempts: [attempt] };
    const out = checkSample(s);
    expect(out).toStrictEqual(s);
    expect(out.attempts?.[0]).not.toBe(attempt);
  });

  it('a call its first attempt answered carries only the target (its sample is the call\'s); others carry their attempts', () => {
    const attempt = { target: 'backup', provider: 'backup', model: null, outcome: 'success', status: 200, errorType: null, atMs: 1, totalMs: 9, ttftMs: null, usage: null, usageSource: 'none', costUsd: null, reason: null, server: { address: 'x', port: 443 } } as const;
    const base = { ts: 5, outcome: 'success', totalMs: 10, ttftMs: null, usage: null, costUsd: null } as unknown as CallRecord;
    const one = sampleOf({ ...base, resilience: { servedBy: 'backup', attempts: [attempt], skipped: [] } });
    expect(one).toStrictEqual({ ts: 5, outcome: 'success', totalMs: 10, ttftMs: null, inputTokens: 0, outputTokens: 0, costUsd: null, servedBy: 'backup' });
    expect(checkSample(one)).toStrictEqual(one);
    const two = sampleOf({ ...base, resilience: { servedBy: 'backup', attempts: [{ ...attempt, target: 'primary', reason: 'status_503' }, attempt], skipped: [] } });
    expect(two.servedBy).toBeUndefined();
    expect(two.attempts?.map((a) => [a.target, a.reason])).toEqual([
      ['primary', 'status_503'],
      ['backup', null],
    ]);
    expect(sampleOf(base)).toStrictEqual({ ts: 5, outcome: 'success', totalMs: 10, ttftMs: null, inputTokens: 0, outputTokens: 0, costUsd: null });
  });

  it('a call that sent a hedge carries its result, with its attempts; the hand-checked path takes it', () => {
    const attempt = { target: 'backup', provider: 'backup', model: null, outcome: 'success', status: 200, errorType: null, atMs: 100, totalMs: 9, ttftMs: 5, usage: null, usageSource: 'none', costUsd: null, reason: null, server: { address: 'x', port: 443 }, hedge: true } as const;
    const base = { ts: 5, outcome: 'success', totalMs: 110, ttftMs: 105, usage: null, costUsd: null } as unknown as CallRecord;
    const hedged = sampleOf({
      ...base,
      resilience: { servedBy: 'backup', attempts: [{ ...attempt, target: 'primary', atMs: 0, reason: 'hedge_lost', hedge: undefined }, attempt], skipped: [], hedge: { target: 'backup', afterMs: 100, result: 'won' } },
    });
    expect(hedged.hedge).toBe('won');
    expect(hedged.attempts?.map((a) => [a.target, a.reason])).toEqual([
      ['primary', 'hedge_lost'],
      ['backup', null],
    ]);
    const checked = checkSample(hedged);
    expect(checked).toStrictEqual(hedged);
    expect(checked).not.toBe(hedged);
    expect(checkSample({ ts: 1, outcome: 'success', totalMs: 1, ttftMs: null, inputTokens: 0, outputTokens: 0, costUsd: null, hedge: 'lost' }).hedge).toBe('lost');
    expect(() => checkSample({ ...hedged, hedge: 'maybe' })).toThrow(/hedge/);
  });

  it('refuses an attempt with a key the schema does not know', () => {
    const attempt = { target: 'openai', outcome: 'success', atMs: 0, totalMs: 9, ttftMs: null, inputTokens: 1, outputTokens: 2, costUsd: null, reason: null };
    const s = { ts: 1, outcome: 'success', totalMs: 12.5, ttftMs: null, inputTokens: 3, outputTokens: 4, costUsd: 0.001 };
    expect(checkSample({ ...s, attempts: [attempt] }).attempts).toHaveLength(1);
    expect(() => checkSample({ ...s, attempts: [{ ...attempt, extra: 1 }] })).toThrow(/attempts\[0\]\.extra: unknown key/);
  });

  it('refuses an object whose keys come from its prototype', () => {
    const proto = { ts: 1, outcome: 'success', totalMs: 1, ttftMs: null, inputTokens: 0, outputTokens: 0, costUsd: null };
    const s = Object.assign(Object.create(proto) as object, { a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7 });
    expect(() => checkSample(s)).toThrow(/Invalid sample/);
  });
});
