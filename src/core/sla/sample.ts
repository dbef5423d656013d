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

/**
 * What aggregation keeps of one call: small enough to batch from isolates to a Durable Object. The call as the
 * client saw it (the route's windows and SLAs judge this), and for a call a policy sent to more than one attempt
 * (src/core/resilience/), each attempt as its target saw it.
 */
export interface Sample {
  ts: number;
  outcome: Outcome;
  totalMs: number;
  ttftMs: number | null;
  inputTokens: number;
  outputTokens: number;
  costUsd: number | null;
  /** The attempts of a call a policy sent to more than one, or that moved on from any. */
  attempts?: AttemptSample[];
  /** A call a policy handled that its first attempt answered: that target (its sample is the call's own). */
  servedBy?: string;
  /** A call that sent a hedge: whether the hedge's answer was the client's (`won`) or not (`lost`). */
  hedge?: 'won' | 'lost';
}

/** One attempt of a call, as its target saw it. */
export interface AttemptSample {
  /** `provider` or `provider:model`. */
  target: string;
  outcome: Outcome;
  /** When the attempt started, ms after the call's `ts`. */
  atMs: number;
  /** The attempt's own duration, until its last byte or until it was given up. */
  totalMs: number;
  /** From the attempt's start; for an attempt given up before its first token, how long it had waited (a lower bound). */
  ttftMs: number | null;
  inputTokens: number;
  outputTokens: number;
  costUsd: number | null;
  /** Why the call moved on after this attempt (`status_503`, `first_token_timeout`...); null for the answer. */
  reason: string | null;
}

export function sampleOf(record: CallRecord): Sample {
  const s: Sample = {
    ts: record.ts,
    outcome: record.outcome,
    totalMs: record.totalMs,
    ttftMs: record.ttftMs,
    inputTokens: record.usage?.input ?? 0,
    outputTokens: record.usage?.output ?? 0,
    costUsd: record.costUsd,
  };
  const attempts = record.resilience?.attempts;
  const only = attempts?.length === 1 ? attempts[0] : undefined;
  // The common case, one attempt that answered: the call's own sample stands for its target's (the attempt started
  // within the gateway's request handling, well under a millisecond after the call).
  if (only && only.reason === null && record.resilience?.servedBy === only.target) s.servedBy = only.target;
  else if (attempts && attempts.length > 0) {
    s.attempts = attempts.map((a) => ({
      target: a.target,
      outcome: a.outcome,
      atMs: a.atMs,
      totalMs: a.totalMs,
      ttftMs: a.ttftMs,
      inputTokens: a.usage?.input ?? 0,
      outputTokens: a.usage?.output ?? 0,
      costUsd: a.costUsd,
      reason: a.reason,
    }));
  }
  const hedge = record.resilience?.hedge;
  if (hedge) s.hedge = hedge.result;
  return s;
}

const ms = z.number().finite().nonnegative();
const tokens = z.number().int().nonnegative();
/** Most attempts one call's sample may carry (a policy allows at most 8 targets x 11 tries; a hedge adds one). */
export const MAX_ATTEMPTS = 100;
export const attemptSchema = z.strictObject({
  target: z.string().min(1).max(200),
  outcome: z.enum(OUTCOMES),
  atMs: ms,
  totalMs: ms,
  ttftMs: ms.nullable(),
  inputTokens: tokens,
  outputTokens: tokens,
  costUsd: z.number().finite().nonnegative().nullable(),
  reason: z.string().max(64).nullable(),
});
export const sampleSchema = z.strictObject({
  ts: z.number().finite().nonnegative(),
  outcome: z.enum(OUTCOMES),
  totalMs: ms,
  ttftMs: ms.nullable(),
  inputTokens: tokens,
  outputTokens: tokens,
  costUsd: z.number().finite().nonnegative().nullable(),
  attempts: z.array(attemptSchema).max(MAX_ATTEMPTS).optional(),
  servedBy: z.string().min(1).max(200).optional(),
  hedge: z.enum(['won', 'lost']).optional(),
});

