// Bundle-time stand-ins for the Node-only modules of Portkey's Node entry (see entry.mjs).
// @hono/node-server: `serve({ fetch })` hands the app's fetch to the worker instead of listening.
export function serve(options) {
  globalThis.__portkeyFetch = options.fetch;
  return { close() {} };
}
// @hono/node-ws: WebSockets (/v1/realtime) are not benchmarked.
export function createNodeWebSocket() {
  return { injectWebSocket() {}, upgradeWebSocket: () => async (_c, next) => next() };
}
// ioredis and ws: a Redis cache and outgoing WebSockets are not configured here; using one fails loudly.
export default class Unavailable {
  constructor() {
    throw new Error('not available in the workerd build of Portkey used by the benchmark');
  }
}
export const WebSocket = Unavailable;
