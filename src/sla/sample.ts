import { z } from 'zod';
import type { CallRecord } from '../record';
import { describeIssues } from './issues';

export type Outcome = CallRecord['outcome'];

export const OUTCOMES = [
  'success',
  'client_error',
  'rate_limited',
  'upstream_error',
  'network_error',
  'timeout',
  'aborted',
] as const satisfies readonly Outcome[];

/** What aggregation keeps of one call: small enough to batch from isolates to a Durable Object. */
export interface Sample {
  ts: number;
  outcome: Outcome;
  totalMs: number;
  ttftMs: number | null;
  inputTokens: number;
  outputTokens: number;
  costUsd: number | null;
}

export function sampleOf(record: CallRecord): Sample {
  return {
    ts: record.ts,
    outcome: record.outcome,
    totalMs: record.totalMs,
    ttftMs: record.ttftMs,
    inputTokens: record.usage?.input ?? 0,
    outputTokens: record.usage?.output ?? 0,
    costUsd: record.costUsd,
  };
}

const ms = z.number().finite().nonnegative();
const tokens = z.number().int().nonnegative();
export const sampleSchema = z.strictObject({
  ts: z.number().finite().nonnegative(),
  outcome: z.enum(OUTCOMES),
  totalMs: ms,
  ttftMs: ms.nullable(),
  inputTokens: tokens,
  outputTokens: tokens,
  costUsd: z.number().finite().nonnegative().nullable(),
});

/** Samples cross an RPC boundary: check one before it touches a window, so a bad one cannot half-apply. */
export function checkSample(s: unknown): Sample {
  const parsed = sampleSchema.safeParse(s);
  if (!parsed.success) throw new Error(`Invalid sample: ${describeIssues(parsed.error).join('; ')}`);
  return parsed.data;
}
