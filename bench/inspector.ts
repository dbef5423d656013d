/** A Chrome DevTools protocol session with the worker isolate of a `workerd serve --inspector-addr` process. */
export interface Inspector {
  /** Resolves with the method's result; rejects when workerd does not answer within `timeoutMs`. */
  send(method: string, params?: Record<string, unknown>, timeoutMs?: number): Promise<unknown>;
  close(): void;
}

export async function connectInspector(port: number): Promise<Inspector> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as { webSocketDebuggerUrl: string; title: string }[];
  const target = targets.find((t) => t.title.includes('main')) ?? targets[0];
  if (!target) throw new Error('no inspector target');
  const ws = new WebSocket(target.webSocketDebuggerUrl.replace('localhost', '127.0.0.1'));
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  let id = 0;
  const pending = new Map<number, (v: unknown) => void>();
  ws.onmessage = (ev) => {
    const msg = JSON.parse(String(ev.data)) as { id?: number; result?: unknown };
    if (msg.id !== undefined) pending.get(msg.id)?.(msg.result);
  };
  return {
    send: (method, params = {}, timeoutMs = 30_000) =>
      new Promise<unknown>((resolve, reject) => {
        const n = ++id;
        const timer = setTimeout(() => {
          pending.delete(n);
          reject(new Error(`inspector: no answer to ${method} in ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(n, (v) => {
          clearTimeout(timer);
          pending.delete(n);
          resolve(v);
        });
        ws.send(JSON.stringify({ id: n, method, params }));
      }),
    close: () => ws.close(),
  };
}

/**
 * The isolate's live JS heap in MB, after a full garbage collection. workerd's inspector never answers
 * `HeapProfiler.collectGarbage`, but taking a heap snapshot collects garbage first (V8 does a full GC before it
 * walks the heap), so the heap usage read right after is the live heap. The snapshot's chunks are discarded.
 */
export async function heapUsedMb(port: number): Promise<number> {
  const inspector = await connectInspector(port);
  try {
    await inspector.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false }, 60_000);
    const usage = (await inspector.send('Runtime.getHeapUsage')) as { usedSize: number };
    return usage.usedSize / 1024 / 1024;
  } finally {
    inspector.close();
  }
}
