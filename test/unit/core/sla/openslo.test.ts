import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseSlaConfig, sloFor, targetsFor, type SlaConfig } from '../../../../src/core/sla/config';
import { parseOpenSlo, withOpenSlo } from '../../../../src/core/sla/openslo';

/** The SLO of docs/sla.md, written as OpenSLO: the same as `{"slo": {...}}` on the route block there. */
export const RAG_OPENSLO = `apiVersion: openslo/v1
kind: SLO
metadata:
  name: rag-generation
  displayName: RAG answers
  labels:
    team: search
spec:
  description: Answers of the RAG pipeline, fast and without errors
  service: rag
  budgetingMethod: Occurrences
  timeWindow:
    - duration: 28d
      isRolling: true
  objectives:
    - displayName: good answers
      target: 0.99
  indicator:
    metadata:
      name: rag-good-calls
    spec:
      ratioMetric:
        counter: true
        good:
          metricSource:
            type: llm-sla-gateway
            spec:
              route: rag.generation
              latency_ms: 2000
              ttft_ms: 800
        total:
          metricSource:
            type: llm-sla-gateway
            spec:
              route: rag.generation
  alertPolicies:
    - kind: AlertPolicy
      metadata:
        name: rag-burn
      spec:
        alertWhenBreaching: true
        alertWhenResolved: true
        conditions:
          - kind: AlertCondition
            metadata:
              name: page-fast
            spec:
              severity: page
              condition:
                kind: burnrate
                op: gte
                threshold: 14.4
                lookbackWindow: 1h
                alertAfter: 5m
          - kind: AlertCondition
            metadata:
              name: page-slow
            spec:
              severity: page
              condition:
                kind: burnrate
                op: gte
                threshold: 6
                lookbackWindow: 6h
                alertAfter: 30m
`;

const RAG_SLO_BLOCK = {
  objective: 0.99,
  period: '28d',
  latency_ms: 2000,
  ttft_ms: 800,
  alerts: ['fast', 'slow'],
  name: 'rag-generation',
  description: 'RAG answers: Answers of the RAG pipeline, fast and without errors',
  labels: { team: 'search', service: 'rag' },
};

function cfg(json: unknown): SlaConfig {
  const r = parseSlaConfig(JSON.stringify(json));
  if (!r.ok) throw new Error(r.problems.join('; '));
  return r.config;
}

function problemsOf(text: string): string[] {
  const r = parseOpenSlo(text, 'OPENSLO');
  expect(r.ok).toBe(false);
  return r.ok ? [] : r.problems;
}

/** The two blocks of docs/sla.md's OpenSLO section: the same SLO as JSON and as an OpenSLO document. */
function documented(): { json: SlaConfig; yaml: string } {
  const doc = readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../docs/sla.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## OpenSLO'));
  const block = (lang: string) => new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``).exec(section)?.[1] ?? '';
  return { json: cfg(JSON.parse(block('json'))), yaml: block('yaml') };
}

