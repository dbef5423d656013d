import type { TestProject } from 'vitest/node';
import { startMockUpstream } from './mock-upstream';

declare module 'vitest' {
  export interface ProvidedContext {
    mockPort: number;
  }
}

/** Starts the mock OpenAI/Anthropic upstream on 127.0.0.1 for the workerd tests; vitest.config.ts points vars at it. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const mock = await startMockUpstream();
  project.provide('mockPort', mock.port);
  return () => mock.close();
}
