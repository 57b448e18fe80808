import { maxPosition, NotFoundError, type OutboxRelay, type ProjectionLagMonitor, type Projector, parsePosition } from '@tidemark/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ShopReadModels } from '../readModels/shopReadModels.js';
import { idParams, idSchema } from './httpSchemas.js';

export interface ReadModelRoutesOptions {
  readModels: ShopReadModels;
  /** Measures every projector's lag for GET /projections. */
  lag: ProjectionLagMonitor;
  /** How long a list waits for the read model to reach `minPosition`. Default 2000 ms. */
  readYourWritesTimeoutMs?: number;
  /** Message consumers that follow the log (the mailer): shown beside the projections, with their lag. */
  consumers?: readonly Projector[];
  /** Relays to a broker: shown with their backlog. */
  relays?: readonly OutboxRelay[];
}

// PostgreSQL positions are sparse and large (past 2^53 on an old cluster): decimal text of any
// size a position can have, a bigint once parsed.
const position = z.string().transform((value, ctx) => {
  const parsed = parsePosition(value);
  if (parsed === undefined) ctx.addIssue({ code: 'custom', message: 'must be a global position: a whole number ≥ 0' });
  return parsed ?? z.NEVER;
});
const minPositionQuery = z.object({ minPosition: position.optional() });
const minPositionHeader = z.object({ 'x-min-position': position.optional() });

const wholeNumber = (max: number) =>
  z
    .string()
    .regex(/^\d{1,6}$/, `must be a whole number from 1 to ${max}`)
    .transform(Number)
    .refine((n) => n >= 1 && n <= max, `must be a whole number from 1 to ${max}`);
const customerOrdersQuery = minPositionQuery.extend({
  page: wholeNumber(100_000).default(1),
  pageSize: wholeNumber(100).default(20),
});

// A day the calendar does not have (2025-02-30) is a 400, not an empty answer.
const day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, { message: 'must be a day as YYYY-MM-DD', abort: true })
  .refine((value) => {
    const parsed = Date.parse(`${value}T00:00:00Z`);
    return !Number.isNaN(parsed) && new Date(parsed).toISOString().startsWith(value);
  }, 'is not a calendar day');
const dayMs = 86_400_000;
const firstDayMs = Date.parse('0000-01-01T00:00:00Z');
const maxDays = 366;
const dailyOrdersQuery = minPositionQuery
  .extend({ from: day.optional(), to: day.optional() })
  .transform(({ from, to, minPosition }) => {
    const end = to ?? new Date().toISOString().slice(0, 10);
    // 29 days before `to`, but not before the first day a YYYY-MM-DD can name: before 0000-01-01
    // toISOString gives an expanded year ("-000001-12-03"), which sliced is no day at all.
    const start = from ?? new Date(Math.max(Date.parse(end) - 29 * dayMs, firstDayMs)).toISOString().slice(0, 10);
    return { from: start, to: end, minPosition };
  })
  .refine(({ from, to }) => from <= to, { message: 'must not be after to', path: ['from'] })
  .refine(({ from, to }) => (Date.parse(to) - Date.parse(from)) / dayMs < maxDays, {
    message: `from..to spans at most ${maxDays} days`,
    path: ['from'],
  });

/**
 * `?minPosition=` or `x-min-position`: the position a command returned. Both are accepted
 * because a query string is easy in a browser and a header is easy in a client library; when
 * both are given, the later position wins.
 */
function minPositionOf(request: FastifyRequest, fromQuery: bigint | undefined): bigint | undefined {
  const fromHeader = minPositionHeader.parse(request.headers)['x-min-position'];
  if (fromQuery === undefined) return fromHeader;
  return fromHeader === undefined ? fromQuery : maxPosition(fromQuery, fromHeader);
}

/**
 * The query side over the read models. Lists have no event-sourced fallback (a customer's
 * orders span many streams), so with a `minPosition` they wait for their projector and say
 * whether it got there (`caughtUp`); a single account falls back to its events instead.
 */
