import { configFor, type RuntimeSla } from '../../src/config/in-force';
import { registry } from '../../src/core/objects';
import { sloFor, type SlaConfig } from '../../src/core/sla/config';
import { judge, type SloCounts, type SloWindowCounts } from '../../src/core/sla/slo';
import { histogramBounds, type HistogramBounds } from '../../src/core/metrics-buckets';
import { SloLedger } from '../../src/core/sla/slo-ledger';
import { checkSample } from '../../src/core/sla/sample';

/**
 * The error-budget side of a route object: judges each filed sample good or bad against the SLO in force at that
 * moment (`configFor(env).sla()`: the runtime config as the registry last pushed it, or as read from the registry
 * under the one refresh rule, else the `SLA_CONFIG` var) and keeps the counts in its own SQLite table, one row per
 * minute or hour counter, and the cumulative count of judged calls for /metrics (`llm_sla_slo_calls_total`).
 */
export class SloJudge {
  private eventsDirty = false;

  private constructor(
    private readonly sql: SqlStorage,
    private readonly env: Env,
    private readonly ledger: SloLedger,
    /** Calls judged good and bad since the object was created (or reset): a counter that only goes up. */
    private readonly events: SloCounts,
  ) {}

  static load(sql: SqlStorage, env: Env, now: number): SloJudge {
    sql.exec('CREATE TABLE IF NOT EXISTS slo (key TEXT PRIMARY KEY, good INTEGER NOT NULL, bad INTEGER NOT NULL)');
    const rows = sql.exec<{ key: string; good: number; bad: number }>('SELECT key, good, bad FROM slo').toArray();
    // Hour counters are kept for the longest period until the config is known (`judge` narrows it).
    const { ledger, skipped } = SloLedger.fromRows(rows, 90 * 24, now);
    if (skipped > 0) console.error(`llm-sla-gateway: skipped ${skipped} malformed SLO counter rows`);
    sql.exec('CREATE TABLE IF NOT EXISTS slo_events (key TEXT PRIMARY KEY, good INTEGER NOT NULL, bad INTEGER NOT NULL)');
    const total = sql.exec<{ good: number; bad: number }>("SELECT good, bad FROM slo_events WHERE key = 'total'").toArray()[0];
    return new SloJudge(sql, env, ledger, { good: total?.good ?? 0, bad: total?.bad ?? 0 });
  }

  /** Judged calls so far, for /metrics; null when the route has no SLO in force (no series then). */
  eventsFor(route: string | null): SloCounts | null {
    const config = this.config();
    if (route === null || config === null || sloFor(config, route) === null) return null;
    return { ...this.events };
  }

  /** The route's histogram boundaries: the defaults plus its SLO's thresholds (`src/core/metrics-buckets.ts`). */
  bounds(route: string | null): HistogramBounds {
    const config = this.config();
    return histogramBounds(route === null || config === null ? null : sloFor(config, route));
  }

  /** Reads the runtime SLA config from the registry when the copy here is stale (`SLA_OVERRIDE_MAX_AGE_MS`). */
  refreshConfig(now: number): Promise<void> | null {
    const inForce = configFor(this.env);
    return inForce.overrideStale(now) ? inForce.refresh(() => registry(this.env).configOverride(), now) : null;
  }

  /** The runtime SLA config as the registry pushed it (`PUT`/`DELETE /sla/config`). */
  setOverride(runtime: RuntimeSla, now: number): void {
    configFor(this.env).setOverride(runtime, now);
  }

  private config(): SlaConfig | null {
    const cfg = configFor(this.env).sla();
    return cfg.ok ? cfg.config : null;
  }

  /** Files each valid sample as good or bad under the route's SLO; nothing when the route has none. */
  judge(route: string, samples: readonly unknown[], now: number): void {
    const config = this.config();
    const slo = config === null ? null : sloFor(config, route);
    if (slo === null) return;
    this.ledger.setPeriod(slo.period_hours);
    for (const raw of samples) {
      let verdict: 'good' | 'bad' | null;
      let ts: number;
      try {
        const s = checkSample(raw);
        verdict = judge(s, slo);
        ts = s.ts;
      } catch {
        continue; // counted as rejected by the window store
      }
      if (verdict === null) continue;
      this.ledger.add(ts, verdict, now);
      this.events[verdict]++;
      this.eventsDirty = true;
    }
  }

  windows(now: number, periodHours: number): SloWindowCounts {
    return this.ledger.windows(now, periodHours);
  }

  expire(now: number): void {
    this.ledger.expire(now);
  }

  nextExpiryAt(now: number): number | null {
    return this.ledger.nextExpiryAt(now);
  }

  /** Writes changed counters; called in the same event as the change. */
  persist(): void {
    for (const key of this.ledger.removedKeys()) this.sql.exec('DELETE FROM slo WHERE key = ?', key);
    for (const r of this.ledger.dirtyRows()) this.sql.exec('INSERT OR REPLACE INTO slo (key, good, bad) VALUES (?, ?, ?)', r.key, r.good, r.bad);
    this.ledger.markClean();
    if (this.eventsDirty) this.sql.exec("INSERT OR REPLACE INTO slo_events (key, good, bad) VALUES ('total', ?, ?)", this.events.good, this.events.bad);
    this.eventsDirty = false;
  }
}
