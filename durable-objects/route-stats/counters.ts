import { addToHistogram, emptyHistogram, type MetricsSeries } from '../../src/core/metrics';
import { DEFAULT_BOUNDS, rebucket, sameBounds, type HistogramBounds } from '../../src/core/metrics-buckets';
import { OUTCOMES, type Outcome, type Sample } from '../../src/core/sla/sample';

/**
 * Cumulative counters of one route for Prometheus, per model and outcome: calls, duration and TTFT histograms on the
 * route's bucket boundaries (the GenAI ones plus its SLO thresholds: `setBounds`), tokens and cost. Bounded by the
 * models a route sees times seven outcomes; models past `maxModels` are counted under `other` so a client cannot grow
 * it without bound.
 */
export class RouteCounters {
  private readonly series = new Map<string, MetricsSeries>();
  private readonly models = new Set<string>();
  droppedRecords = 0;
  droppedSamples = 0;
  private bounds: HistogramBounds = DEFAULT_BOUNDS;

  constructor(private readonly maxModels = 50) {}

  /** Moves every histogram onto new boundaries (`rebucket`); true when they changed. */
  setBounds(bounds: HistogramBounds): boolean {
    const old = this.bounds;
    if (sameBounds(old.duration, bounds.duration) && sameBounds(old.ttft, bounds.ttft)) return false;
    for (const s of this.series.values()) {
      s.duration = rebucket(s.duration, old.duration, bounds.duration);
      s.ttft = rebucket(s.ttft, old.ttft, bounds.ttft);
    }
    this.bounds = bounds;
    return true;
  }

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
        duration: emptyHistogram(this.bounds.duration),
        ttft: emptyHistogram(this.bounds.ttft),
        inputTokens: 0,
        outputTokens: 0,
        costUsd: 0,
        pricedCount: 0,
      };
      this.series.set(key, series);
    }
    series.count++;
    addToHistogram(series.duration, this.bounds.duration, s.totalMs / 1000);
    if (s.ttftMs !== null) addToHistogram(series.ttft, this.bounds.ttft, s.ttftMs / 1000);
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

  snapshot(): { series: MetricsSeries[]; droppedRecords: number; droppedSamples: number; bounds: HistogramBounds } {
    return { series: [...this.series.values()], droppedRecords: this.droppedRecords, droppedSamples: this.droppedSamples, bounds: this.bounds };
  }

  toJSON(): { series: MetricsSeries[]; droppedRecords: number; droppedSamples: number; bounds: HistogramBounds } {
    return this.snapshot();
  }

  static fromJSON(data: unknown): RouteCounters {
    const counters = new RouteCounters();
    const d = data as { series?: MetricsSeries[]; droppedRecords?: number; droppedSamples?: number; bounds?: HistogramBounds } | null;
    if (!d || !Array.isArray(d.series)) return counters;
    // Kept before the boundaries were stored: the defaults.
    if (d.bounds && Array.isArray(d.bounds.duration) && Array.isArray(d.bounds.ttft)) counters.bounds = d.bounds;
    for (const s of d.series) {
      counters.series.set(`${s.model}\u0000${s.outcome as Outcome}`, s);
      counters.models.add(s.model);
    }
    counters.droppedRecords = d.droppedRecords ?? 0;
    counters.droppedSamples = d.droppedSamples ?? 0;
    return counters;
  }
}
