import { describe, expect, it } from 'vitest';
import type { CallRecord, Priority } from '../../src/core/record';
import { SpanRecorder } from '../../src/worker/telemetry/recorder';
import { thresholdFor } from '../../src/worker/telemetry/sampling';
import type { ReceivedSpan } from '../support/otlp-receiver';
import { gateway, GW, jsonPost } from './helpers';
import { auth, chat, collector, realRecord, recorderOf, telemetryOf } from './telemetry-support';

/** A deterministic generator, so a failure can be replayed. */
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe('adaptive head sampling', () => {
  it('re-weighted counts are within 5 % of the truth under a load swing, and the kept rate follows the target', async () => {
    const c = collector();
    const base = await realRecord();
    const config = telemetryOf({
      ...c.vars,
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_SAMPLING_TARGET_PER_S: '500',
      TELEMETRY_PRIORITY_RATIOS: 'high=1,normal=0.5,low=0.2',
      OTEL_BSP_MAX_QUEUE_SIZE: '100000',
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '512',
    });
    let clock = 1_000_000;
    const recorder = new SpanRecorder(config, () => null, [], undefined, { now: () => clock });
    const random = lcg(15);
    // 10 s quiet (50 calls/s), 10 s spike (2,000/s), 10 s medium (1,200/s): 32,500 calls. Sized so that 5 % is
    // about 5 standard errors of the re-weighted total (Horvitz-Thompson variance: sum of 1/p - 1 over the calls,
    // ~110k here), so the test checks the estimator, not luck.
    const phases = [
      { perS: 50, seconds: 10 },
      { perS: 2000, seconds: 10 },
      { perS: 1200, seconds: 10 },
    ];
    const truth = { all: 0, errors: 0, low: 0 };
    const pending: Promise<void>[] = [];
    for (const phase of phases) {
      for (let i = 0; i < phase.perS * phase.seconds; i++) {
        clock += 1000 / phase.perS;
        const u = random();
        const priority: Priority = u < 0.02 ? 'critical' : u < 0.12 ? 'high' : u < 0.8 ? 'normal' : 'low';
        const failed = random() < 0.01;
        const record: CallRecord = { ...base, ts: Math.round(clock), priority, ...(failed ? { outcome: 'upstream_error', status: 500, errorType: '500' } : {}) };
        truth.all++;
        if (failed) truth.errors++;
        if (priority === 'low') truth.low++;
        const p = recorder.record(record);
        if (p) pending.push(p);
      }
    }
    await Promise.all(pending);
    await recorder.queue.flush();
    const spans = await c.spans();
    expect(recorder.queue.counts.spans_exported).toBe(spans.length);
    const weight = (s: ReceivedSpan) => 1 / (s.attributes['llm_sla.sampling.probability'] as number);
    const sum = (list: ReceivedSpan[]) => list.reduce((t, s) => t + weight(s), 0);
    expect(Math.abs(sum(spans) - truth.all) / truth.all).toBeLessThan(0.05);
    // Errors are always kept, each standing for itself.
    const errors = spans.filter((s) => s.attributes['llm_sla.outcome'] === 'upstream_error');
    expect(errors).toHaveLength(truth.errors);
    expect(sum(errors)).toBe(truth.errors);
    // Low priority alone (~2 % of it kept in the spike): within 4 standard errors (the Horvitz-Thompson variance
    // estimate, sum of (1 - p) / p^2 over the kept spans).
    const low = spans.filter((s) => s.attributes['llm_sla.priority'] === 'low');
    const variance = low.reduce((t, s) => t + (weight(s) - 1) * weight(s), 0);
    expect(Math.abs(sum(low) - truth.low)).toBeLessThan(4 * Math.sqrt(variance));
    // Critical calls: probability 1. Every span's tracestate threshold says the same probability as its attribute,
    // and its trace id passes that threshold (a consistent-probability sampler downstream would decide alike).
    for (const s of spans) {
      const p = s.attributes['llm_sla.sampling.probability'] as number;
      if (s.attributes['llm_sla.priority'] === 'critical') expect(p).toBe(1);
      const th = /(?:^|,)ot=th:([0-9a-f]+)/.exec(s.traceState)?.[1];
      expect(th).toBe(thresholdFor(p).th);
      const t56 = BigInt(`0x${(th ?? '').padEnd(14, '0')}`);
      if (s.attributes['llm_sla.sampled_by'] === 'head') expect(BigInt(`0x${s.traceId.slice(-14)}`) >= t56).toBe(true);
    }
    // Kept spans per second in each phase's last 5 s (the estimate has settled): near the 500/s target where the
    // load exceeds it, everything the ratios keep where it does not (50/s x mean ratio 0.5 = 25/s, plus errors).
    const perSecond = (from: number, to: number) => spans.filter((s) => {
      const at = Number(BigInt(s.startNs) / 1_000_000n) - 1_000_000;
      return at >= from * 1000 && at < to * 1000;
    }).length / (to - from);
    expect(perSecond(5, 10)).toBeLessThan(40);
    expect(perSecond(15, 20)).toBeGreaterThan(400);
    expect(perSecond(15, 20)).toBeLessThan(600);
    expect(perSecond(25, 30)).toBeGreaterThan(400);
    expect(perSecond(25, 30)).toBeLessThan(600);
  }, 60_000);

  it('the ratio stays within OTEL_SAMPLING_MIN_RATIO and OTEL_SAMPLING_MAX_RATIO; a ratio of 0 stays off', async () => {
    const c = collector();
    const base = await realRecord();
    const config = telemetryOf({ ...c.vars, OTEL_METRICS_EXPORTER: 'none', OTEL_SAMPLING_TARGET_PER_S: '1', OTEL_SAMPLING_MIN_RATIO: '0.2', OTEL_SAMPLING_MAX_RATIO: '0.5', TELEMETRY_PRIORITY_RATIOS: 'low=0', OTEL_BSP_MAX_QUEUE_SIZE: '100000' });
    let clock = 0;
    const recorder = new SpanRecorder(config, () => null, [], undefined, { now: () => clock });
    const pending: Promise<void>[] = [];
    for (let i = 0; i < 3000; i++) {
      clock += 1;
      const p = recorder.record({ ...base, priority: i % 2 === 0 ? 'normal' : 'low' });
      if (p) pending.push(p);
    }
    await Promise.all(pending);
    await recorder.queue.flush();
    const spans = await c.spans();
    expect(spans.every((s) => s.attributes['llm_sla.priority'] === 'normal')).toBe(true);
    const ps = new Set(spans.map((s) => s.attributes['llm_sla.sampling.probability'] as number));
    // Demand far above 1/s: the scale wants ~0.001, the floor holds 0.2; the first call (no estimate yet) is capped at 0.5.
    expect(Math.min(...ps)).toBeCloseTo(0.2, 6);
    expect(Math.max(...ps)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(spans.length - 1500 * 0.2)).toBeLessThan(5 * Math.sqrt(1500 * 0.2 * 0.8));
    expect(() => telemetryOf({ ...c.vars, OTEL_SAMPLING_MIN_RATIO: '0.6', OTEL_SAMPLING_MAX_RATIO: '0.5' })).toThrow(/OTEL_SAMPLING_MIN_RATIO/);
  });

  it('through the gateway: x-sla-priority picks the rate, each span says its probability, /metrics unaffected', async () => {
    const c = collector({ TELEMETRY_PRIORITY_RATIOS: 'high=1,normal=0.5,low=0' });
    const gw = gateway(c.vars);
    for (const priority of ['critical', 'high', 'low']) {
      const res = await gw.fetch(`${GW}/openai/v1/chat/completions`, jsonPost(chat, { ...auth, 'x-sla-priority': priority }));
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    await gw.settle();
    const spans = await c.spans();
    expect(spans.map((s) => s.attributes['llm_sla.priority']).sort()).toEqual(['critical', 'high']);
    for (const s of spans) {
      expect(s.attributes['llm_sla.sampling.probability']).toBe(1);
      expect(s.traceState).toContain('ot=th:0');
    }
    expect(recorderOf(gw.env).queue.counts.spans_unsampled).toBe(1);
  });
});
