import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkSample, OUTCOMES, sampleSchema } from '../../../../src/core/sla/sample';

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
const sampleLike = fc.record(
  {
    ts: near(fc.integer({ min: 0, max: 2 ** 45 })),
    outcome: near(fc.constantFrom<unknown>(...OUTCOMES, 'weird', 'SUCCESS')),
    totalMs: near(ms),
    ttftMs: near(fc.option(ms, { nil: null })),
    inputTokens: near(fc.nat()),
    outputTokens: near(fc.nat()),
    costUsd: near(fc.option(fc.double({ min: 0, max: 10, noNaN: true }), { nil: null })),
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

  it('refuses an object whose keys come from its prototype', () => {
    const proto = { ts: 1, outcome: 'success', totalMs: 1, ttftMs: null, inputTokens: 0, outputTokens: 0, costUsd: null };
    const s = Object.assign(Object.create(proto) as object, { a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7 });
    expect(() => checkSample(s)).toThrow(/Invalid sample/);
  });
});
