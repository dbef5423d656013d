import { createGateway } from './app';

export { RouteStats } from '../durable-objects/route-stats';
export { SlaRegistry } from '../durable-objects/registry';

const gateway = createGateway();

export default {
  fetch: gateway.fetch,
} satisfies ExportedHandler<Env>;
