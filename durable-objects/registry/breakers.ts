import type { AlertPayload } from '../../src/core/alerts';
import type { BreakerEvent, BreakerStatus } from '../../src/core/resilience/breaker';

/**
 * The circuit breakers as the registry last heard of them, one row per route and target: what `/metrics`
 * (`llm_sla_breaker_state`) and `/sla/<route>` show, and what turns an isolate's breaker opening or closing into one
 * alert. Each isolate runs its own breakers (src/worker/proxy/health.ts) fed by the same outcomes; the first to open
 * raises `breaker.opened`, and the first probe that closes it `breaker.closed` — others saying the same are not
 * alerts again.
 */
export class BreakerBoard {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS breakers (route TEXT NOT NULL, target TEXT NOT NULL, state TEXT NOT NULL, since INTEGER NOT NULL,
      calls INTEGER NOT NULL, failure_rate REAL NOT NULL, PRIMARY KEY (route, target))`);
  }

  /** Files a change; the alert it raises when it changes what was known (null when it does not). */
  change(e: BreakerEvent): AlertPayload | null {
    const prev = this.sql.exec<{ state: string }>('SELECT state FROM breakers WHERE route = ? AND target = ?', e.route, e.target).toArray()[0]?.state ?? 'closed';
    if (prev === e.state) return null;
    this.sql.exec(
      'INSERT OR REPLACE INTO breakers (route, target, state, since, calls, failure_rate) VALUES (?, ?, ?, ?, ?, ?)',
      e.route,
      e.target,
      e.state,
      e.at,
      e.calls,
      e.failureRate,
    );
    return breakerAlert(e, prev);
  }

  list(): BreakerStatus[] {
    return this.sql
      .exec<{ route: string; target: string; state: string; since: number; calls: number; failure_rate: number }>('SELECT route, target, state, since, calls, failure_rate FROM breakers ORDER BY route, target')
      .toArray()
      .map((r) => ({ route: r.route, target: r.target, state: r.state === 'open' ? 'open' : 'closed', since: r.since, calls: r.calls, failureRate: r.failure_rate }));
  }

  forget(route: string | null): void {
    if (route === null) this.sql.exec('DELETE FROM breakers');
    else this.sql.exec('DELETE FROM breakers WHERE route = ?', route);
  }
}

function breakerAlert(e: BreakerEvent, previous: string): AlertPayload {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const opened = e.state === 'open';
  const message = opened
    ? `Target '${e.target}' of route '${e.route}' failed ${pct(e.failureRate)} of ${e.calls} calls in ${e.windowS} s: skipped for ${e.cooldownS} s, then probed`
    : `Target '${e.target}' of route '${e.route}' answered its probe: back in rotation`;
  const head = opened ? `:red_circle: Circuit breaker opened on route '${e.route}', target '${e.target}'` : `:large_green_circle: Circuit breaker closed on route '${e.route}', target '${e.target}'`;
  return {
    type: opened ? 'breaker.opened' : 'breaker.closed',
    route: e.route,
    status: e.state,
    previous_status: previous,
    window: `${e.windowS}s`,
    at: new Date(e.at).toISOString(),
    violations: opened ? [message] : [],
    stats: { count: e.calls, success_rate: opened ? 1 - e.failureRate : null, p95_ms: null, p99_ms: null, throughput_rps: 0 },
    breaker: { target: e.target, failure_rate: e.failureRate, calls: e.calls, source: e.source, window_s: e.windowS, cooldown_s: e.cooldownS },
    text: `${head}\n• ${message}`,
  };
}
