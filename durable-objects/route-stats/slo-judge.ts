import { serviceConfig } from '../../src/config/resolve';
import { registry } from '../../src/core/objects';
import { sloFor, type SlaConfig } from '../../src/core/sla/config';
import { judge, type SloWindowCounts } from '../../src/core/sla/slo';
import { SloLedger } from '../../src/core/sla/slo-ledger';
import { checkSample } from '../../src/core/sla/sample';
import { slaConfigInForce } from '../../src/config/in-force';

/** How long a route object uses the runtime SLA config (`PUT /sla/config`) before asking the registry again. */
export const SLO_CONFIG_TTL_MS = 60_000;

/**
 * The error-budget side of a route object: judges each filed sample good or bad against the SLO in force at that
 * moment (the `SLA_CONFIG` var, or the runtime config read from the registry at most once a minute) and keeps the
 * counts in its own SQLite table, one row per minute or hour counter.
 */
export class SloJudge {
  private override: string | null = null;
  private overrideAt = -Infinity;

  private constructor(
    private readonly sql: SqlStorage,
    private readonly env: Env,
    private readonly ledger: SloLedger,
  ) {}

  static load(sql: SqlStorage, env: Env, now: number): SloJudge {
    sql.exec('CREATE TABLE IF NOT EXISTS slo (key TEXT PRIMARY KEY, good INTEGER NOT NULL, bad INTEGER NOT NULL)');
    const rows = sql.exec<{ key: string; good: number; bad: number }>('SELECT key, good, bad FROM slo').toArray();
    // Hour counters are kept for the longest period until the config is known (`judge` narrows it).
    const { ledger, skipped } = SloLedger.fromRows(rows, 90 * 24, now);
    if (skipped > 0) console.error(`llm-sla-gateway: skipped ${skipped} malformed SLO counter rows`);
    return new SloJudge(sql, env, ledger);
  }

  /** Reads the runtime SLA config from the registry when the copy here is over a minute old; keeps it on failure. */
  async refreshConfig(now: number): Promise<void> {
    if (now - this.overrideAt < SLO_CONFIG_TTL_MS) return;
    this.overrideAt = now;
    try {
      this.override = await registry(this.env).configOverride();
    } catch (e) {
      console.error('llm-sla-gateway: SLO config refresh failed, keeping the last one', e instanceof Error ? e.message : String(e));
    }
  }

  private config(): SlaConfig | null {
    const cfg = slaConfigInForce(serviceConfig(this.env), this.override);
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
      if (verdict !== null) this.ledger.add(ts, verdict, now);
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
  }
}