describe('OpenSLO v1 SLO documents as route slo blocks', () => {
  it('reads the SLO of docs/sla.md as the JSON slo block written beside it', () => {
    const { json, yaml } = documented();
    const r = parseOpenSlo(yaml, 'OPENSLO');
    if (!r.ok) throw new Error(r.problems.join('\n'));
    expect(r.slos.map((s) => s.route)).toEqual(['rag.generation']);
    expect(r.slos[0]?.slo).toEqual(json.routes?.['rag.generation']?.slo);
    const merged = withOpenSlo(cfg({}), r.slos);
    if (!merged.ok) throw new Error(merged.problems.join('\n'));
    expect(sloFor(merged.config, 'rag.generation')).toEqual(sloFor(json, 'rag.generation'));
  });

  it('reads the documented SLO as exactly the slo block written by hand', () => {
    const r = parseOpenSlo(RAG_OPENSLO, 'OPENSLO');
    if (!r.ok) throw new Error(r.problems.join('\n'));
    expect(r.slos).toEqual([{ source: 'OPENSLO document 1 (rag-generation)', route: 'rag.generation', slo: RAG_SLO_BLOCK }]);
    const merged = withOpenSlo(cfg({}), r.slos);
    if (!merged.ok) throw new Error(merged.problems.join('\n'));
    const byHand = cfg({ routes: { 'rag.generation': { slo: RAG_SLO_BLOCK } } });
    expect(sloFor(merged.config, 'rag.generation')).toEqual(sloFor(byHand, 'rag.generation'));
  });

  it('reads thresholdMetric SLOs on latency and TTFT, several documents, targetPercent and weeks', () => {
    const doc = (name: string, route: string, metric: string, value: number, extra = '') => `apiVersion: openslo/v1
kind: SLO
metadata: { name: ${name} }
spec:
  service: chat
  budgetingMethod: Occurrences
  timeWindow: [{ duration: 4w, isRolling: true }]
  objectives: [{ op: lte, value: ${value}, targetPercent: 99.5 }]
  indicator:
    spec:
      thresholdMetric:
        metricSource: { type: llm-sla-gateway, spec: { route: "${route}", metric: ${metric} } }
${extra}`;
    const r = parseOpenSlo(`${doc('chat-latency', 'openai/*', 'latency_ms', 1500)}---\n${doc('embed-ttft', 'rag.embedding', 'ttft_ms', 300)}---\n`, 'OPENSLO');
    if (!r.ok) throw new Error(r.problems.join('\n'));
    expect(r.slos.map((s) => [s.route, s.slo])).toEqual([
      ['openai/*', { objective: 0.995, period: '28d', latency_ms: 1500, alerts: [], name: 'chat-latency', labels: { service: 'chat' } }],
      ['rag.embedding', { objective: 0.995, period: '28d', ttft_ms: 300, alerts: [], name: 'embed-ttft', labels: { service: 'chat' } }],
    ]);
  });

  it('refuses what it does not support, naming the field', () => {
    const swap = (from: string, to: string) => {
      expect(RAG_OPENSLO).toContain(from);
      return problemsOf(RAG_OPENSLO.replace(from, to)).join('\n');
    };
    expect(swap('budgetingMethod: Occurrences', 'budgetingMethod: Timeslices')).toContain('document 1 (rag-generation): spec.budgetingMethod: only Occurrences');
    expect(swap('isRolling: true', 'isRolling: false')).toContain('spec.timeWindow[0].isRolling: must be true');
    expect(swap('duration: 28d', 'duration: 1M')).toContain('spec.timeWindow[0].duration: must be whole hours, days or weeks');
    expect(swap('duration: 28d', 'duration: 120d')).toContain('spec.timeWindow[0].duration: period must be between 1h and 90d');
    expect(swap('      target: 0.99', '      target: 0.99\n      timeSliceTarget: 0.9')).toContain('spec.objectives[0].timeSliceTarget: is not supported');
    expect(swap('      target: 0.99', '      target: 1.5')).toContain('spec.objectives[0].target: must be strictly between 0 and 1');
    expect(swap('type: llm-sla-gateway', 'type: Prometheus')).toContain('spec.indicator.spec.ratioMetric.good.metricSource.type: must be llm-sla-gateway');
    expect(swap('              route: rag.generation\n  alertPolicies', '              route: rag.other\n  alertPolicies')).toContain(
      'spec.indicator.spec.ratioMetric.total.metricSource.spec.route: must be the route of good',
    );
    expect(swap('threshold: 14.4', 'threshold: 10')).toContain('spec.alertPolicies[0].spec.conditions[0].spec.condition: threshold 10 over lookbackWindow "1h" is not one of');
    expect(swap('alertAfter: 5m', 'alertAfter: 10m')).toContain('spec.alertPolicies[0].spec.conditions[0].spec.condition.alertAfter: must be 5m or absent');
    expect(swap('severity: page\n              condition:\n                kind: burnrate\n                op: gte\n                threshold: 6', 'severity: critical\n              condition:\n                kind: burnrate\n                op: gte\n                threshold: 6')).toContain(
      'spec.alertPolicies[0].spec.conditions[1].spec.severity: must be page',
    );
    expect(swap('        alertWhenResolved: true', '        alertWhenResolved: true\n        notificationTargets: [{ targetRef: pagerduty }]')).toContain(
      'spec.alertPolicies[0].spec.notificationTargets: is not supported',
    );
    expect(swap('  service: rag', '  service: rag\n  indicatorRef: rag-sli')).toContain('spec.indicatorRef: is not supported: SLI documents are not read');
    expect(swap('  labels:', '  annotations: { a: b }\n  labels:')).toContain('metadata.annotations: is not supported');
    expect(swap('kind: SLO', 'kind: Service')).toContain('kind: only SLO documents are read');
    expect(swap('apiVersion: openslo/v1', 'apiVersion: openslo/v1alpha')).toContain('apiVersion: must be openslo/v1');
    expect(swap('  budgetingMethod', '  colour: blue\n  budgetingMethod')).toContain('spec.colour: is not an OpenSLO v1 field here');
    expect(problemsOf('a: [1, 2').join()).toContain('OPENSLO: YAML:');
    expect(problemsOf('').join()).toContain('no OpenSLO document');
    expect(problemsOf(`${RAG_OPENSLO}---\n${RAG_OPENSLO}`).join()).toContain('route "rag.generation" already has an SLO from OPENSLO document 1');
  });

  it('merges into the SLA config: a new block keeps the targets of the block that claimed the route; the same SLO in both places is refused', () => {
    const r = parseOpenSlo(RAG_OPENSLO.replaceAll('route: rag.generation', 'route: rag.gen'), 'OPENSLO');
    if (!r.ok) throw new Error(r.problems.join('\n'));
    const base = cfg({ default: { max_p95_ms: 3000 }, routes: { 'rag.*': { max_p95_ms: 900, min_samples: 5 } } });
    const merged = withOpenSlo(base, r.slos);
    if (!merged.ok) throw new Error(merged.problems.join('\n'));
    const t = targetsFor(merged.config, 'rag.gen');
    expect(t).toMatchObject({ max_p95_ms: 900, min_samples: 5, matched: 'rag.gen' });
    expect(t.slo?.objective).toBe(0.99);
    expect(targetsFor(merged.config, 'rag.other')).toMatchObject({ max_p95_ms: 900, matched: 'rag.*' });
    expect(targetsFor(merged.config, 'rag.other').slo).toBeUndefined();
    const clash = withOpenSlo(cfg({ routes: { 'rag.gen': { slo: { objective: 0.9 } } } }), r.slos);
    expect(clash.ok).toBe(false);
    if (!clash.ok) expect(clash.problems.join()).toContain('route "rag.gen" already has an slo in the SLA config');
  });
});
