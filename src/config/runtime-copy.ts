/**
 * How long a copy of a runtime config (`PUT /sla/config`, `PUT /policies`, kept by the registry) is used before it
 * is read again: the one refresh rule for every copy, a worker isolate's and a route object's alike. The registry
 * pushes SLA config changes to its route objects at once and every `/sla*` answer carries its current text, and the
 * isolate that took a `PUT` uses it at once, so this only bounds how late a copy can be when neither reached it
 * (docs/configuration.md: "within 30 s").
 */
export const OVERRIDE_MAX_AGE_MS = 30_000;

/**
 * This process's copy of one config the registry holds at runtime: its text as last read (or written) here, when,
 * and its parsed form (parsed once per text).
 */
export class RuntimeCopy<T> {
  private text: string | null = null;
  /** When the copy was last read or written here (-Infinity: never). */
  private at = Number.NEGATIVE_INFINITY;
  private parsed: { text: string | null; value: T } | null = null;

  constructor(
    private readonly parse: (text: string | null) => T,
    private readonly what: string,
  ) {}

  /** The parsed copy (null text: none set at runtime). */
  value(): T {
    if (this.parsed === null || this.parsed.text !== this.text) this.parsed = { text: this.text, value: this.parse(this.text) };
    return this.parsed.value;
  }

  /** The text as last seen here (null: none, or never read yet). */
  get current(): string | null {
    return this.text;
  }

  set(text: string | null, now: number): void {
    this.text = text;
    this.at = now;
  }

  /** Whether the copy is older than `OVERRIDE_MAX_AGE_MS` (or was never read). */
  stale(now: number): boolean {
    return now - this.at > OVERRIDE_MAX_AGE_MS;
  }

  /**
   * Reads the text again with `read` when the copy is stale. Marked fresh first, so concurrent callers do not each
   * ask; a failed read keeps the old copy until the next interval.
   */
  async refresh(read: () => Promise<string | null>, now: number): Promise<void> {
    if (!this.stale(now)) return;
    this.at = now;
    try {
      this.set(await read(), now);
    } catch (err) {
      console.error(`llm-sla-gateway: could not read the runtime ${this.what}, keeping the last one`, err instanceof Error ? err.message : String(err));
    }
  }
}
