declare namespace Cloudflare {
  interface Env {
    /** Set by vitest.config.ts to the mock upstream started in test/support/global-setup.ts. */
    UPSTREAM_OPENAI: string;
    UPSTREAM_ANTHROPIC: string;
  }
}
