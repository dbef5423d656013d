declare namespace Cloudflare {
  interface Env {
    /** Set by vitest.config.ts to the mock upstream started in test/support/global-setup.ts. */
    UPSTREAM_OPENAI: string;
    UPSTREAM_ANTHROPIC: string;
    ALERT_WEBHOOK_URL: string;
    /** The alert webhook receiver (test/support/webhook-receiver.ts). */
    WEBHOOK_BASE: string;
    /** The OTLP collector (test/support/otlp-receiver.ts); `<OTLP_BASE>/<scope>` is one test's endpoint. */
    OTLP_BASE: string;
    /** An address with nothing listening: a collector that is down. */
    OTLP_DEAD: string;
  }
}
