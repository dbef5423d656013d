// Portkey's gateway on workerd, built by bench/build.mjs from its npm package (`@portkey-ai/gateway`, which ships only
// its Node build, `build/start-server.js`): the same Hono app, served by workerd's fetch handler instead of
// @hono/node-server. Node-only parts the benchmarked path never reaches are stubbed at bundle time (shims.mjs: the
// Node server, WebSockets for /v1/realtime, Redis for caching). prelude.mjs runs first.
import './prelude.mjs';
import '@portkey-ai/gateway/build/start-server.js';

globalThis.__portkeyRestoreTimers();
const app = globalThis.__portkeyFetch;

export default {
  fetch: (request, env, ctx) => app(request, env, ctx),
};
