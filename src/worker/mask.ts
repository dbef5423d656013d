import { capLabel, type LabelKind } from '../core/labels';
import type { CallRecord } from '../core/record';
import { countCut, isolateCounts } from './counts';

/**
 * The one masking rule for what a client's request puts in a record, wherever the record goes (logs, memory,
 * spans, the routes' objects): the configured secrets (`ResolvedConfig.secrets`) and anything shaped like a provider
 * key or a bearer token become `[REDACTED]` in captured content; a label holding one is recorded as `_redacted`;
 * captured content is bounded as spans bound it; the W3C trace context is kept only in its own syntax.
 */
const KEY_SHAPE_SOURCE =
  String.raw`\b(?:sk-[A-Za-z0-9_-]{8,}|sk_[A-Za-z0-9_-]{16,}|gsk_[A-Za-z0-9]{16,}|xai-[A-Za-z0-9]{16,}|AIza[0-9A-Za-z_-]{20,})` +
  // `Bearer <token>` as HTTP writes it, any token; in other cases (`bearer`, `BEARER`) a token of 8+ characters
  // with a digit, so that prose ("the bearer of") stays.
  String.raw`|\bBearer\s+[A-Za-z0-9._~+/-]+=*|\b[Bb][Ee][Aa][Rr][Ee][Rr]\s+(?=[A-Za-z._~+/-]*[0-9])[A-Za-z0-9._~+/-]{8,}=*`;
const KEY_SHAPES = new RegExp(KEY_SHAPE_SOURCE, 'g');
const KEY_SHAPE = new RegExp(KEY_SHAPE_SOURCE);

export const REDACTED = '[REDACTED]';

/** Masks the configured secrets and anything shaped like a key. */
export function redact(s: string, secrets: readonly string[]): string {
  let out = s;
  for (const secret of secrets) if (secret.length >= 8 && out.includes(secret)) out = out.replaceAll(secret, REDACTED);
  return out.replace(KEY_SHAPES, REDACTED);
}

/** Whether `s` holds a configured secret or a key-shaped string. */
export function holdsSecret(s: string, secrets: readonly string[]): boolean {
  for (const secret of secrets) if (secret.length >= 8 && s.includes(secret)) return true;
  return KEY_SHAPE.test(s);
}

/** What a label that holds a secret is recorded as. It cannot be a route key a client names (those start with a letter or digit). */
export const REDACTED_LABEL = '_redacted';

/**
 * A label as it enters the record: `_redacted` when it holds a key-shaped string or a configured secret (an
 * `x-sla-route` or `model` set to a key must not reach /sla, /metrics or object storage; counted as
 * `labels_masked_<kind>`), else cut to its rule (`capLabel`, counted as `labels_cut_<kind>`).
 */
export function recordLabel(kind: LabelKind, value: string, secrets: readonly string[]): string;
export function recordLabel(kind: LabelKind, value: string | null, secrets: readonly string[]): string | null;
export function recordLabel(kind: LabelKind, value: string | null, secrets: readonly string[]): string | null {
  if (value === null) return null;
  if (holdsSecret(value, secrets)) {
    isolateCounts.add(`labels_masked_${kind}`);
    return REDACTED_LABEL;
  }
  return capLabel(kind, value, countCut);
}

/** Nesting deeper than this in captured JSON is not kept (a copy, not a stack overflow). */
const MAX_DEPTH = 64;

/** How captured content is bounded: as spans bound it (`OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`, `TELEMETRY_MAX_MESSAGES`). */
export interface ContentLimits {
  /** Longest string kept (characters). */
  readonly valueLengthLimit: number;
  /** Items kept per array (the newest: the last ones), and keys per object. */
  readonly maxMessages: number;
}

/** A span carries up to three content attributes of `valueLengthLimit` each: the record keeps about that much, and a little more. */
const BUDGET_VALUES = 4;
/** Characters kept around a cut before masking, so a key that straddles the cut is still seen whole. */
const MASK_MARGIN = 256;

