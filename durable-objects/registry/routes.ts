import type { RouteEntry } from '../../src/core/objects';
import { OVERFLOW_ROUTE, type Admission } from '../../src/core/route-cap';

/**
 * Route admission: the route keys the registry knows (so `/sla` can enumerate them), at most `maxRoutes` of them;
 * the overflow route and the providers' default route keys (`reserved`, `<provider>/<operation>`: a bounded set)
 * are always admitted, beyond the cap. Routes are registered once per isolate and hour, not per call: `last_seen`
 * says a route is in use, and routes unseen past their objects' retention leave (`expire`), so the cap drains.
 */
export class RouteList {
  constructor(private readonly sql: SqlStorage) {
    sql.exec('CREATE TABLE IF NOT EXISTS routes (route TEXT PRIMARY KEY, shards INTEGER NOT NULL, first_seen INTEGER NOT NULL)');
    const columns = new Set(sql.exec<{ name: string }>('PRAGMA table_info(routes)').toArray().map((c) => c.name));
    if (!columns.has('reserved')) sql.exec('ALTER TABLE routes ADD COLUMN reserved INTEGER NOT NULL DEFAULT 0');
    if (!columns.has('last_seen')) {
      // Routes listed before `last_seen` existed count as seen now: they leave only after a full idle period.
      sql.exec('ALTER TABLE routes ADD COLUMN last_seen INTEGER NOT NULL DEFAULT 0');
      sql.exec('UPDATE routes SET last_seen = ?', Date.now());
    }
  }

  /** Admits what fits under the cap: which of `entries` are known now, and whether the cap is reached. */
  register(entries: readonly RouteEntry[], maxRoutes: number, now: number): Admission {
    let count = this.count();
    const admitted: string[] = [];
    for (const e of entries) {
      const known = this.sql.exec('SELECT 1 FROM routes WHERE route = ?', e.route).toArray().length > 0;
      const beyondCap = e.route === OVERFLOW_ROUTE || e.reserved === true;
      if (!known && !beyondCap) {
        if (count >= maxRoutes) continue;
        count++;
      }
      this.sql.exec(
        `INSERT INTO routes (route, shards, first_seen, reserved, last_seen) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(route) DO UPDATE SET shards = max(shards, excluded.shards), last_seen = max(last_seen, excluded.last_seen),
           reserved = max(reserved, excluded.reserved)`,
        e.route,
        e.shards,
        now,
        beyondCap ? 1 : 0,
        now,
      );
      admitted.push(e.route);
    }
    return { admitted, full: count >= maxRoutes };
  }

  /** Routes registered under the cap (not the overflow route, not the reserved default keys). */
  private count(): number {
    return this.sql.exec<{ n: number }>('SELECT count(*) AS n FROM routes WHERE route != ? AND reserved = 0', OVERFLOW_ROUTE).one().n;
  }

  list(): RouteEntry[] {
    return this.sql
      .exec<{ route: string; shards: number; reserved: number }>('SELECT route, shards, reserved FROM routes ORDER BY route')
      .toArray()
      .map((r) => (r.reserved ? { route: r.route, shards: r.shards, reserved: true } : { route: r.route, shards: r.shards }));
  }

  /** Removes the routes unseen for longer than their idle limit; returns them. */
  expire(now: number, idleLimitMs: (route: string) => number): string[] {
    const rows = this.sql.exec<{ route: string; last_seen: number }>('SELECT route, last_seen FROM routes').toArray();
    const gone = rows.filter((r) => now - r.last_seen > idleLimitMs(r.route)).map((r) => r.route);
    for (const route of gone) this.sql.exec('DELETE FROM routes WHERE route = ?', route);
    return gone;
  }

  /** Forgets one route, or all of them (null). */
  forget(route: string | null): void {
    if (route === null) this.sql.exec('DELETE FROM routes');
    else this.sql.exec('DELETE FROM routes WHERE route = ?', route);
  }
}
