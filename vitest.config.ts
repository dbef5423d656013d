import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        plugins: [
          cloudflareTest(({ inject }) => {
            const upstream = `http://127.0.0.1:${inject('mockPort')}`;
            const webhook = `http://127.0.0.1:${inject('webhookPort')}`;
            const otlp = `http://127.0.0.1:${inject('otlpPort')}`;
            return {
              wrangler: { configPath: './wrangler.toml' },
              miniflare: {
                // The Analytics Engine sink as a deployment that turned it on has it (wrangler.toml leaves it off).
                analyticsEngineDatasets: { SLA_ANALYTICS: { dataset: 'llm_sla_calls' } },
                bindings: {
                  UPSTREAM_OPENAI: upstream,
                  UPSTREAM_ANTHROPIC: upstream,
                  UPSTREAM_GROQ: `${upstream}/openai`,
                  UPSTREAM_MISTRAL: upstream,
                  RECORDER: 'memory',
                  UPSTREAM_TIMEOUT_MS: '5000',
                  ALERT_WEBHOOK_URL: `${webhook}/hook`,
                  ALERTMANAGER_URL: `${webhook}/am`,
                  PUBLIC_URL: 'http://gateway.test',
                  WEBHOOK_BASE: webhook,
                  OTLP_BASE: otlp,
                  OTLP_DEAD: `http://127.0.0.1:${inject('deadPort')}`,
                  FLUSH_INTERVAL_MS: '50',
                  // Span counts reach /metrics after every call (production: at most once a second per isolate),
                  // so a test reads them right after settle(); the interval itself has its own test.
                  TELEMETRY_COUNTS_INTERVAL_MS: '0',
                  // /metrics and /sla read the registry's summary fresh on every read (production: at most a minute
                  // old), so a test reads its calls right after settle(); the caching has its own test.
                  SUMMARY_MAX_AGE_MS: '0',
                },
              },
            };
          }),
        ],
        test: {
          name: 'worker',
          include: ['test/worker/**/*.test.ts'],
          globalSetup: ['./test/support/global-setup.ts'],
        },
      },
      {
        // Pure modules (src/core, the renderers, stream parsing, the CLI) in plain Node: `npm run test:unit`, seconds.
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        // The gateway as a user runs it (`wrangler dev`, test/support/wrangler-dev.ts) with SDKs and clients.
        test: {
          name: 'dev',
          include: ['test/dev/**/*.test.ts'],
          environment: 'node',
          // One file at a time: each starts its own `wrangler dev` (and clients.test.ts imports the AI SDK and
          // LangChain); side by side on a small machine they starve dev-server.test.ts's streaming-timing check.
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 90_000,
        },
      },
    ],
  },
});
