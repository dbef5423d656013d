import type { TestProject } from 'vitest/node';
import { startMockUpstream } from './mock-upstream';
import { startWebhookReceiver } from './webhook-receiver';

declare module 'vitest' {
  export interface ProvidedContext {
    mockPort: number;
    webhookPort: number;
  }
}

/** Starts the mock upstream and the alert webhook receiver on 127.0.0.1; vitest.config.ts points vars at them. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [mock, webhook] = await Promise.all([startMockUpstream(), startWebhookReceiver()]);
  project.provide('mockPort', mock.port);
  project.provide('webhookPort', webhook.port);
  return async () => {
    await Promise.all([mock.close(), webhook.close()]);
  };
}
