/**
 * Bindings a deployment may add that `wrangler.toml` does not declare, so `wrangler types` cannot know them: typed
 * optional here, and the code checks for them.
 */
interface Env {
  /** Workers Analytics Engine dataset (docs/telemetry.md): one data point per call when bound. */
  readonly SLA_ANALYTICS?: AnalyticsEngineDataset;
}
declare namespace Cloudflare {
  interface Env {
    readonly SLA_ANALYTICS?: AnalyticsEngineDataset;
  }
}
