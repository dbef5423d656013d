import { firstTokenDeadline, hedgeDelay, type DeadlineSource } from './deadline';
import type { ResolvedPolicy } from './policy';
import { RECENT_MS, type PercentilesRead, type Tails } from './tails';

/** Whether a policy decides anything from the measured tails (else the route's tails are never read). */
export function readsTails(p: ResolvedPolicy): boolean {
  return p.strategy !== 'ordered' || p.derivedFirstToken !== null || (p.hedge !== null && p.hedge.after.percentile !== undefined);
}

/** The percentiles of its targets' TTFT and latency a policy's decisions read (the strategy's p95, the deadline's, the hedge's). */
export function percentilesRead(p: ResolvedPolicy): PercentilesRead {
  const ttft = new Set<number>();
  const latency = new Set<number>();
  if (p.strategy === 'lowest_ttft_p95') ttft.add(95);
  if (p.strategy === 'lowest_latency_p95') latency.add(95);
  if (p.derivedFirstToken) ttft.add(p.derivedFirstToken.percentile);
  const hedge = p.hedge?.after.percentile;
  if (hedge !== undefined) {
    ttft.add(hedge);
    latency.add(hedge);
  }
  return { ttft: [...ttft].sort((a, b) => a - b), latency: [...latency].sort((a, b) => a - b) };
}

/** What a route's policy decides for one target from its measured tail, as `/sla/<route>` and `/metrics` show it. */
export interface TargetDecision {
  /** Samples over the recent windows: streams' first tokens, every attempt's latency. */
  samples: { ttft: number; latency: number };
  /** Each measured percentile a decision reads, ms (`ttft_p95`, `latency_p95`...); null when not measured. */
  percentiles: Record<string, number | null>;
  /** The first-token deadline an attempt at the target gets now, and where it comes from. */
  first_token_timeout_ms: number | null;
  first_token_timeout_source: DeadlineSource;
  /** When a hedge of an attempt at the target would go (ms after its start), for a stream and otherwise; null: none. */
  hedge_after_ms: { stream: number | null; other: number | null } | null;
}

export interface RouteDecisions {
  /** How far back the tails reach (`5m`). */
  window: string;
  strategy: ResolvedPolicy['strategy'];
  /** Fewest samples a measured percentile needs before a decision uses it. */
  min_samples: number;
  targets: Record<string, TargetDecision>;
}

const round1 = (x: number | null) => (x === null ? null : Math.round(x * 10) / 10);

/**
 * Each target's decisions under a route's policy, from the tails (the targets listed and every target measured):
 * the same functions the attempt loop calls (src/worker/proxy/resilient.ts), so what is shown is what is decided.
 */
export function routeDecisions(policy: ResolvedPolicy, tails: Tails, listed: readonly string[] = []): RouteDecisions {
  const read = percentilesRead(policy);
  const wanted: ['ttft' | 'latency', number][] = [...read.ttft.map((p) => ['ttft', p] as ['ttft', number]), ...read.latency.map((p) => ['latency', p] as ['latency', number])];
  const targets: Record<string, TargetDecision> = {};
  for (const label of [...new Set([...listed, ...tails.keys()])].sort()) {
    const tail = tails.get(label);
    const percentiles: Record<string, number | null> = {};
    for (const [measure, p] of wanted) percentiles[`${measure}_p${p}`] = round1(tail?.[measure].at(p) ?? null);
    const deadline = firstTokenDeadline(policy.derivedFirstToken, policy.firstTokenTimeoutMs, tail);
    targets[label] = {
      samples: { ttft: tail?.ttft.count ?? 0, latency: tail?.latency.count ?? 0 },
      percentiles,
      first_token_timeout_ms: deadline.ms,
      first_token_timeout_source: deadline.source,
      hedge_after_ms: policy.hedge === null ? null : { stream: hedgeDelay(policy.hedge, tail, true), other: hedgeDelay(policy.hedge, tail, false) },
    };
  }
  return { window: `${RECENT_MS / 60_000}m`, strategy: policy.strategy, min_samples: policy.minSamples, targets };
}
