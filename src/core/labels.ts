/**
 * The one rule for each label that enters a call record (and from there /metrics, /sla and spans): what a client
 * may name (`ROUTE_KEY`, `TEAM`), and how model, team and route are cut to a maximum length with any character
 * outside the label charset made `_` (`capLabel`). Every check of a route key or a team name uses these.
 */
export const LABEL_MAX = { model: 128, team: 64, route: 128 } as const;
export type LabelKind = keyof typeof LABEL_MAX;

/** A route key (`x-sla-route`, a span's `llm_sla.route`): 1-128 chars of letters, digits, . _ : / -, starting with a letter or digit. */
export const ROUTE_KEY = /^[A-Za-z0-9][\w.:/-]{0,127}$/;

/** A team (`x-sla-team`, a gateway key's team, a `BUDGETS` key): 1-64 chars of letters, digits, . _ : / @ -. */
export const TEAM = /^[\w.:/@-]{1,64}$/;
export const TEAM_RULE = 'team names are 1-64 chars of letters, digits, . _ : / @ -';

/** Letters, digits and `. _ : / @ + -`: every model, team and route name seen in practice. */
const OUTSIDE = /[^A-Za-z0-9._:/@+-]/g;
const INSIDE = /^[A-Za-z0-9._:/@+-]*$/;

/**
 * The label as it may be recorded: `value` itself when it fits the rule (the usual case, no copy). A label that had
 * to be changed is reported to `cut` (the worker counts them per isolate: `labels_cut_<kind>` in /metrics).
 */
export function capLabel(kind: LabelKind, value: string, cut?: (kind: LabelKind) => void): string;
export function capLabel(kind: LabelKind, value: string | null, cut?: (kind: LabelKind) => void): string | null;
export function capLabel(kind: LabelKind, value: string | null, cut?: (kind: LabelKind) => void): string | null {
  if (value === null) return null;
  const max = LABEL_MAX[kind];
  if (value.length <= max && INSIDE.test(value)) return value;
  cut?.(kind);
  return value.slice(0, max).replace(OUTSIDE, '_');
}
