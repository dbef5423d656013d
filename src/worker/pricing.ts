import type { calcPrice as CalcPrice } from '@pydantic/genai-prices';
import { costUsd, findPrice, type PriceTable } from '../core/pricing/cost';
import type { Usage } from '../core/usage';
import { isolateCounts } from './counts';

/**
 * A call's cost in USD, or null when its model has no price (or its usage is unknown): never 0 for unknown.
 * `at` (epoch ms) picks the price in force then (the catalog has dated prices and off-peak hours).
 */
export type Pricer = (provider: string, model: string | null, usage: Usage | null, at: number) => number | null;

type Catalog = { calcPrice: typeof CalcPrice; findProvider: (o: { providerId: string }) => unknown };

let catalog: Promise<Catalog> | null = null;

/**
 * The price catalog: `@pydantic/genai-prices` (maintained by Pydantic, ~1,700 models of ~40 providers, tiered and
 * dated prices; pure JavaScript, no Node API, no wasm). Its data is one large module, so it is loaded on first use
 * (in a call's `ctx.waitUntil`, or before a budgeted call of a team that refuses unpriced models), then kept by the
 * isolate: an isolate that never prices a call never evaluates it.
 */
function loadCatalog(): Promise<Catalog> {
  catalog ??= import('@pydantic/genai-prices').catch((err: unknown) => {
    catalog = null;
    throw err;
  });
  return catalog;
}

/** Misses by provider and model (the catalog's slowest answer, ~20 µs), bounded like `findPrice`'s memo. */
const MAX_MISSES = 1000;
const misses = new Set<string>();
const providers = new Map<string, string | undefined>();

/**
 * Prices a call: `PRICES` (the config's override, per 1M tokens) first, then the catalog. A provider the catalog
 * knows (openai, anthropic, groq, mistral, openrouter, together, deepseek...) is asked by its id, and a model it does
 * not list there is unpriced (never priced at another provider's rate); any other provider (a custom one, ingested
 * stages) by the model name alone, as the catalog matches it (`gpt-4o` -> OpenAI's price). Usage maps to the catalog's units: input (cache included, as ours), cache reads, cache writes, output.
 * If the catalog cannot be loaded, only `PRICES` prices, and the failure is counted (`gateway_price_catalog_failures`).
 */
export async function pricer(prices: PriceTable): Promise<Pricer> {
  let cat: Catalog | null = null;
  try {
    cat = await loadCatalog();
  } catch (err) {
    isolateCounts.add('gateway_price_catalog_failures');
    console.error('llm-sla-gateway: price catalog unavailable, PRICES only', err instanceof Error ? err.message : String(err));
  }
  return (provider, model, usage, at) => {
    if (!model || !usage) return null;
    const own = findPrice(prices, provider, model);
    if (own) return costUsd(own, usage);
    if (!cat) return null;
    return catalogCost(cat, provider, model, usage, at);
  };
}

function catalogCost(cat: Catalog, provider: string, model: string, usage: Usage, at: number): number | null {
  const key = `${provider}\n${model}`;
  if (misses.has(key)) return null;
  let providerId = providers.get(provider);
  if (!providers.has(provider)) {
    // Our built-in provider names are the catalog's ids.
    providers.set(provider, (providerId = cat.findProvider({ providerId: provider }) ? provider : undefined));
  }
  try {
    const result = cat.calcPrice(
      { input_tokens: usage.input, cache_read_tokens: usage.cacheRead, cache_write_tokens: usage.cacheCreation, output_tokens: usage.output },
      model,
      { ...(providerId === undefined ? {} : { providerId }), timestamp: new Date(at) },
    );
    if (result) return result.total_price;
  } catch (err) {
    isolateCounts.add('gateway_price_catalog_failures');
    console.error('llm-sla-gateway: price catalog failed for a model', err instanceof Error ? err.message : String(err));
    return null;
  }
  if (misses.size >= MAX_MISSES) misses.clear();
  misses.add(key);
  return null;
}

/** Whether a model has a price (`PRICES` or the catalog) at `at`: asked before a call when unpriced calls are refused. */
export async function hasPrice(prices: PriceTable, provider: string, model: string | null, at: number): Promise<boolean> {
  const price = await pricer(prices);
  return price(provider, model, { input: 0, output: 0, cacheRead: 0, cacheCreation: 0, reasoning: 0 }, at) !== null;
}
