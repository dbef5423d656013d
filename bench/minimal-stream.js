// The least a proxy that measures streams must do on workerd, for `npm run bench:breakdown`: read the request body
// (it says whether to stream, and an OpenAI stream must be asked for its usage), forward it with a timeout and the
// client's abort, and hand the response body on through a JavaScript stream, chunk by chunk (one chunk read ahead) —
// which a gateway needs to time the first token, hide the usage chunk it asked for and pass a client's cancel on at
// once. No routing, config, header rules, SSE parsing, record or telemetry.
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const rest = url.pathname.replace(/^\/[^/]+/, '');
    const bytes = new Uint8Array(await request.arrayBuffer());
    const raw = new TextDecoder().decode(bytes);
    const json = JSON.parse(raw);
    const body = json.stream === true && json.stream_options === undefined ? raw.replace('{', '{"stream_options":{"include_usage":true},') : bytes;
    const aborter = new AbortController();
    const onAbort = () => aborter.abort();
    request.signal.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => aborter.abort(), 120000);
    const upstream = await fetch(env.UPSTREAM + rest + url.search, { method: request.method, headers: new Headers(request.headers), body, signal: aborter.signal, redirect: 'manual' });
    clearTimeout(timer);
    if (upstream.body === null) return upstream;
    const reader = upstream.body.getReader();
    const stream = new ReadableStream(
      {
        async pull(controller) {
          const { done, value } = await reader.read();
          if (done) {
            request.signal.removeEventListener('abort', onAbort);
            controller.close();
          } else controller.enqueue(value);
        },
        cancel(reason) {
          return reader.cancel(reason);
        },
      },
      { highWaterMark: 1 },
    );
    return new Response(stream, upstream);
  },
};
