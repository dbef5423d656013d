import { describe, expect, it } from 'vitest';
import { ChunkGapRecorder, GENAI_DURATION_BOUNDS_S } from '../../../src/core/chunk-gaps';

describe('ChunkGapRecorder', () => {
  it('counts each gap after the first chunk in the upper-inclusive bucket of its seconds', () => {
    const g = new ChunkGapRecorder();
    g.chunk(1000);
    expect(g.result()).toBeNull();
    // Gaps of 5 ms, 10 ms (on the first bound: in it), 30 ms and 100 s (past the last bound).
    for (const at of [1005, 1015, 1045, 101_045]) g.chunk(at);
    const r = g.result();
    expect(r).not.toBeNull();
    expect(r?.counts).toHaveLength(GENAI_DURATION_BOUNDS_S.length + 1);
    expect(r?.counts[0]).toBe(2);
    expect(r?.counts[2]).toBe(1);
    expect(r?.counts.at(-1)).toBe(1);
    expect(r?.count).toBe(4);
    expect(r?.sumS).toBeCloseTo(0.005 + 0.01 + 0.03 + 100, 9);
    expect([r?.minS, r?.maxS]).toEqual([0.005, 100]);
  });
});
