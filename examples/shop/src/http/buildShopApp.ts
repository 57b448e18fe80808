import {
  createInMemorySnapshotStore,
  type EventStore,
  type IdempotencyKeyStore,
  type SnapshotStore,
  type StateCache,
  type StoreTransaction,
  stringifyWithPositions,
  ValidationError,
} from '@tidemark/core';
import { type DashboardOptions, dashboardPlugin } from '@tidemark/dashboard';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { MailboxRow } from '../messaging/fakeMailer.js';
import { type MetricsRouteOptions, registerMetricsRoute } from '../monitoring/metricsRoute.js';
import { createShopBuses } from '../shopMessages.js';
import { bankAccountRoutes, type PrepareSubject } from './bankAccountRoutes.js';
import { correlationIdOf } from './correlationIdOf.js';
import { customerRoutes, type ForgetCustomer } from './customerRoutes.js';
import { answerWhatNodeWouldDrop, frameworkErrorOptions, registerBodyTimeout, shortPath } from './frameworkErrorOptions.js';
import { toHttpError } from './httpError.js';
import { idParams } from './httpSchemas.js';
import { inventoryRoutes } from './inventoryRoutes.js';
import { orderRoutes } from './orderRoutes.js';
import { type ReadModelRoutesOptions, readModelRoutes } from './readModelRoutes.js';
import { RequestLogController } from './requestLogController.js';
import { registerRequestTracing } from './requestTracing.js';
import { createShopCommandSender } from './shopCommandSender.js';

export interface ShopAppOptions {
  /** The caller owns the store: closing the app does not close it (main.ts closes both, in order). */
  store: EventStore;
  /** A pino logger; silent when absent (tests). */
  logger?: FastifyBaseLogger;
  /** Largest request body in bytes; larger ones get 413 before they are parsed. Default 1 MiB. */
  bodyLimit?: number;
  /**
   * How long a client may take to send its headers, and then its body, before it gets 408 and its
   * connection closes. Default 30 s. Fastify's default is none: a client that sent its headers and
   * then part of its body, or nothing more, held its connection open for ever (slowloris).
   */
  requestTimeoutMs?: number;
  /** The query side (read models, /projections); without it only the event-sourced reads are served. */
  readSide?: ReadModelRoutesOptions;
  /** GET /metrics. */
  metrics?: MetricsRouteOptions;
  /**
   * Where the write endpoints keep `Idempotency-Key`s: the store's own table, so a command's
   * events and its key commit together. Without it a request with the header is refused (400).
   */
  idempotencyKeys?: IdempotencyKeyStore;
  /**
   * How many keyed commands may hold a store transaction at once; the others queue. On a pooled
   * store, fewer than its connections: the command reads snapshots and keys on other connections
   * of the pool while its transaction holds one. Default: no limit.
   */
  maxIdempotentTransactions?: number;
  /** GET /mailbox/:recipient: what the fake mailer sent, oldest first. */
  mailbox?: (recipient: string) => Promise<MailboxRow[]>;
  /**
   * Where bank accounts keep their snapshots (every 100 events): the store's own table in
   * production (createShop). Default: in memory, for an in-memory store.
   */
  snapshots?: SnapshotStore;
  /** Crypto-shredding of the account owners' personal data: DELETE /customers/:id/personal-data. */
  privacy?: {
    forget: ForgetCustomer;
    prepareSubject: PrepareSubject;
    /** The accounts' decider states between commands, shared so that forgetting can evict them. */
    accountStates: StateCache;
  };
  /** The operator's dashboard, served at `/` (its API under /api, its files under /assets). */
  dashboard?: DashboardOptions<StoreTransaction>;
}

