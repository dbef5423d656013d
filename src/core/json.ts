/** Narrowing helpers for JSON of unknown shape (provider bodies are data, not trusted types). */
export type JsonObject = Record<string, unknown>;

export function obj(v: unknown): JsonObject | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as JsonObject) : null;
}
export function arr(v: unknown): readonly unknown[] {
  return Array.isArray(v) ? v : [];
}
export function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}
export function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}
/** JSON.parse that returns null instead of throwing. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
