// The least a proxy that measures calls must do on workerd, for `npm run bench:breakdown`: read the request body
// (its JSON says the model and whether to stream), forward it with a timeout and the client's abort, read the response
// body (usage is in it), hand it back, and parse it after the response in waitUntil. No routing, no config, no
// header rules, no record, no telemetry: what is left between this and the floor is the cost of reading the bodies.
export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const rest = url.pathname.replace(/^\/[^/]+/, '');
    const body = new Uint8Array(await request.arrayBuffer());
    const aborter = new AbortController();
    const onAbort = () => aborter.abort();
    request.signal.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => aborter.abort(), 120000);
    const upstream = await fetch(env.UPSTREAM + rest + url.search, { method: request.method, headers: new Headers(request.headers), body, signal: aborter.signal, redirect: 'manual' });
    const bytes = await upstream.arrayBuffer();
    clearTimeout(timer);
    request.signal.removeEventListener('abort', onAbort);
    ctx.waitUntil(new Promise((resolve) => setTimeout(resolve, 0)).then(() => JSON.parse(new TextDecoder().decode(bytes))));
    return new Response(bytes, { status: upstream.status, statusText: upstream.statusText, headers: upstream.headers });
  },
};
