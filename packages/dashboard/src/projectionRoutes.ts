import { NotFoundError, retryFailedEvent, type StoreTransaction, skipFailedEvent, ValidationError } from '@tidemark/core';
import type { FastifyInstance, preHandlerAsyncHookHandler } from 'fastify';
import type { DashboardOptions } from './dashboardOptions.js';
import type { ProjectionView } from './projectionOverview.js';
import { positionParam } from './queryParams.js';
import type { RebuildRunner } from './rebuildRunner.js';

type Params = Record<string, string>;

/** The projections page's API: status and lag, failed and parked events, and the actions on them. */
export function projectionRoutes<Tx extends StoreTransaction>(
  app: FastifyInstance,
  options: DashboardOptions<Tx>,
  parts: {
    overview: (names?: ReadonlySet<string>) => Promise<ProjectionView[]>;
    rebuilds: RebuildRunner;
    /** Names shown on the messaging page instead (consumers, relays): not projections. */
    messagingNames: ReadonlySet<string>;
    guard: preHandlerAsyncHookHandler;
  },
): void {
  const { store, checkpoints } = options;
  const { rebuilds, guard } = parts;
  const definitions = new Map((options.projections ?? []).map((p) => [p.name, p]));

  app.get('/api/projections', async () => {
    const views = (await parts.overview()).filter((view) => !parts.messagingNames.has(view.name));
    return {
      projections: views.map((view) => ({
        ...view,
        rebuildable: rebuilds.rebuildable.includes(view.name),
        ...(rebuilds.status(view.name) && { rebuild: rebuilds.status(view.name) }),
      })),
    };
  });

  app.post('/api/projections/:name/rebuild', { preHandler: guard }, async (request, reply) => {
    const { name } = request.params as Params as { name: string };
    return reply.code(202).send({ rebuild: rebuilds.start(name) });
  });

  app.get('/api/projections/:name/rebuild', async (request) => {
    const { name } = request.params as Params as { name: string };
    const status = rebuilds.status(name);
    if (!status) throw new NotFoundError(`Projection '${name}' has not been rebuilt by this process`, { projection: name });
    return { rebuild: status };
  });

  const target = (params: Params) => {
    if (!checkpoints) throw new ValidationError('The dashboard was given no checkpoint store', { field: 'checkpoints' });
    return { store, checkpoints, name: params.name as string, position: positionParam(params.position as string) };
  };

  app.post('/api/projections/:name/failed/:position/retry', { preHandler: guard }, async (request) => {
    const params = request.params as Params;
    const projection = definitions.get(params.name as string);
    return { retried: await retryFailedEvent({ ...target(params), ...(projection && { projection }) }) };
  });

  app.post('/api/projections/:name/failed/:position/skip', { preHandler: guard }, async (request) => ({
    skipped: await skipFailedEvent(target(request.params as Params)),
  }));
}
