/**
 * Idempotency of `/v1/timings` batches that carry an `idempotency-key`: the first claim of a key stores the batch's
 * result (JSON) and returns null, so the caller records the batch; a claim of a key already seen within `ttlMs`
 * returns the stored result instead, so a retried batch is answered without being counted twice.
 */
export class BatchClaims {
  constructor(private readonly sql: SqlStorage) {
    sql.exec('CREATE TABLE IF NOT EXISTS ingest_batches (key TEXT PRIMARY KEY, expires INTEGER NOT NULL, result TEXT NOT NULL)');
    sql.exec('CREATE INDEX IF NOT EXISTS ingest_batches_expires ON ingest_batches (expires)');
  }

  claim(key: string, result: string, ttlMs: number, now: number): string | null {
    this.sql.exec('DELETE FROM ingest_batches WHERE expires <= ?', now);
    const seen = this.sql.exec<{ result: string }>('SELECT result FROM ingest_batches WHERE key = ?', key).toArray()[0];
    if (seen) return seen.result;
    this.sql.exec('INSERT INTO ingest_batches (key, expires, result) VALUES (?, ?, ?)', key, now + ttlMs, result);
    return null;
  }
}
