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
