import type { TestProject } from 'vitest/node';
import { startMockUpstream } from './mock-upstream';
import { freePort } from './listen';
import { startOtlpReceiver } from './otlp-receiver';
import { startWebhookReceiver } from './webhook-receiver';

declare module 'vitest' {
  export interface ProvidedContext {
    mockPort: number;
    webhookPort: number;
    otlpPort: number;
    deadPort: number;
  }
}

/**
 * Starts the mock upstream, the alert webhook receiver and the OTLP collector on 127.0.0.1, and finds a port with
 * nothing listening (a collector that is down); vitest.config.ts points vars at them.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [mock, webhook, otlp, deadPort] = await Promise.all([startMockUpstream(), startWebhookReceiver(), startOtlpReceiver(), freePort()]);
  project.provide('mockPort', mock.port);
  project.provide('webhookPort', webhook.port);
  project.provide('otlpPort', otlp.port);
  project.provide('deadPort', deadPort);
  return async () => {
    await Promise.all([mock.close(), webhook.close(), otlp.close()]);
  };
}