/** The shop's HTTP API over any EventStore, built only on tidemark's public API. */
export function buildShopApp(options: ShopAppOptions): FastifyInstance {
  const requestTimeout = options.requestTimeoutMs ?? 30_000;
  const common = {
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    requestTimeout,
    // Node checks for expired requests this often (its default, 30 s, would let a short timeout run long).
    http: { connectionsCheckingInterval: Math.max(10, Math.min(30_000, Math.ceil(requestTimeout / 4))) },
    ...frameworkErrorOptions(),
    // The request id is the correlation id (the client's x-correlation-id, or a new one): every
    // log line of the request carries it (fastify's request-scoped child logger), and so does
    // every event the request's command appends, so logs and events join on it.
    genReqId: correlationIdOf,
    logController: new RequestLogController({ requestIdLogLabel: 'correlationId' }),
  };
  const app: FastifyInstance = options.logger
    ? Fastify({ loggerInstance: options.logger, ...common })
    : Fastify({ logger: false, ...common });
  answerWhatNodeWouldDrop(app.server);
  const snapshots = options.snapshots ?? createInMemorySnapshotStore();
  const accountStates = options.privacy?.accountStates;
  const buses = createShopBuses(options.store, snapshots, accountStates);
  const routeBuses = {
    commands: createShopCommandSender(options.store, buses.commands, options.idempotencyKeys, snapshots, options.maxIdempotentTransactions),
    queries: buses.queries,
  };

  // Many clients send `content-type: application/json` with an empty body on body-less commands
  // (place, cancel, close); treat that as no body instead of a 400. Everything else goes through
  // fastify's own parser, which keeps its __proto__/constructor poisoning checks. The bytes are
  // decoded strictly: a decoder that replaced invalid UTF-8 with U+FFFD would store text the
  // client never sent, and make different bodies the same request for an Idempotency-Key.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    let text: string;
    try {
      text = utf8.decode(body as Buffer);
    } catch {
      return done(new ValidationError('The request body is not valid UTF-8', { field: 'body' }), undefined);
    }
    if (text === '') return done(null, undefined);
    return parseJson(request, text, done);
  });

  // Positions are bigints, which JSON.stringify refuses: they go out as decimal strings (they
  // pass 2^53, which a JSON number in a browser cannot hold exactly).
  app.setReplySerializer((payload) => stringifyWithPositions(payload));
  // A callback, not an async hook: it runs on every response, and an async hook costs a promise.
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-correlation-id', request.id);
    done(null, payload);
  });
  registerRequestTracing(app);
  registerBodyTimeout(app, requestTimeout);

  // The one place where errors become HTTP: typed errors by code, zod by shape, fastify's own by status.
  app.setErrorHandler((error, request, reply) => {
    const { statusCode, body, headers } = toHttpError(error);
    if (statusCode >= 500) request.log.error({ err: error }, 'request failed');
    return reply
      .code(statusCode)
      .headers(headers ?? {})
      .send(body);
  });
  // Also what an unsupported method on a known path gets. The path is shown shortened: it is the client's, of any length.
  app.setNotFoundHandler((request, reply) => {
    const path = shortPath(request.url);
    return reply
      .code(404)
      .send({ error: { code: 'not_found', message: `No route for ${request.method} ${path}`, details: { method: request.method, path } } });
  });

  app.get('/health', async () => ({ status: 'ok', headPosition: await options.store.headPosition() }));
  bankAccountRoutes(app, routeBuses, options.privacy?.prepareSubject);
  if (options.privacy) customerRoutes(app, options.privacy.forget);
  orderRoutes(app, routeBuses);
  inventoryRoutes(app, routeBuses);
  if (options.readSide) readModelRoutes(app, options.readSide);
  if (options.metrics) registerMetricsRoute(app, options.metrics);
  const { mailbox } = options;
  if (mailbox) {
    app.get('/mailbox/:id', async (request) => {
      const { id } = idParams.parse(request.params);
      return { mails: await mailbox(id) };
    });
  }
  // Encapsulated (no fastify-plugin): its error handler and routes stay its own; loaded before listen.
  if (options.dashboard) void app.register(dashboardPlugin, options.dashboard);
  return app;
}
