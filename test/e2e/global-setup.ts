import type { TestProject } from 'vitest/node';
import { startMockUpstream } from '../support/mock-upstream';
import { startGateway } from './gateway';

declare module 'vitest' {
  export interface ProvidedContext {
    gatewayUrl: string;
    readToken: string;
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
    // An error budget: test/e2e/prometheus.test.ts checks PromQL's burn rate over the counters against /sla's.
    'e2e.burn': { slo: { objective: 0.9, period: '1h' } },
  },
};

/** One mock upstream and one `wrangler dev` gateway pointed at it, with a read token, shared by the e2e files. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const mock = await startMockUpstream();
  const gateway = await startGateway({
    UPSTREAM_OPENAI: mock.url,
    UPSTREAM_ANTHROPIC: mock.url,
    RECORDER: 'durable',
    FLUSH_INTERVAL_MS: '100',
    // /sla and /metrics read fresh (production: the registry's summary, at most a minute old): the tests poll.
    SUMMARY_MAX_AGE_MS: '0',
    SLA_READ_TOKEN: READ_TOKEN,
    SLA_CONFIG: JSON.stringify(E2E_SLA_CONFIG),
  }).catch(async (e: unknown) => {
    await mock.close();
    throw e;
  });
  project.provide('gatewayUrl', gateway.url);
  project.provide('readToken', READ_TOKEN);
  return async () => {
    await gateway.stop();
    await mock.close();
  };
}
