import { type StoreTransaction, stringifyWithPositions } from '@tidemark/core';
import type { FastifyInstance } from 'fastify';
import { assetRoutes } from './assetRoutes.js';
import { toDashboardError } from './dashboardHttpError.js';
import type { DashboardOptions } from './dashboardOptions.js';
import { eventRoutes } from './eventRoutes.js';
import { startHealthSampler } from './healthSampler.js';
import { liveRoutes } from './liveRoutes.js';
import { messagingRoutes } from './messagingRoutes.js';
import { createProjectionOverview } from './projectionOverview.js';
import { projectionRoutes } from './projectionRoutes.js';
import { createRebuildRunner } from './rebuildRunner.js';
import { requireToken } from './requireToken.js';

/**
 * The dashboard as a fastify plugin: `app.register(dashboardPlugin, { prefix: '/ops', store,
 * browser, … })`, or no prefix to serve it at `/`. The page is at the prefix, its JSON API
 * under `api/`, its files under `assets/`. Registered without fastify-plugin on purpose: its
 * error handler and serializer stay inside, and leave the application's own routes alone.
 */
export async function dashboardPlugin<Tx extends StoreTransaction>(app: FastifyInstance, options: DashboardOptions<Tx>): Promise<void> {
  const projections = options.projections ?? [];
  const relayNames = (options.relays ?? []).map((relay) => relay.name);
  const consumerNames = (options.consumers ?? []).map((consumer) => consumer.name);
  const overview = createProjectionOverview({
    store: options.store,
    checkpoints: options.checkpoints,
    projectors: [...(options.projectors ?? []), ...(options.consumers ?? [])],
    projections,
  });
  const rebuilds = createRebuildRunner({ store: options.store, checkpoints: options.checkpoints, swap: options.swap, projections });
  const health = startHealthSampler({
    store: options.store,
    browser: options.browser,
    overview: () => overview(),
    consistency: options.consistency ?? [],
    consistencyIntervalMs: options.consistencyIntervalMs ?? 5 * 60_000,
    intervalMs: options.healthIntervalMs ?? 2000,
    keep: options.healthSamples ?? 300,
    onError: (error) => app.log.warn({ err: error }, 'dashboard health sample failed'),
  });
  app.addHook('onClose', async () => {
    await health.stop();
    await rebuilds.close();
  });

  // Positions pass 2^53: decimal strings in JSON, as everywhere in tidemark's HTTP.
  app.setReplySerializer((payload) => stringifyWithPositions(payload));
  app.setErrorHandler((error, request, reply) => {
    const { statusCode, body } = toDashboardError(error);
    if (statusCode >= 500) request.log.error({ err: error }, 'dashboard request failed');
    return reply.code(statusCode).send(body);
  });

  const guard = requireToken(options.token);
  app.get('/api/info', async () => ({
    title: options.title ?? 'tidemark',
    actionsEnabled: options.token !== undefined && options.token !== '',
    deciders: (options.deciders ?? []).map((decider) => decider.category),
    rebuildable: rebuilds.rebuildable,
  }));
  eventRoutes(app, options);
  projectionRoutes(app, options, { overview, rebuilds, messagingNames: new Set([...relayNames, ...consumerNames]), guard });
  messagingRoutes(app, options, overview);
  liveRoutes(app, health, rebuilds);
  assetRoutes(app, app.prefix);
}
