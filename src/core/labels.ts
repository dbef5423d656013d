/**
 * The one rule for labels that enter a call record (and from there /metrics, /sla and spans): model, team and route
 * are cut to a maximum length and any character outside the label charset becomes `_`. Each label changed is
 * counted here, per isolate; the counts reach /metrics through the registry (see `src/bounds/counts.ts`).
 */
export const LABEL_MAX = { model: 128, team: 64, route: 128 } as const;
export type LabelKind = keyof typeof LABEL_MAX;

/** Letters, digits and `. _ : / @ + -`: every model, team and route name seen in practice. */
const OUTSIDE = /[^A-Za-z0-9._:/@+-]/g;
const INSIDE = /^[A-Za-z0-9._:/@+-]*$/;

/** Labels changed by `capLabel` in this isolate since it started, by kind. */
export const labelStats: Record<LabelKind, number> = { model: 0, team: 0, route: 0 };

/** The label as it may be recorded: `value` itself when it fits the rule (the usual case, no copy). */
export function capLabel(kind: LabelKind, value: string): string;
export function capLabel(kind: LabelKind, value: string | null): string | null;
export function capLabel(kind: LabelKind, value: string | null): string | null {
  if (value === null) return null;
  const max = LABEL_MAX[kind];
  if (value.length <= max && INSIDE.test(value)) return value;
  labelStats[kind]++;
  return value.slice(0, max).replace(OUTSIDE, '_');
}
