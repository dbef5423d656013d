/** Wire format a provider speaks: decides error shape, usage parsing and stream events. */
export type ProviderFormat = 'openai' | 'anthropic';

/** A provider is data: where it lives and how it talks. */
export interface Provider {
  readonly name: string;
  /** Absolute base URL without a trailing slash; `/<name>/<rest>` is forwarded to `<baseUrl>/<rest>`. */
  readonly baseUrl: string;
  readonly format: ProviderFormat;
  /** Whether OpenAI-format chat/completions streams may be asked for usage (`stream_options.include_usage`). */
  readonly injectStreamUsage: boolean;
}

/** What the client asked the provider to do, from the request path. */
export type Operation =
  | 'chat'
  | 'text_completion'
  | 'embeddings'
  | 'responses'
  | 'messages'
  | 'count_tokens'
  | 'other';
