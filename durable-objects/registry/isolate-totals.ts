/** An isolate whose totals have not changed for this long is folded into the retired sums. */
const ISOLATE_IDLE_MS = 24 * 3600_000;

/**
 * Each isolate's counts that never reach a client (src/worker/counts.ts: drops, warnings, labels cut, span export
 * results...), so /metrics shows them whichever isolate answers. Totals, not deltas: a report lost on the way (its
 * request cancelled, the RPC failed) loses nothing, the next one carries it, and a report that arrives twice or late
 * counts once (a total only grows). Isolates not heard from for a day are folded into `counters`, so the sums stay
 * monotonic and the table small.
 */
export class IsolateTotals {
  constructor(private readonly sql: SqlStorage) {
    sql.exec('CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)');
    sql.exec(`CREATE TABLE IF NOT EXISTS isolate_counters (isolate TEXT NOT NULL, name TEXT NOT NULL, value INTEGER NOT NULL,
      updated INTEGER NOT NULL, PRIMARY KEY (isolate, name))`);
  }

  report(isolate: string, totals: Record<string, number>, now: number): void {
    if (!/^[\w-]{1,64}$/.test(isolate)) return;
    for (const [name, n] of Object.entries(totals)) {
      if (!/^[a-z_]{1,64}$/.test(name) || !Number.isSafeInteger(n) || n <= 0) continue;
      this.sql.exec(
        `INSERT INTO isolate_counters (isolate, name, value, updated) VALUES (?, ?, ?, ?)
         ON CONFLICT(isolate, name) DO UPDATE SET value = max(value, excluded.value), updated = excluded.updated`,
        isolate,
        name,
        n,
        now,
      );
    }
    const idle = now - ISOLATE_IDLE_MS;
    this.sql.exec(
      `INSERT INTO counters (name, value) SELECT name, sum(value) FROM isolate_counters WHERE updated < ? GROUP BY name
       ON CONFLICT(name) DO UPDATE SET value = value + excluded.value`,
      idle,
    );
    this.sql.exec('DELETE FROM isolate_counters WHERE updated < ?', idle);
  }

  /** Every counter summed over isolates, live and retired. */
  sums(): Record<string, number> {
    const rows = this.sql
      .exec<{ name: string; value: number }>(
        `SELECT name, sum(value) AS value FROM (SELECT name, value FROM counters UNION ALL SELECT name, value FROM isolate_counters) GROUP BY name`,
      )
      .toArray();
    return Object.fromEntries(rows.map((r) => [r.name, r.value]));
  }
}
