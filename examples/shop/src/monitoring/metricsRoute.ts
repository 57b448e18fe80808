import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

export interface MetricsRouteOptions {
  registry: Registry;
  /** Refreshes the gauges that are measured on demand (projection lag) before each scrape. */
  beforeScrape?: () => Promise<unknown>;
}

/**
 * GET /metrics in the Prometheus text format. Measuring the lag on scrape (rather than only on a
 * timer) means the figure Prometheus stores is never older than its own scrape interval; a
 * failed measurement still serves the rest, because a scrape that errors loses every series.
 */
export function registerMetricsRoute(app: FastifyInstance, options: MetricsRouteOptions): void {
  app.get('/metrics', async (request, reply) => {
    if (options.beforeScrape) {
      try {
        await options.beforeScrape();
      } catch (error) {
        request.log.warn({ err: error }, 'metrics refresh failed; serving the last values');
      }
    }
    return reply.type(options.registry.contentType).send(await options.registry.metrics());
  });
}
