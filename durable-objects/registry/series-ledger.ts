import type { MetricsExposition, MetricsSnapshot } from '../../src/core/metrics';
import { groupKey, planExposition, type BudgetOptions } from '../../src/core/series-budget';

/**
 * The groups of /metrics series the registry has exported (`src/core/series-budget.ts`): kept in its SQLite so
 * that a restart neither exports a counter at 0 again (Prometheus would read a reset) nor loses the budget's count.
 * A route's groups go when the route leaves the registry (reset, idle), freeing their room.
 */
export class SeriesLedger {
  private readonly groups = new Map<string, { series: number; bytes: number }>();
  /**
   * The ledger was just created in a registry that already lists routes (an upgrade from a version without it):
   * those routes' counters were exported already, so the first plan admits them without the zero start.
   */
  private upgraded: boolean;

  constructor(private readonly sql: SqlStorage) {
    const existed = sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'metric_groups'").toArray().length > 0;
    const routes = sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'routes'").toArray().length > 0 && sql.exec('SELECT 1 FROM routes LIMIT 1').toArray().length > 0;
    this.upgraded = !existed && routes;
    sql.exec('CREATE TABLE IF NOT EXISTS metric_groups (route TEXT NOT NULL, grp TEXT NOT NULL, series INTEGER NOT NULL, bytes INTEGER NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (route, grp))');
    for (const r of sql.exec<{ route: string; grp: string; series: number; bytes: number }>('SELECT route, grp, series, bytes FROM metric_groups')) {
      this.groups.set(groupKey(r.route, r.grp), { series: r.series, bytes: r.bytes });
    }
  }

  /** What /metrics exposes of `snapshot` now; the groups admitted at this refresh are recorded (and shown at 0). */
  plan(snapshot: MetricsSnapshot, opts: BudgetOptions, now: number): MetricsExposition {
    const { exposition, admit } = planExposition(snapshot, this.groups, this.upgraded ? { ...opts, zeroStart: false } : opts);
    this.upgraded = false;
    for (const g of admit) {
      this.sql.exec('INSERT OR REPLACE INTO metric_groups (route, grp, series, bytes, at) VALUES (?, ?, ?, ?, ?)', g.route, g.group, g.series, g.bytes, now);
      this.groups.set(groupKey(g.route, g.group), { series: g.series, bytes: g.bytes });
    }
    return exposition;
  }

  /** Forgets the groups of one route, or of all (null). */
  forget(route: string | null): void {
    if (route === null) {
      this.sql.exec('DELETE FROM metric_groups');
      this.groups.clear();
      return;
    }
    this.sql.exec('DELETE FROM metric_groups WHERE route = ?', route);
    const prefix = groupKey(route, '');
    for (const key of [...this.groups.keys()]) if (key.startsWith(prefix)) this.groups.delete(key);
  }
}
