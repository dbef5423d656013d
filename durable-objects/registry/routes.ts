import type { RouteEntry } from '../../src/core/objects';
import { OVERFLOW_ROUTE, type Admission } from '../../src/core/route-cap';

/**
 * Route admission: the route keys the registry knows (so `/sla` can enumerate them), at most `maxRoutes` of them;
 * the overflow route is always admitted, beyond the cap. Routes are registered once per isolate, not per call.
 */
export class RouteList {
  constructor(private readonly sql: SqlStorage) {
    sql.exec('CREATE TABLE IF NOT EXISTS routes (route TEXT PRIMARY KEY, shards INTEGER NOT NULL, first_seen INTEGER NOT NULL)');
  }

  /** Admits what fits under the cap: which of `entries` are known now, and whether the cap is reached. */
  register(entries: readonly RouteEntry[], maxRoutes: number, now: number): Admission {
    let count = this.count();
    const admitted: string[] = [];
    for (const e of entries) {
      const known = this.sql.exec('SELECT 1 FROM routes WHERE route = ?', e.route).toArray().length > 0;
      if (!known && e.route !== OVERFLOW_ROUTE) {
        if (count >= maxRoutes) continue;
        count++;
      }
      this.sql.exec(
        `INSERT INTO routes (route, shards, first_seen) VALUES (?, ?, ?)
         ON CONFLICT(route) DO UPDATE SET shards = max(shards, excluded.shards)`,
        e.route,
        e.shards,
        now,
      );
      admitted.push(e.route);
    }
    return { admitted, full: count >= maxRoutes };
  }

  /** Routes registered, not counting the overflow route. */
  private count(): number {
    return this.sql.exec<{ n: number }>('SELECT count(*) AS n FROM routes WHERE route != ?', OVERFLOW_ROUTE).one().n;
  }

  list(): RouteEntry[] {
    return this.sql
      .exec<{ route: string; shards: number }>('SELECT route, shards FROM routes ORDER BY route')
      .toArray()
      .map((r) => ({ route: r.route, shards: r.shards }));
  }

  /** Forgets one route, or all of them (null). */
  forget(route: string | null): void {
    if (route === null) this.sql.exec('DELETE FROM routes');
    else this.sql.exec('DELETE FROM routes WHERE route = ?', route);
  }
}
