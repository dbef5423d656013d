// Per-route SLA aggregation: pure modules that Durable Objects drive with `now`.
export * from './alerts';
export * from './config';
export * from './evaluate';
export * from './sketch';
export * from './store';
export * from './window';
