import type { Usage } from '../usage';
import type { ModelPrice } from './prices';

export type PriceTable = Readonly<Record<string, ModelPrice>>;

const DATE_SUFFIX = /-(?:\d{4}-\d{2}-\d{2}|\d{8}|\d{4}|latest)$/;

/** Finds a model's price: `<provider>/<model>`, then `<model>`, each also without a date or `-latest` suffix. */
export function findPrice(prices: PriceTable, provider: string, model: string | null): ModelPrice | null {
  if (!model) return null;
  let found = lookups.get(prices);
  if (!found) lookups.set(prices, (found = new Map()));
  const key = `${provider}\n${model}`;
  let hit = found.get(key);
  if (hit === undefined) {
    // Models are the client's strings: the memo is bounded, and starts over when full.
    if (found.size >= MAX_MEMO) found.clear();
    found.set(key, (hit = lookup(prices, provider, model)));
  }
  return hit;
}

const MAX_MEMO = 1000;
/** Each price table's answers so far, by provider and model: the lookup tries up to six names. */
const lookups = new WeakMap<PriceTable, Map<string, ModelPrice | null>>();

function lookup(prices: PriceTable, provider: string, model: string): ModelPrice | null {
  const bare = model.includes('/') ? model.slice(model.lastIndexOf('/') + 1) : model;
  const candidates = [`${provider}/${model}`, model, bare];
  for (const name of candidates) {
    const hit = prices[name] ?? prices[name.replace(DATE_SUFFIX, '')];
    if (hit) return hit;
  }
  return null;
}

/**
 * Cost in USD of one call. `usage.input` includes cache reads and writes (GenAI convention), so they are taken out
 * before the regular input price applies. Null when the price is unknown: an unknown cost is never reported as 0.
 */
export function costUsd(price: ModelPrice | null, usage: Usage | null): number | null {
  if (!price || !usage) return null;
  const cacheRead = Math.min(usage.cacheRead, usage.input);
  const cacheWrite = Math.min(usage.cacheCreation, usage.input - cacheRead);
  const plain = usage.input - cacheRead - cacheWrite;
  const micro =
    plain * price.input +
    cacheRead * (price.cachedInput ?? price.input) +
    cacheWrite * (price.cacheWrite ?? price.input) +
    usage.output * price.output;
  return micro / 1_000_000;
}
