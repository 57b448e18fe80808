import type { FastifyInstance } from 'fastify';
import type { DashboardOptions } from './dashboardOptions.js';
import type { ProjectionView } from './projectionOverview.js';

/**
 * The messaging page's API: what waits to leave (relays' backlog and oldest message, outbox
 * tables), the consumers following the log with their lag, and their dead letters (parked
 * events, retried or skipped through the projections actions).
 */
export function messagingRoutes(
  app: FastifyInstance,
  options: Pick<DashboardOptions, 'relays' | 'outboxes' | 'consumers'>,
  overview: (names?: ReadonlySet<string>) => Promise<ProjectionView[]>,
): void {
  const consumerNames = new Set((options.consumers ?? []).map((consumer) => consumer.name));
  app.get('/api/messaging', async () => {
    const consumers = consumerNames.size > 0 ? await overview(consumerNames) : [];
    const outboxes = await Promise.all((options.outboxes ?? []).map(async (outbox) => ({ name: outbox.name, ...(await outbox.stats()) })));
    return {
      relays: (options.relays ?? []).map((relay) => relay.status()),
      outboxes,
      consumers,
      deadLetters: consumers.flatMap((consumer) => consumer.failed),
    };
  });
}
