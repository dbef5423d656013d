import { afterDelivery, applyAlert, toPost, type AmEntry } from '../../src/core/alertmanager';
import type { AlertLog } from './alerts';
import type { Meta } from './meta';

/** Most alerts held for Alertmanager; past it the oldest are dropped (and counted in `dropped`). */
const MAX_ALERTS = 1000;
const TIMEOUT_MS = 5000;

/**
 * The registry's Alertmanager delivery: the alerts Alertmanager should hold (`src/core/alertmanager.ts`), built from
 * the alert log as it grows (a cursor in `meta`) and kept in one `meta` row between alarms. Each alarm posts every
 * open alert again (Alertmanager resolves one not re-sent within its resolve_timeout) and each resolve until one of
 * the Alertmanagers took it.
 */
export class AlertmanagerDelivery {
  /** Deliveries no Alertmanager took, and alerts dropped past `MAX_ALERTS`, since the object started. */
  failures = 0;
  dropped = 0;

  constructor(
    private readonly meta: Meta,
    private readonly log: AlertLog,
  ) {}

  private load(): Map<string, AmEntry> {
    const raw = this.meta.get('am_state');
    return new Map(raw ? (JSON.parse(raw) as [string, AmEntry][]) : []);
  }

  private save(state: Map<string, AmEntry>): void {
    while (state.size > MAX_ALERTS) {
      state.delete(state.keys().next().value as string);
      this.dropped++;
    }
    this.meta.set('am_state', JSON.stringify([...state]));
  }

  /** Folds the alerts logged since the last call into the state. */
  sync(publicUrl: string | null): Map<string, AmEntry> {
    const state = this.load();
    const cursor = Number(this.meta.get('am_cursor') ?? 0);
    const fresh = this.log.since(cursor);
    for (const { alert } of fresh) applyAlert(state, alert, publicUrl);
    if (fresh.length > 0) this.meta.set('am_cursor', String(fresh[fresh.length - 1]?.id ?? cursor));
    this.save(state);
    return state;
  }

  /** Posts the state to each Alertmanager (`<url>/api/v2/alerts`); true when at least one took it. Never throws. */
  async deliver(urls: readonly string[], publicUrl: string | null, now: number): Promise<boolean> {
    const state = this.sync(publicUrl);
    const alerts = toPost(state, now);
    if (alerts.length === 0) return true;
    const body = JSON.stringify(alerts);
    const results = await Promise.all(urls.map((u) => post(`${u.replace(/\/+$/, '')}/api/v2/alerts`, body)));
    if (!results.some(Boolean)) {
      this.failures++;
      return false;
    }
    afterDelivery(state, now);
    this.save(state);
    return true;
  }
}

async function post(url: string, body: string): Promise<boolean> {
  try {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(TIMEOUT_MS) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}
