/**
 * Waits for `shared` — a promise another request may have created (a batch several calls share) — with a timer of
 * the calling request's own, for at most `maxMs`. Under workerd's cross-request promise rules a promise settles
 * only in the request that created it: a request that merely awaited another's promise, with no I/O of its own
 * pending, would be cancelled as hung, and every request waiting on its promise would never see it settle. The own
 * timer keeps this request alive until the shared work is done (or gives up waiting: the work itself carries on and
 * counts its own outcome). Never rejects.
 */
export function settleWithin(shared: Promise<unknown>, maxMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, maxMs);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    shared.then(done, done);
  });
}

/** A batch of work shared by several requests: `done` settles when the flush that carries it has finished. */
export interface SharedBatch {
  readonly done: Promise<void>;
  settle(): void;
}

/**
 * Opens a batch that `flush` sends after `delayMs`, unless another request flushed it first (it filled up): the
 * timer then does nothing. It must not flush whatever batch is open by then: workerd's clearTimeout only reaches the
 * current request's timers, so a timer left running would flush a newer batch inside a request that no longer waits
 * for it, and that flush would be cancelled with the request (a soak lost 3 x 512 spans that way).
 */
export function openBatch<B extends object>(fields: B, delayMs: number, isOpen: (batch: B & SharedBatch) => boolean, flush: () => void): B & SharedBatch {
  let settle!: () => void;
  const done = new Promise<void>((resolve) => (settle = resolve));
  const batch = { ...fields, done, settle };
  setTimeout(() => {
    if (isOpen(batch)) flush();
  }, delayMs);
  return batch;
}
