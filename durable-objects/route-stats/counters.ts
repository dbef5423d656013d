import { addToHistogram, DEFAULT_BOUNDS, emptyCounters, emptyHistogram, mergeHistogram, type HistogramBounds, type HistogramCounts, type ModelCounters, type RouteCounterData } from '../../src/core/metrics';
import { rebucket, sameBounds } from '../../src/core/metrics-buckets';
import { OUTCOMES, type Outcome, type Sample } from '../../src/core/sla/sample';

/** Models a route object keeps tokens and cost for; later ones are counted under `other`. */
export const MAX_MODELS = 50;
const OTHER = 'other';

/**
 * Cumulative counters of one route for Prometheus: calls per outcome, the route's duration and TTFT histograms on
 * its bucket boundaries (the GenAI ones plus its SLO thresholds: `setBounds`), tokens and cost per model. Bounded: seven outcomes, two histograms, at most
 * `maxModels` models plus `other`, whatever a client sends.
 */
export class RouteCounters {
  private data: RouteCounterData = emptyCounters();
  private readonly byModel = new Map<string, ModelCounters>();
  droppedRecords = 0;
  droppedSamples = 0;

  constructor(private readonly maxModels = MAX_MODELS) {}

  private get bounds(): HistogramBounds {
    return this.data.bounds ?? DEFAULT_BOUNDS;
  }

  /** Moves both histograms onto new boundaries (`rebucket`); true when they changed. */
  setBounds(bounds: HistogramBounds): boolean {
    const old = this.bounds;
    if (sameBounds(old.duration, bounds.duration) && sameBounds(old.ttft, bounds.ttft)) return false;
    this.data.duration = rebucket(this.data.duration, old.duration, bounds.duration);
    this.data.ttft = rebucket(this.data.ttft, old.ttft, bounds.ttft);
    if (bounds === DEFAULT_BOUNDS) delete this.data.bounds;
    else this.data.bounds = { duration: [...bounds.duration], ttft: [...bounds.ttft] };
    return true;
  }

  addBatch(samples: readonly Sample[], models: readonly (string | null)[], droppedRecords: number, droppedSamples: number): void {
    this.droppedRecords += droppedRecords;
    this.droppedSamples += droppedSamples;
    samples.forEach((s, i) => this.add(s, models[i] ?? null));
  }

  private add(s: Sample, model: string | null): void {
    if (!(OUTCOMES as readonly string[]).includes(s.outcome)) return;
    this.data.outcomes[s.outcome]++;
    if (s.outcome !== 'aborted') {
      addToHistogram(this.data.duration, this.bounds.duration, s.totalMs / 1000);
      if (s.ttftMs !== null) addToHistogram(this.data.ttft, this.bounds.ttft, s.ttftMs / 1000);
    }
    const m = this.model(model ?? 'unknown');
    m.calls++;
    m.inputTokens += s.inputTokens;
    m.outputTokens += s.outputTokens;
    if (s.costUsd !== null) {
      m.costUsd += s.costUsd;
      m.pricedCount++;
    }
  }

  private model(name: string): ModelCounters {
    const known = this.byModel.get(name);
    if (known) return known;
    const key = this.byModel.size >= this.maxModels ? OTHER : name;
    let m = this.byModel.get(key);
    if (!m) {
      m = { model: key, calls: 0, inputTokens: 0, outputTokens: 0, costUsd: 0, pricedCount: 0 };
      this.byModel.set(key, m);
      this.data.models.push(m);
    }
    return m;
  }

  snapshot(): { counters: RouteCounterData; droppedRecords: number; droppedSamples: number } {
    return { counters: this.data, droppedRecords: this.droppedRecords, droppedSamples: this.droppedSamples };
  }

  toJSON(): { counters: RouteCounterData; droppedRecords: number; droppedSamples: number } {
    return this.snapshot();
  }

  /** Counters as stored; also the per-model-and-outcome series kept before (folded into this shape). */
  static fromJSON(data: unknown): RouteCounters {
    const out = new RouteCounters();
    const d = data as { counters?: RouteCounterData; series?: LegacySeries[]; droppedRecords?: number; droppedSamples?: number } | null;
    if (!d) return out;
    if (d.counters) {
      out.data = d.counters;
      for (const m of d.counters.models) out.byModel.set(m.model, m);
    } else if (Array.isArray(d.series)) {
      for (const s of d.series) out.addLegacy(s);
    }
    out.droppedRecords = d.droppedRecords ?? 0;
    out.droppedSamples = d.droppedSamples ?? 0;
    return out;
  }

  private addLegacy(s: LegacySeries): void {
    if (!(OUTCOMES as readonly string[]).includes(s.outcome)) return;
    this.data.outcomes[s.outcome] += s.count;
    if (s.outcome !== 'aborted') {
      // The former shape kept the default boundaries.
      mergeHistogram(this.data.duration, rebucket(s.duration ?? emptyHistogram(DEFAULT_BOUNDS.duration), DEFAULT_BOUNDS.duration, this.bounds.duration));
      mergeHistogram(this.data.ttft, rebucket(s.ttft ?? emptyHistogram(DEFAULT_BOUNDS.ttft), DEFAULT_BOUNDS.ttft, this.bounds.ttft));
    }
    const m = this.model(s.model);
    m.calls += s.count;
    m.inputTokens += s.inputTokens;
    m.outputTokens += s.outputTokens;
    m.costUsd += s.costUsd;
    m.pricedCount += s.pricedCount ?? (s.costUsd > 0 ? 1 : 0);
  }
}

/** The counters' former shape: one series per model and outcome, each with its own histograms. */
interface LegacySeries {
  model: string;
  outcome: Outcome;
  count: number;
  duration?: HistogramCounts;
  ttft?: HistogramCounts;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  pricedCount?: number;
}
