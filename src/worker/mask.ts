/**
 * The one masking rule for captured message content, wherever it goes (the record, so logs, memory and spans alike):
 * the configured secrets (`ResolvedConfig.secrets`) and anything shaped like a provider key or a bearer token become `[REDACTED]`.
 */
const KEY_SHAPES = /\b(?:sk-[A-Za-z0-9_-]{8,}|sk_[A-Za-z0-9_-]{16,}|gsk_[A-Za-z0-9]{16,}|xai-[A-Za-z0-9]{16,}|AIza[0-9A-Za-z_-]{20,})|\bBearer\s+[A-Za-z0-9._~+/-]+=*/g;

export const REDACTED = '[REDACTED]';

/** Masks the configured secrets and anything shaped like a key. */
export function redact(s: string, secrets: readonly string[]): string {
  let out = s;
  for (const secret of secrets) if (secret.length >= 8 && out.includes(secret)) out = out.replaceAll(secret, REDACTED);
  return out.replace(KEY_SHAPES, REDACTED);
}

/** Nesting deeper than this in captured JSON is not kept (a copy, not a stack overflow). */
const MAX_DEPTH = 64;

/** A copy of a JSON value with every string (not the object keys) masked; nesting past 64 levels becomes null. */
export function maskJson(value: unknown, secrets: readonly string[], depth = 0): unknown {
  if (typeof value === 'string') return redact(value, secrets);
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= MAX_DEPTH) return null;
  if (Array.isArray(value)) return value.map((v) => maskJson(v, secrets, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = maskJson(v, secrets, depth + 1);
  return out;
}
