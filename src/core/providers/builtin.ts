import type { ProviderFormat } from './types';

export interface BuiltinProvider {
  readonly baseUrl: string;
  readonly format: ProviderFormat;
  readonly injectStreamUsage: boolean;
}

/**
 * Providers known without configuration. Clients use `http://<gateway>/<name>/v1` as their OpenAI base URL
 * (`http://<gateway>/anthropic` for Anthropic); a provider's own SDK takes `http://<gateway>/<name>` where it would
 * take the provider's host (`new Groq({ baseURL })`, `new Mistral({ serverURL })`): the proxy does not double a base
 * URL path the SDK sends itself (`src/worker/proxy/upstream.ts`). Mistral always sends usage in its last stream chunk and rejects
 * unknown fields, so it is not asked for `stream_options`.
 */
export const BUILTIN_PROVIDERS: Readonly<Record<string, BuiltinProvider>> = {
  openai: { baseUrl: 'https://api.openai.com', format: 'openai', injectStreamUsage: true },
  anthropic: { baseUrl: 'https://api.anthropic.com', format: 'anthropic', injectStreamUsage: false },
  groq: { baseUrl: 'https://api.groq.com/openai', format: 'openai', injectStreamUsage: true },
  mistral: { baseUrl: 'https://api.mistral.ai', format: 'openai', injectStreamUsage: false },
  openrouter: { baseUrl: 'https://openrouter.ai/api', format: 'openai', injectStreamUsage: true },
  together: { baseUrl: 'https://api.together.xyz', format: 'openai', injectStreamUsage: true },
  deepseek: { baseUrl: 'https://api.deepseek.com', format: 'openai', injectStreamUsage: true },
};
