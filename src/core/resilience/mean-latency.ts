/**
 * The reference the benchmark compares the tail-based strategies with (bench/hedging.ts); no policy uses it. It
 * picks what LiteLLM's `latency-based-routing` picks (litellm/router_strategy/lowest_latency.py): per target, the
 * mean of its last `size` (10) measured times — time to first token for streams — the lowest mean first; a target
 * never measured counts as 0, so it is tried first; ties drawn at random. Only successes are measured (LiteLLM adds
 * a 1000 s penalty for a timeout, which a stall that ends is not). LiteLLM's list, once full, keeps its first nine
 * values and replaces the tenth; this keeps the last ten, which can only follow a change faster.
 */
export class MeanLatencySelector {
  private readonly recent = new Map<string, number[]>();

  constructor(
    private readonly targets: readonly string[],
    private readonly random: () => number,
    private readonly size = 10,
  ) {
    if (targets.length === 0) throw new Error('A selector needs at least one target');
  }

  /** The mean of a target's last measured times (0 when it has none). */
  mean(target: string): number {
    const list = this.recent.get(target);
    return list && list.length > 0 ? list.reduce((s, x) => s + x, 0) / list.length : 0;
  }

  /** The target the next call goes to. */
  pick(): string {
    const means = this.targets.map((t) => ({ t, m: this.mean(t) }));
    const lowest = Math.min(...means.map((x) => x.m));
    const best = means.filter((x) => x.m === lowest);
    return (best[Math.min(best.length - 1, Math.floor(this.random() * best.length))] as { t: string }).t;
  }

  /** A call to `target` measured `ms`. */
  observe(target: string, ms: number): void {
    let list = this.recent.get(target);
    if (!list) this.recent.set(target, (list = []));
    list.push(ms);
    if (list.length > this.size) list.shift();
  }
}
