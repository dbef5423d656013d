import http from 'node:http';
import type { AddressInfo } from 'node:net';

const SPAN_ID = Buffer.from('"spanId"');

/** A local OTLP/HTTP collector for the benchmark and the soak: counts requests and spans; `mode` makes it misbehave. */
export async function startOtlpSink() {
  const state = { mode: 'ok' as 'ok' | '500' | 'hang', requests: 0, spans: 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      state.requests++;
      if (state.mode === 'hang') return; // the gateway's export timeout must give up
      if (state.mode === '500') {
        res.writeHead(500).end('{}');
        return;
      }
      // Spans counted by their "spanId" keys, without parsing: this process also serves the upstream and drives
      // the load, and parsing every 512-span export (~0.5 MB of JSON) in it would stall them.
      const body = Buffer.concat(chunks);
      for (let at = body.indexOf(SPAN_ID); at !== -1; at = body.indexOf(SPAN_ID, at + SPAN_ID.length)) state.spans++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    state,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