/**
 * Captured content for the record, masked and bounded once here for every sink (the log recorder's line, the memory
 * recorder, spans): each string cut to `valueLengthLimit`, each array to its newest `maxMessages` items (objects to
 * their first `maxMessages` keys), and the whole to about `4 x valueLengthLimit` characters, newest messages first.
 */
export function capturedContent(json: unknown, outputText: string, limits: ContentLimits, secrets: readonly string[]): NonNullable<CallRecord['content']> {
  const budget = { left: BUDGET_VALUES * limits.valueLengthLimit };
  const text = (s: string, max: number): string => {
    const keep = Math.max(0, Math.min(max, budget.left));
    const masked = redact(s.length > keep + MASK_MARGIN ? s.slice(0, keep + MASK_MARGIN) : s, secrets);
    const out = masked.length > keep ? masked.slice(0, keep) : masked;
    budget.left -= out.length;
    return out;
  };
  const copy = (value: unknown, depth: number): unknown => {
    budget.left -= 1;
    if (typeof value === 'string') return text(value, limits.valueLengthLimit);
    if (typeof value !== 'object' || value === null) return value;
    if (depth >= MAX_DEPTH || budget.left <= 0) return null;
    if (Array.isArray(value)) {
      // The newest items are the last: they get the budget first.
      const kept: unknown[] = [];
      for (let i = value.length - 1; i >= Math.max(0, value.length - limits.maxMessages) && budget.left > 0; i--) kept.push(copy(value[i], depth + 1));
      return kept.reverse();
    }
    const out: Record<string, unknown> = {};
    let keys = 0;
    for (const [k, v] of Object.entries(value)) {
      if (keys++ >= limits.maxMessages || budget.left <= 0) break;
      budget.left -= Math.min(k.length, 256);
      out[k.length > 256 ? k.slice(0, 256) : k] = copy(v, depth + 1);
    }
    return out;
  };
  // The reply first: it is one string, and every sink shows it.
  const output = text(outputText, limits.valueLengthLimit);
  return { request: copy(json, 0), outputText: output };
}

/** `traceparent`: version, trace id, parent id, flags (lowercase hex), as W3C Trace Context writes it. */
const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}(?:-[\x21-\x7e]*)?$/;
const TRACESTATE_KEY = /^(?:[a-z0-9][_0-9a-z\-*/]{0,255}|[a-z0-9][_0-9a-z\-*/]{0,240}@[a-z][_0-9a-z\-*/]{0,13})$/;
const TRACESTATE_VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;
/** W3C: at most 32 list members; vendors should keep the header within 512 characters. */
const TRACESTATE_MEMBERS = 32;
const TRACESTATE_CHARS = 512;

/**
 * The caller's W3C trace context as a record may keep it (the only request headers a record holds, so that the
 * call's span joins the caller's trace): a `traceparent` in its syntax, else none; `tracestate` members in theirs,
 * at most 32 and 512 characters, without any member whose value holds a key-shaped string or a configured secret.
 */
export function traceContext(traceparent: string | null, tracestate: string | null, secrets: readonly string[]): CallRecord['trace'] {
  const parent = traceparent !== null && traceparent.length <= 256 && TRACEPARENT.test(traceparent.trim()) ? traceparent.trim() : null;
  if (tracestate === null || tracestate === '') return { traceparent: parent, tracestate: null };
  const members: string[] = [];
  let chars = 0;
  for (const raw of tracestate.slice(0, 8 * TRACESTATE_CHARS).split(',')) {
    const member = raw.trim();
    if (member === '') continue;
    const eq = member.indexOf('=');
    const key = member.slice(0, eq);
    const value = member.slice(eq + 1);
    if (eq <= 0 || !TRACESTATE_KEY.test(key) || !TRACESTATE_VALUE.test(value) || holdsSecret(value, secrets)) continue;
    if (members.length >= TRACESTATE_MEMBERS || chars + member.length + (members.length > 0 ? 1 : 0) > TRACESTATE_CHARS) break;
    chars += member.length + (members.length > 0 ? 1 : 0);
    members.push(member);
  }
  return { traceparent: parent, tracestate: members.length > 0 ? members.join(',') : null };
}
