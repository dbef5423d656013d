import { addToHistogram, DURATION_BUCKETS_S, emptyHistogram, TTFT_BUCKETS_S, type MetricsSeries } from '../../src/core/metrics';
import { OUTCOMES, type Outcome, type Sample } from '../../src/core/sla/sample';

/**
 * Cumulative counters of one route for Prometheus, per model and outcome: calls, duration and TTFT histograms on the
 * GenAI bucket boundaries, tokens and cost. Bounded by the models a route sees times seven outcomes; models past
 * `maxModels` are counted under `other` so a client cannot grow it without bound.
 */
export class RouteCounters {
  private readonly series = new Map<string, MetricsSeries>();
  private readonly models = new Set<string>();
  droppedRecords = 0;
  droppedSamples = 0;

  constructor(private readonly maxModels = 50) {}

  addBatch(samples: readonly Sample[], models: readonly (string | null)[], droppedRecords: number, droppedSamples: number): void {
    this.droppedRecords += droppedRecords;
    this.droppedSamples += droppedSamples;
    samples.forEach((s, i) => this.add(s, models[i] ?? null));
  }

  private add(s: Sample, model: string | null): void {
    if (!(OUTCOMES as readonly string[]).includes(s.outcome)) return;
    const name = this.modelName(model ?? 'unknown');
    const key = `${name}\u0000${s.outcome}`;
    let series = this.series.get(key);
    if (!series) {
      series = {
        model: name,
        outcome: s.outcome,
        count: 0,
        duration: emptyHistogram(DURATION_BUCKETS_S),
        ttft: emptyHistogram(TTFT_BUCKETS_S),
        inputTokens: 0,
        outputTokens: 0,
        costUsd: 0,
        pricedCount: 0,
      };
      this.series.set(key, series);
    }
    series.count++;
    addToHistogram(series.duration, DURATION_BUCKETS_S, s.totalMs / 1000);
    if (s.ttftMs !== null) addToHistogram(series.ttft, TTFT_BUCKETS_S, s.ttftMs / 1000);
    series.inputTokens += s.inputTokens;
    series.outputTokens += s.outputTokens;
    if (s.costUsd !== null) {
      series.costUsd += s.costUsd;
      series.pricedCount = (series.pricedCount ?? 0) + 1;
    }
  }

  private modelName(model: string): string {
    if (this.models.has(model)) return model;
    if (this.models.size >= this.maxModels) return 'other';
    this.models.add(model);
    return model;
  }

  snapshot(): { series: MetricsSeries[]; droppedRecords: number; droppedSamples: number } {
    return { series: [...this.series.values()], droppedRecords: this.droppedRecords, droppedSamples: this.droppedSamples };
  }

  toJSON(): { series: MetricsSeries[]; droppedRecords: number; droppedSamples: number } {
    return this.snapshot();
  }

  static fromJSON(data: unknown): RouteCounters {
    const counters = new RouteCounters();
    const d = data as { series?: MetricsSeries[]; droppedRecords?: number; droppedSamples?: number } | null;
    if (!d || !Array.isArray(d.series)) return counters;
    for (const s of d.series) {
      counters.series.set(`${s.model}\u0000${s.outcome as Outcome}`, s);
      counters.models.add(s.model);
    }
    counters.droppedRecords = d.droppedRecords ?? 0;
    counters.droppedSamples = d.droppedSamples ?? 0;
    return counters;
  }
}
