import { createGateway } from './worker/app';

export { RouteStats } from '../durable-objects/route-stats';
export { SlaRegistry } from '../durable-objects/registry';
export { TeamBudgets } from '../durable-objects/team-budgets';

const gateway = createGateway();

export default {
  fetch: gateway.fetch,
} satisfies ExportedHandler<Env>;
