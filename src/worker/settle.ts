/**
 * Batches of work that several requests share (records for the Durable Objects, spans for the collector), under
 * workerd's rules: a promise settles only in the request that created it, and a request whose waitUntil merely
 * awaits another request's promise, with no I/O of its own pending, is cancelled as hung. So only a request that
 * runs a batch's flush waits for it, in its own waitUntil:
 * - the request that opened the batch owns its timer; when the timer fires, it flushes the batch, if still open,
 *   and waits for that flush; when another request flushes the batch first, it stops waiting;
 * - a request that fills the batch flushes it at once and waits for that flush;
 * - every other request adds its item and waits for nothing: one of the two above carries it.
 * That is one timer per batch, not one per call. A timer must not flush whatever batch is open by the time it
 * fires: workerd's clearTimeout only reaches the current request's timers, so a timer left running would flush a
 * newer batch inside a request whose waitUntil no longer waits for it, and that flush would be cancelled with the
 * request (a soak lost 3 x 512 spans that way).
 */
export interface Batch<B extends object> {
  readonly fields: B;
  /**
   * What the opening request waits for: its timer, then the flush the timer ran; or, when another request flushed
   * the batch first, until `taken()`. The wait is held up by the opener's own timer, never by another request alone.
   */
  readonly owned: Promise<void>;
  /** Another request runs the flush: the opener need not wait any longer. */
  taken(): void;
}

/**
 * Opens a batch that `flush` sends `delayMs` from now, unless it is no longer open by then (another request
 * flushed it). `flush` never rejects.
 */
export function openBatch<B extends object>(fields: B, delayMs: number, isOpen: (fields: B) => boolean, flush: () => Promise<void>): Batch<B> {
  let taken!: () => void;
  const owned = new Promise<void>((resolve) => {
    let flushing = false;
    taken = () => {
      if (!flushing) resolve();
    };
    setTimeout(() => {
      if (!isOpen(fields)) return resolve();
      flushing = true;
      void flush().then(resolve, resolve);
    }, delayMs);
  });
  return { fields, owned, taken };
}
