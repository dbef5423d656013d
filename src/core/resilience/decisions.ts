import { firstTokenDeadline, hedgeDelay, type DeadlineSource } from './deadline';
import type { ResolvedPolicy } from './policy';
import { RECENT_MS, type Tails } from './tails';

/** Whether a policy decides anything from the measured tails (else the route's tails are never read). */
export function readsTails(p: ResolvedPolicy): boolean {
  return p.strategy !== 'ordered' || p.derivedFirstToken !== null || (p.hedge !== null && p.hedge.after.percentile !== undefined);
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
  const wanted: ['ttft' | 'latency', number][] = [];
  if (policy.strategy === 'lowest_ttft_p95') wanted.push(['ttft', 95]);
  if (policy.strategy === 'lowest_latency_p95') wanted.push(['latency', 95]);
  if (policy.derivedFirstToken) wanted.push(['ttft', policy.derivedFirstToken.percentile]);
  const hedgeP = policy.hedge?.after.percentile;
  if (hedgeP !== undefined) wanted.push(['ttft', hedgeP], ['latency', hedgeP]);
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
