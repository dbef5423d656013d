import { z } from 'zod';
import { describeIssues } from './issues';
import { OUTCOMES, type Outcome, type Sample } from './sample';
import { DEFAULT_RELATIVE_ACCURACY, QuantileSketch, type SketchData } from './sketch';

export { checkSample, OUTCOMES, sampleOf, sampleSchema, type Outcome, type Sample } from './sample';

export interface WindowStats {
  start: number;
  durationMs: number;
  count: number;
  outcomes: Record<Outcome, number>;
  latency: QuantileSketch;
  ttft: QuantileSketch;
  inputTokens: number;
  outputTokens: number;
  /** Sum of the known costs; `costUnknown` counts the samples without one (unpriced models). */
  costUsd: number;
  costUnknown: number;
}

function noOutcomes(): Record<Outcome, number> {
  return Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
}

export function emptyWindow(start: number, durationMs: number, alpha = DEFAULT_RELATIVE_ACCURACY): WindowStats {
  return {
    start,
    durationMs,
    count: 0,
    outcomes: noOutcomes(),
    latency: new QuantileSketch(alpha),
    ttft: new QuantileSketch(alpha),
    inputTokens: 0,
    outputTokens: 0,
    costUsd: 0,
    costUnknown: 0,
  };
}

/** Adds one sample. Expects a checked sample (`checkSample`): the sketches throw on negative or non-finite times. */
export function addSample(w: WindowStats, s: Sample): void {
  w.count++;
  w.outcomes[s.outcome]++;
  // An aborted call's duration is how long the client waited before leaving, not how long the upstream took:
  // it is counted as an outcome but kept out of the latency sketch.
  if (s.outcome !== 'aborted') w.latency.add(s.totalMs);
  // A first token that arrived before an abort is still a real time-to-first-token.
  if (s.ttftMs !== null) w.ttft.add(s.ttftMs);
  w.inputTokens += s.inputTokens;
  w.outputTokens += s.outputTokens;
  if (s.costUsd === null) w.costUnknown++;
  else w.costUsd += s.costUsd;
}

/** Adds `other` into `target`; the caller decides that `other`'s span belongs to `target`'s. */
export function mergeInto(target: WindowStats, other: WindowStats): void {
  target.count += other.count;
  for (const o of OUTCOMES) target.outcomes[o] += other.outcomes[o];
  target.latency.merge(other.latency);
  target.ttft.merge(other.ttft);
  target.inputTokens += other.inputTokens;
  target.outputTokens += other.outputTokens;
  target.costUsd += other.costUsd;
  target.costUnknown += other.costUnknown;
}

/** One window spanning [start, start + durationMs) holding all of `windows` (e.g. from `WindowStore.windowsFor`). */
export function mergeWindows(windows: Iterable<WindowStats>, start: number, durationMs: number): WindowStats {
  let merged: WindowStats | null = null;
  for (const w of windows) {
    merged ??= emptyWindow(start, durationMs, w.latency.alpha);
    mergeInto(merged, w);
  }
  return merged ?? emptyWindow(start, durationMs);
}

export interface WindowData {
  start: number;
  durationMs: number;
  count: number;
  outcomes: Record<Outcome, number>;
  latency: SketchData;
  ttft: SketchData;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  costUnknown: number;
}

export function serializeWindow(w: WindowStats): WindowData {
  return { ...w, outcomes: { ...w.outcomes }, latency: w.latency.toJSON(), ttft: w.ttft.toJSON() };
}

const tokens = z.number().int().nonnegative();
const windowSchema = z.strictObject({
  start: z.number().int().nonnegative(),
  durationMs: z.number().int().positive(),
  count: tokens,
  outcomes: z.strictObject(Object.fromEntries(OUTCOMES.map((o) => [o, tokens])) as Record<Outcome, typeof tokens>),
  latency: z.unknown(),
  ttft: z.unknown(),
  inputTokens: tokens,
  outputTokens: tokens,
  costUsd: z.number().finite().nonnegative(),
  costUnknown: tokens,
});

export function deserializeWindow(data: unknown): WindowStats {
  const parsed = windowSchema.safeParse(data);
  if (!parsed.success) throw new Error(`Invalid window data: ${describeIssues(parsed.error).join('; ')}`);
  const d = parsed.data;
  const outcomeTotal = OUTCOMES.reduce((sum, o) => sum + d.outcomes[o], 0);
  if (outcomeTotal !== d.count) throw new Error(`Invalid window data: outcomes add up to ${outcomeTotal}, not ${d.count}`);
  const latency = QuantileSketch.fromJSON(d.latency);
  const ttft = QuantileSketch.fromJSON(d.ttft);
  if (latency.count + d.outcomes.aborted !== d.count) {
    throw new Error('Invalid window data: latency count does not match the non-aborted calls');
  }
  return { ...d, outcomes: { ...d.outcomes }, latency, ttft };
}
