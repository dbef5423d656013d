/**
 * Token usage of one call, normalised across providers. `input` includes cache reads and cache writes, as the
 * OpenTelemetry GenAI conventions ask (Anthropic reports them apart; they are added here). `reasoning` is part of
 * `output`.
 */
export interface Usage {
  input: number;
  output: number;
  cacheRead: number;
  cacheCreation: number;
  reasoning: number;
}

export type UsageSource = 'provider' | 'estimated' | 'none';
