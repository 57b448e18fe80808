import { NotFoundError, streamCategory } from '@tidemark/core';
import type { FastifyInstance } from 'fastify';
import type { DashboardOptions } from './dashboardOptions.js';
import { asOfFrom, eventQueryFrom, streamQueryFrom } from './queryParams.js';

type Params = Record<string, string>;

/** The event browser's API: the log, one event, its chain, the streams, a stream's state as of a version or time. */
export function eventRoutes(app: FastifyInstance, options: Pick<DashboardOptions, 'store' | 'browser' | 'deciders'>): void {
  const { store, browser } = options;
  const deciders = new Map((options.deciders ?? []).map((decider) => [decider.category, decider]));

  app.get('/api/events', async (request) => browser.listEvents(eventQueryFrom(request.query as Record<string, unknown>)));

  app.get('/api/events/:id', async (request) => {
    const { id } = request.params as Params;
    const event = await browser.getEvent(id as string);
    if (!event) throw new NotFoundError(`No event has the id ${JSON.stringify(id)}`, { eventId: id });
    return { event };
  });

  app.get('/api/events/:id/chain', async (request) => {
    const { id } = request.params as Params;
    const chain = await browser.getChain(id as string);
    if (!chain) throw new NotFoundError(`No event has the id ${JSON.stringify(id)}`, { eventId: id });
    return chain;
  });

  app.get('/api/streams', async (request) => browser.listStreams(streamQueryFrom(request.query as Record<string, unknown>)));

  app.get('/api/streams/:id/state', async (request) => {
    const { id: streamId } = request.params as Params as { id: string };
    const at = asOfFrom(request.query as Record<string, unknown>);
    const category = streamCategory(streamId);
    const decider = deciders.get(category);
    if (!decider) {
      throw new NotFoundError(`No decider is registered for the category '${category}'`, { category, registered: [...deciders.keys()] });
    }
    const { state, version, exists } = await store.aggregateStream(streamId, decider.evolver, at);
    return { streamId, category, ...at, version, exists, state };
  });
}
