import type { AlertPayload, AlertType } from './alerts';
import { periodEnd } from './budget/spend';

/**
 * The gateway's alerts as Alertmanager API v2 alerts (`POST /api/v2/alerts`). Every alert type says what it is to
 * Alertmanager: whether it opens an alert or resolves one, and the identity (`key`) that pairs a resolve with the
 * alert it closes, so the resolve carries the same labels and Alertmanager ends that very alert. A type added to
 * `AlertType` must be added here (the table is exhaustive).
 */

/** An alert as Alertmanager's API v2 takes it (`postableAlert`). */
export interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  /** Set when it resolved (or, for alerts that end by themselves, when they will). */
  endsAt?: string;
  generatorURL?: string;
}

interface Kind {
  /** Alertmanager's `alertname`. */
  alertname: string;
  /** `opens` an alert, or `resolves` the open one with the same key. */
  role: 'opens' | 'resolves';
  /** The identity an opening alert and its resolve share. */
  key: (a: AlertPayload) => string;
  /** The labels beside `alertname`, from the opening alert (a resolve reuses them). */
  labels: (a: AlertPayload) => Record<string, string>;
  /** When an open alert ends by itself (a team budget's period), else null: it lasts until resolved. */
  endsAt?: (a: AlertPayload) => number | null;
}

const slaKey = (a: AlertPayload) => `sla:${a.route}`;
const burnKey = (a: AlertPayload) => `slo.burn:${a.route}:${a.window}`;
const breakerKey = (a: AlertPayload) => `breaker:${a.route}:${a.breaker?.target ?? ''}`;
const budgetKey = (a: AlertPayload) => `budget:${a.budget?.team ?? a.route}:${a.budget?.period ?? a.window}:${a.budget?.key ?? ''}:${a.budget?.threshold ?? ''}`;

const slaLabels = (a: AlertPayload) => ({ route: a.route, severity: 'page' });
/** A burn alert's labels are the generated Prometheus rules' (`prometheus-rules.ts`), so both look alike downstream. */
const burnLabels = (a: AlertPayload) => ({ route: a.route, ...(a.labels ?? {}) });
const budgetLabels = (a: AlertPayload) => ({
  team: a.budget?.team ?? a.route.replace(/^budget:/, ''),
  period: a.budget?.period ?? a.window,
  budget_key: a.budget?.key ?? '',
  threshold: String(a.budget?.threshold ?? ''),
  severity: (a.budget?.threshold ?? 0) >= 1 ? 'page' : 'ticket',
});
/** A circuit breaker alert: the route and target whose calls are being skipped (the route still has its others). */
const breakerLabels = (a: AlertPayload) => ({ route: a.route, target: a.breaker?.target ?? '', severity: 'ticket' });
/** A team budget alert ends when its day or month does (UTC): the budget starts again. */
const budgetEnds = (a: AlertPayload) => (a.budget ? periodEnd(a.budget.period, Date.parse(a.at)) : null);

export const ALERT_KINDS: Record<AlertType, Kind> = {
  'sla.violated': { alertname: 'LlmSlaViolated', role: 'opens', key: slaKey, labels: slaLabels },
  'sla.recovered': { alertname: 'LlmSlaViolated', role: 'resolves', key: slaKey, labels: slaLabels },
  'slo.burn': { alertname: 'LlmSlaErrorBudgetBurn', role: 'opens', key: burnKey, labels: burnLabels },
  'slo.burn_resolved': { alertname: 'LlmSlaErrorBudgetBurn', role: 'resolves', key: burnKey, labels: burnLabels },
  'breaker.opened': { alertname: 'LlmSlaBreakerOpen', role: 'opens', key: breakerKey, labels: breakerLabels },
  'breaker.closed': { alertname: 'LlmSlaBreakerOpen', role: 'resolves', key: breakerKey, labels: breakerLabels },
  'budget.warning': { alertname: 'LlmSlaTeamBudget', role: 'opens', key: budgetKey, labels: budgetLabels, endsAt: budgetEnds },
  'budget.exhausted': { alertname: 'LlmSlaTeamBudget', role: 'opens', key: budgetKey, labels: budgetLabels, endsAt: budgetEnds },
};

/** Where an alert points: `/sla/<route>` (team budgets: `/budgets`) under the gateway's public URL; none without one. */
export function generatorUrl(a: AlertPayload, publicUrl: string | null): string | undefined {
  if (publicUrl === null) return undefined;
  const base = publicUrl.replace(/\/+$/, '');
  return a.type.startsWith('budget.') ? `${base}/budgets` : `${base}/sla/${a.route.split('/').map(encodeURIComponent).join('/')}`;
}

/** Emoji shortcodes of the Slack `text` are noise in Alertmanager's templates. */
const plain = (s: string) => s.replace(/^:[a-z_]+:\s*/, '');

/** One alert of the log, as Alertmanager sees it: its key, whether it resolves, and the alert to post. */
export function toAlertmanager(a: AlertPayload, publicUrl: string | null): { key: string; resolves: boolean; alert: AmAlert } {
  const kind = ALERT_KINDS[a.type];
  const ends = kind.endsAt?.(a) ?? null;
  const alert: AmAlert = {
    labels: { alertname: kind.alertname, ...kind.labels(a) },
    annotations: { summary: plain(a.text.split('\n')[0] ?? a.type), description: a.violations.join('\n') || plain(a.text), type: a.type, window: a.window },
    startsAt: a.at,
  };
  if (ends !== null) alert.endsAt = new Date(ends).toISOString();
  const url = generatorUrl(a, publicUrl);
  if (url !== undefined) alert.generatorURL = url;
  return { key: kind.key(a), resolves: kind.role === 'resolves', alert };
}

/**
 * The alerts Alertmanager should hold, kept between deliveries: an opening alert adds (or replaces) its key; a
 * resolve ends it (`endsAt`), keeping the labels it was opened with. Pure: the registry stores it.
 */
export interface AmEntry {
  alert: AmAlert;
  /** Resolved (or ended by itself): sent until Alertmanager took it, then dropped. */
  resolved: boolean;
}

export function applyAlert(state: Map<string, AmEntry>, a: AlertPayload, publicUrl: string | null): void {
  const { key, resolves, alert } = toAlertmanager(a, publicUrl);
  if (!resolves) {
    state.set(key, { alert, resolved: false });
    return;
  }
  const open = state.get(key);
  // A resolve of an alert opened before Alertmanager was configured: sent with its own labels, starting as it ends.
  const base = open?.alert ?? alert;
  state.set(key, { alert: { ...base, endsAt: a.at, annotations: { ...base.annotations, resolved: alert.annotations.summary ?? '' } }, resolved: true });
}

/** What to post now: every open alert (Alertmanager forgets one not re-sent within its resolve_timeout) and every resolve. */
export function toPost(state: ReadonlyMap<string, AmEntry>, now: number): AmAlert[] {
  return [...state.values()].map((e) => e.alert).filter((a) => a.endsAt === undefined || Date.parse(a.endsAt) >= now - 60 * 60_000);
}

/** After a delivery Alertmanager took: resolved alerts, and alerts past their own end, are dropped. */
export function afterDelivery(state: Map<string, AmEntry>, now: number): void {
  for (const [key, e] of state) {
    if (e.resolved || (e.alert.endsAt !== undefined && Date.parse(e.alert.endsAt) < now)) state.delete(key);
  }
}
