import type { TestProject } from 'vitest/node';
import { startMockUpstream } from '../support/mock-upstream';
import { startAlertmanager } from './alertmanager-server';
import { startGateway } from './gateway';

declare module 'vitest' {
  export interface ProvidedContext {
    gatewayUrl: string;
    readToken: string;
    alertmanagerUrl: string;
  }
}

export const READ_TOKEN = 'e2e-read-token-0123456789';

/** SLA targets the end-to-end traffic is judged against: some routes pass, some fail, one lacks data. */
export const E2E_SLA_CONFIG = {
  default: { min_samples: 10, window: '5m' },
  routes: {
    'e2e.fast': { max_p95_ms: 2000, max_ttft_p95_ms: 1000, min_success_rate: 0.99 },
    'e2e.slow': { max_p95_ms: 100 },
    'e2e.flaky': { max_p95_ms: 2000, min_success_rate: 0.95 },
    'rag.retrieval': { max_p95_ms: 120, min_success_rate: 0.9 },
    // An SLO by name: its llm_sla_slo_calls_total series are in /metrics from 0 (test/e2e/slo.test.ts).
    'e2e.slo': { slo: { objective: 0.99, name: 'e2e-slo' } },
    // An error budget: test/e2e/prometheus.test.ts checks PromQL's burn rate over the counters against /sla's.
    'e2e.burn': { slo: { objective: 0.9, period: '1h' } },
  },
};

/**
 * One mock upstream, one Alertmanager and one `wrangler dev` gateway pointed at them, with a read token, shared by the
 * e2e files.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const mock = await startMockUpstream();
  const alertmanager = await startAlertmanager().catch(async (e: unknown) => {
    await mock.close();
    throw e;
  });
  const gateway = await startGateway((url) => ({
    UPSTREAM_OPENAI: mock.url,
    UPSTREAM_ANTHROPIC: mock.url,
    RECORDER: 'durable',
    FLUSH_INTERVAL_MS: '100',
    // /sla and /metrics read fresh (production: the registry's summary, at most a minute old): the tests poll.
    SUMMARY_MAX_AGE_MS: '0',
    SLA_READ_TOKEN: READ_TOKEN,
    SLA_CONFIG: JSON.stringify(E2E_SLA_CONFIG),
    // Alerts go to the real Alertmanager too, evaluated every 2 s (production: every minute).
    ALERTMANAGER_URL: alertmanager.url,
    PUBLIC_URL: url,
    ALERT_INTERVAL_MS: '2000',
  })).catch(async (e: unknown) => {
    await alertmanager.stop();
    await mock.close();
    throw e;
  });
  project.provide('gatewayUrl', gateway.url);
  project.provide('readToken', READ_TOKEN);
  project.provide('alertmanagerUrl', alertmanager.url);
  return async () => {
    await gateway.stop();
    await alertmanager.stop();
    await mock.close();
  };
}