export function readModelRoutes(app: FastifyInstance, options: ReadModelRoutesOptions): void {
  const { readModels, lag, consumers, relays } = options;
  const timeoutMs = options.readYourWritesTimeoutMs ?? 2000;
  const projector = (name: string) => {
    const found = readModels.projectors.find((p) => p.name === name);
    if (!found) throw new Error(`No projector named ${name}`);
    return found;
  };
  const orderList = projector('shop.order_list');
  const dailyStats = projector('shop.daily_order_stats');
  const caughtUp = async (minPosition: bigint | undefined, which: typeof orderList) =>
    minPosition === undefined ? {} : { caughtUp: await which.waitForPosition(minPosition, { timeoutMs }) };

  app.get('/customers/:customerId/orders', async (request) => {
    const { customerId } = z.object({ customerId: idSchema }).parse(request.params);
    const { page, pageSize, minPosition: fromQuery } = customerOrdersQuery.parse(request.query);
    const waited = await caughtUp(minPositionOf(request, fromQuery), orderList);
    const orders = await readModels.customerOrders(customerId, { page, pageSize });
    return { customerId, page, pageSize, orders, source: 'read-model', ...waited };
  });

  app.get('/analytics/daily-orders', async (request) => {
    const { from, to, minPosition: fromQuery } = dailyOrdersQuery.parse(request.query);
    const waited = await caughtUp(minPositionOf(request, fromQuery), dailyStats);
    const days = await readModels.dailyStats(from, to);
    const totals = days.reduce(
      (sum, d) => ({
        orderCount: sum.orderCount + d.orderCount,
        totalValue: sum.totalValue + BigInt(d.totalValue),
        cancelledCount: sum.cancelledCount + d.cancelledCount,
      }),
      { orderCount: 0, totalValue: 0n, cancelledCount: 0 },
    );
    // Money summed over many orders is a decimal string, exact past 2^53 (see DailyOrderStats).
    return { from, to, days, totals: { ...totals, totalValue: totals.totalValue.toString() }, source: 'read-model', ...waited };
  });

  app.get('/accounts/:id/balance', async (request) => {
    const { id } = idParams.parse(request.params);
    const minPosition = minPositionOf(request, minPositionQuery.parse(request.query).minPosition);
    const { view, source } = await readModels.accounts.get(id, minPosition === undefined ? {} : { minPosition });
    if (!view) throw new NotFoundError(`Bank account '${id}' does not exist`, { accountId: id });
    return { ...view, source };
  });

  app.get('/projections', async () => {
    const measuredAll = await lag.measure();
    const lags = new Map(measuredAll.map((l) => [l.name, l]));
    const first = measuredAll[0];
    return {
      // Cluster-wide on PostgreSQL: a transaction open this long keeps every reader behind it.
      readableHorizon: first ? { ageSeconds: first.horizonAgeSeconds, invisibleEvents: first.invisibleEvents } : null,
      projections: readModels.projectors.map((p) => view(p)),
      consumers: (consumers ?? []).map((p) => view(p)),
      relays: (relays ?? []).map((relay) => {
        const { name, state, published, failures, lastError, backlog, oldestUnpublishedAt } = relay.status();
        return {
          name,
          state,
          published,
          failures,
          backlog: backlog ?? null,
          oldestUnpublishedAt: oldestUnpublishedAt ?? null,
          lastError: lastError ?? null,
        };
      }),
    };
    function view(p: Projector) {
      const { name, checkpoint, state, error, lastError, eventsProcessed, eventsParked } = p.status();
      const measured = lags.get(name);
      return {
        name,
        state,
        checkpoint,
        eventsProcessed,
        eventsParked,
        lag: measured
          ? {
              events: measured.eventsBehind,
              invisibleEvents: measured.invisibleEvents,
              exact: measured.exact,
              seconds: measured.secondsBehind,
              head: measured.head,
            }
          : null,
        error: error ?? null,
        lastError: lastError ?? null,
      };
    }
  });
}
