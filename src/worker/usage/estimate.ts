import type { Tiktoken } from 'js-tiktoken/lite';
import type { Usage } from '../../core/usage';
import { isolateCounts } from '../counts';

/**
 * Token estimates for responses that carry no usage. The cl100k_base encoder (~34 MB of heap, 0.25-0.3 s to build;
 * o200k_base would take twice that, a risk in a 128 MB isolate) is loaded on first use, then cached per isolate.
 * Only ever called inside `ctx.waitUntil`, after the response is complete. Long texts are sampled: the first
 * `SAMPLE_CHARS` are encoded and the count scaled to the whole length, so the CPU cost per call is bounded.
 */
const SAMPLE_CHARS = 64 * 1024;

let encoder: Promise<Tiktoken> | null = null;

function loadEncoder(): Promise<Tiktoken> {
  encoder ??= (async () => {
    const [{ Tiktoken }, ranks] = await Promise.all([
      import('js-tiktoken/lite'),
      import('js-tiktoken/ranks/cl100k_base'),
    ]);
    isolateCounts.add('gateway_estimator_loads');
    return new Tiktoken(ranks.default);
  })().catch((err: unknown) => {
    encoder = null;
    throw err;
  });
  return encoder;
}

export function countTokens(enc: Tiktoken, text: string): number {
  if (text === '') return 0;
  if (text.length <= SAMPLE_CHARS) return enc.encode(text).length;
  const sample = enc.encode(text.slice(0, SAMPLE_CHARS)).length;
  return Math.round((sample * text.length) / SAMPLE_CHARS);
}

/** Estimated usage from the request's text and the response's text; null if the encoder cannot be loaded. */
export async function estimateUsage(inputText: string, outputText: string): Promise<Usage | null> {
  try {
    const enc = await loadEncoder();
    return {
      input: countTokens(enc, inputText),
      output: countTokens(enc, outputText),
      cacheRead: 0,
      cacheCreation: 0,
      reasoning: 0,
    };
  } catch (err) {
    isolateCounts.add('gateway_estimator_failures');
    console.error('llm-sla-gateway: token estimator unavailable', err instanceof Error ? err.message : String(err));
    return null;
  }
}
