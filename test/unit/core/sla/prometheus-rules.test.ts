import { describe, expect, it } from 'vitest';
import { load as parse } from 'js-yaml';
import { parseSlaConfig, sloFor, type SlaConfig } from '../../../../src/core/sla/config';
import { ALERT_NAME, prometheusRules, ratioRecord, ruleGroups, rulesSlos } from '../../../../src/core/sla/prometheus-rules';
import { BURN_WINDOWS } from '../../../../src/core/sla/slo';

function config(json: unknown): SlaConfig {
  const parsed = parseSlaConfig(JSON.stringify(json));
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  return parsed.config;
}

/** Whether a rule group's route selectors (Prometheus' anchored regexes) take a route. */
function selects(selectors: ReturnType<typeof rulesSlos>[number]['selectors'], route: string): boolean {
  const full = (re: string) => new RegExp(`^(?:${re})$`).test(route);
  return selectors.some((s) => (s.exact === undefined || s.exact === route) && (s.match === null || full(s.match)) && !s.exclude.some(full));
}

describe('Prometheus rules for the SLOs in force', () => {
  const cfg = config({
    default: { slo: { objective: 0.999 } },
    routes: {
      'rag.generation': { slo: { objective: 0.99, latency_ms: 2000, name: 'rag-gen', labels: { team: 'search' } } },
      'rag.*': { slo: { objective: 0.95, alerts: ['fast', 'ticket_slow'] } },
      'openai/*': { max_p95_ms: 100 },
      'openai/chat*': { slo: { objective: 0.98 } },
      'x*y': { min_samples: 3 },
    },
  });

  it('assigns every route to the SLO the gateway judges it by, as label matchers', () => {
    const slos = rulesSlos(cfg);
    const routes = ['rag.generation', 'rag.retrieval', 'rag.', 'openai/chat', 'openai/chatty', 'openai/embeddings', 'anthropic/messages', 'x.y', 'xy', 'rag.generationx', 'ragXgeneration', '_overflow'];
    for (const route of routes) {
      const expected = sloFor(cfg, route);
      const taking = slos.filter((s) => selects(s.selectors, route));
      expect(taking, route).toHaveLength(expected ? 1 : 0);
      expect(taking[0]?.slo.objective, route).toBe(expected?.objective);
    }
    // Without a default SLO, routes no block with an SLO claims have no rules.
    const noDefault = rulesSlos(config({ routes: { 'a.*': { slo: { objective: 0.9 } } } }));
    expect(noDefault.map((s) => s.block)).toEqual(['a.*']);
  });

  it('records the error ratio over every burn window and alerts on the pairs each SLO asks for', () => {
    const groups = ruleGroups(cfg, { baseUrl: 'https://gw.example/' });
    const gen = groups.find((g) => g.name === 'llm-sla:rag.generation');
    expect(gen?.rules.filter((r) => r.record).map((r) => r.record)).toEqual(BURN_WINDOWS.map(ratioRecord));
    expect(gen?.rules[0]?.expr).toBe(
      '(sum by (route) (rate(llm_sla_slo_calls_total{good="false",route="rag.generation"}[5m])) / sum by (route) (rate(llm_sla_slo_calls_total{route="rag.generation"}[5m])))',
    );
    const alerts = gen?.rules.filter((r) => r.alert === ALERT_NAME) ?? [];
    expect(alerts.map((a) => [a.labels?.['burn'], a.labels?.['severity'], a.labels?.['long'], a.labels?.['short'], a.labels?.['factor']])).toEqual([
      ['fast', 'page', '1h', '5m', '14.4'],
      ['slow', 'page', '6h', '30m', '6'],
      ['ticket_fast', 'ticket', '1d', '2h', '3'],
      ['ticket_slow', 'ticket', '3d', '6h', '1'],
    ]);
    expect(alerts[0]?.expr).toBe('(route:llm_sla_slo_errors:ratio_rate1h{slo="rag-gen"} / 0.01 > 14.4) and (route:llm_sla_slo_errors:ratio_rate5m{slo="rag-gen"} / 0.01 > 14.4)');
    expect(alerts[0]?.labels).toMatchObject({ slo: 'rag-gen', objective: '0.99', team: 'search' });
    expect(alerts[0]?.annotations?.['summary']).toContain('{{ $labels.route }}');
    expect(alerts[0]?.annotations?.['sla']).toBe('https://gw.example/sla/{{ $labels.route }}');
    const rag = groups.find((g) => g.name === 'llm-sla:rag.*');
    expect(rag?.rules.filter((r) => r.alert).map((r) => r.labels?.['burn'])).toEqual(['fast', 'ticket_slow']);
    expect(rag?.rules.find((r) => r.alert)?.expr).toContain('/ 0.05 > 14.4');
  });

  it('writes YAML Prometheus loads: the same groups, a header, and a note when no route has an SLO', () => {
    const text = prometheusRules(cfg);
    expect(text.startsWith('# Prometheus rules for the SLOs of llm-sla-gateway')).toBe(true);
    expect(parse(text)).toEqual({ groups: ruleGroups(cfg) });
    const none = prometheusRules(config({ default: { max_p95_ms: 100 } }));
    expect(none).toContain('No route has an SLO');
    expect(parse(none)).toEqual({ groups: [] });
  });
});
