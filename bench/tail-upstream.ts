import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chatEvents, seeded } from './fast-upstream';

/**
 * A mock OpenAI provider whose streams have a measured shape (bench/hedging.ts): each stream sends its headers and
 * role event at once, then its first content event after a time to first token drawn per request — log-normal
 * around `medianMs` with spread `sigma`, or, for `stallRate` of the streams, `stallMs` — then the rest at once.
 * Draws come from a seeded generator in the order requests arrive, so a scenario gets the same run of times for
 * the same seed. Counts what it served, and the streams whose client went away before the end (cancelled upstream).
 */
export interface TailUpstreamOptions {
  medianMs: number;
  sigma: number;
  stallRate: number;
  stallMs: number;
  seed: number;
  chunks?: number;
}

export interface TailUpstream {
  url: string;
  state: { served: number; stalled: number; cancelled: number };
  close(): Promise<void>;
}

/** A standard normal draw from two uniform ones (Box-Muller). */
function normal(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

export async function startTailUpstream(o: TailUpstreamOptions): Promise<TailUpstream> {
  const state = { served: 0, stalled: 0, cancelled: 0 };
  const withUsage = chatEvents(o.chunks ?? 5, true);
  const withoutUsage = chatEvents(o.chunks ?? 5, false);
  const random = seeded(o.seed);
  const server = createServer((req, res) => {
    const body: Buffer[] = [];
    req.on('data', (c: Buffer) => body.push(c));
    req.on('end', () => {
      state.served++;
      const text = Buffer.concat(body).toString('utf8');
      // Both draws on every request, so the run of times does not depend on which requests stall.
      const drawn = o.medianMs * Math.exp(o.sigma * normal(random));
      const stall = random() < o.stallRate;
      if (stall) state.stalled++;
      const ttft = stall ? o.stallMs : drawn;
      const events = text.includes('"include_usage":true') ? withUsage : withoutUsage;
      let finished = false;
      res.on('close', () => {
        if (!finished) state.cancelled++;
      });
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
      res.socket?.setNoDelay(true);
      res.write(events[0]);
      setTimeout(() => {
        if (res.destroyed) return;
        for (const ev of events.slice(1)) res.write(ev);
        finished = true;
        res.end();
      }, ttft);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    state,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