const OUTCOME_SET: ReadonlySet<unknown> = new Set(OUTCOMES);
/** The plain sample's keys: the schema's but the optional ones (attempts, servedBy, hedge). */
const SAMPLE_KEYS = Object.keys(sampleSchema.shape).length - 3;
const ATTEMPT_KEYS = Object.keys(attemptSchema.shape).length;
const nonNegative = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0;
const count = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;

/**
 * Samples cross an RPC boundary: check one before it touches a window, so a bad one cannot half-apply. A Durable
 * Object checks every sample it is sent, so the common case — a well-formed sample — is checked by hand, accepting
 * only what `sampleSchema` accepts (a copy with the schema's keys and none other); anything else goes to the schema,
 * which refuses it with its own messages. Measured (`npm run bench:micro`, Node 24): 0.11 µs a sample against 1.1 µs
 * for the schema; the schema's share of the gateway's CPU under load was ~0.6 % (`npm run bench:profile -- --otlp`).
 */
export function checkSample(s: unknown): Sample {
  if (typeof s === 'object' && s !== null && Object.getPrototypeOf(s) === Object.prototype) {
    const keys = Object.keys(s).length;
    const { ts, outcome, totalMs, ttftMs, inputTokens, outputTokens, costUsd, attempts, servedBy, hedge } = s as Record<keyof Sample, unknown>;
    // Up to two keys more than the plain sample's: its attempts, or the target that answered it; whether it hedged.
    const hedged = hedge === undefined ? undefined : hedge === 'won' || hedge === 'lost' ? hedge : null;
    const extra = keys - SAMPLE_KEYS - (hedge === undefined ? 0 : 1) === 1;
    const plain = keys - SAMPLE_KEYS - (hedge === undefined ? 0 : 1) === 0;
    const checkedAttempts = plain || (extra && attempts === undefined) ? undefined : extra ? attemptsByHand(attempts) : null;
    const served = extra && attempts === undefined ? (typeof servedBy === 'string' && servedBy.length >= 1 && servedBy.length <= 200 ? servedBy : null) : undefined;
    if (
      checkedAttempts !== null &&
      served !== null &&
      hedged !== null &&
      nonNegative(ts) &&
      OUTCOME_SET.has(outcome) &&
      nonNegative(totalMs) &&
      (ttftMs === null || nonNegative(ttftMs)) &&
      count(inputTokens) &&
      count(outputTokens) &&
      (costUsd === null || nonNegative(costUsd))
    ) {
      const out: Sample = { ts, outcome: outcome as Outcome, totalMs, ttftMs, inputTokens, outputTokens, costUsd };
      if (checkedAttempts !== undefined) out.attempts = checkedAttempts;
      if (served !== undefined) out.servedBy = served;
      if (hedged !== undefined) out.hedge = hedged;
      return out;
    }
  }
  const parsed = sampleSchema.safeParse(s);
  if (!parsed.success) throw new Error(`Invalid sample: ${describeIssues(parsed.error).join('; ')}`);
  return parsed.data;
}

/** A sample's attempts checked by hand as `attemptSchema` would (copies with its keys only); null: let the schema say why. */
function attemptsByHand(attempts: unknown): AttemptSample[] | null {
  if (!Array.isArray(attempts) || attempts.length > MAX_ATTEMPTS) return null;
  const out: AttemptSample[] = [];
  for (const a of attempts as unknown[]) {
    if (typeof a !== 'object' || a === null || Object.getPrototypeOf(a) !== Object.prototype || Object.keys(a).length !== ATTEMPT_KEYS) return null;
    const { target, outcome, atMs, totalMs, ttftMs, inputTokens, outputTokens, costUsd, reason } = a as Record<keyof AttemptSample, unknown>;
    const ok =
      typeof target === 'string' &&
      target.length >= 1 &&
      target.length <= 200 &&
      OUTCOME_SET.has(outcome) &&
      nonNegative(atMs) &&
      nonNegative(totalMs) &&
      (ttftMs === null || nonNegative(ttftMs)) &&
      count(inputTokens) &&
      count(outputTokens) &&
      (costUsd === null || nonNegative(costUsd)) &&
      (reason === null || (typeof reason === 'string' && reason.length <= 64));
    if (!ok) return null;
    out.push({ target, outcome: outcome as Outcome, atMs, totalMs, ttftMs, inputTokens, outputTokens, costUsd, reason });
  }
  return out;
}
