/** USD per 1M tokens. `cachedInput`: cache reads; `cacheWrite`: Anthropic cache creation (5-minute TTL). */
export interface ModelPrice {
  readonly input: number;
  readonly output: number;
  readonly cachedInput?: number;
  readonly cacheWrite?: number;
}
