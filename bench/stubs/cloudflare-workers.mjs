// `npm run bench:micro` runs in Node: otel-cf-workers imports `DurableObject` from `cloudflare:workers` (for its DO
// instrumentation, which the micro-benchmarks never use); this stands in for it.
export class DurableObject {}
