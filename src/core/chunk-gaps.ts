/**
 * The OpenTelemetry GenAI conventions' advisory bucket boundaries for the client duration histograms (seconds):
 * `gen_ai.client.operation.duration`, `.time_to_first_chunk` and `.time_per_output_chunk`.
 */
export const GENAI_DURATION_BOUNDS_S: readonly number[] = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];

/**
 * The time between consecutive chunks of one stream (`gen_ai.client.operation.time_per_output_chunk`: each chunk
 * after the first, from the end of the previous chunk to the end of this one), kept as a histogram over
 * `GENAI_DURATION_BOUNDS_S` so a stream of any length costs the same: `counts[i]` holds the gaps in
 * (bounds[i-1], bounds[i]] seconds, the last one those above the last bound.
 */
export interface ChunkGaps {
  readonly counts: readonly number[];
  readonly count: number;
  readonly sumS: number;
  readonly minS: number;
  readonly maxS: number;
}

/** Collects one stream's chunk gaps as the chunks arrive; `chunk(at)` is all the stream path calls. */
export class ChunkGapRecorder {
  private readonly counts = new Array<number>(GENAI_DURATION_BOUNDS_S.length + 1).fill(0);
  private last: number | null = null;
  private count = 0;
  private sumS = 0;
  private minS = Infinity;
  private maxS = 0;

  /** A chunk ended at `at` (ms): the gap since the previous chunk's end, if there was one, is counted. */
  chunk(at: number): void {
    const last = this.last;
    this.last = at;
    if (last === null) return;
    const s = Math.max(0, at - last) / 1000;
    let i = 0;
    while (i < GENAI_DURATION_BOUNDS_S.length && s > (GENAI_DURATION_BOUNDS_S[i] as number)) i++;
    this.counts[i] = (this.counts[i] ?? 0) + 1;
    this.count++;
    this.sumS += s;
    if (s < this.minS) this.minS = s;
    if (s > this.maxS) this.maxS = s;
  }

  /** The gaps so far, or null when fewer than two chunks arrived. */
  result(): ChunkGaps | null {
    return this.count === 0 ? null : { counts: [...this.counts], count: this.count, sumS: this.sumS, minS: this.minS, maxS: this.maxS };
  }
}
