import { defineConfig } from 'vitest/config';

/**
 * `npm run test:e2e`: the gateway under `wrangler dev` with real traffic from the openai SDK, seen through headless
 * Chromium (the dashboard), a real Prometheus (the /metrics scrape) and the llm-sla CLI. One gateway for all files
 * (global set-up); the files run one after another, each on its own route keys.
 */
export default defineConfig({
  test: {
    name: 'e2e',
    include: ['test/e2e/**/*.test.ts'],
    environment: 'node',
    globalSetup: ['./test/e2e/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
