import { ValidationError } from '@tidemark/core';
import {
  createPostgresCheckpointStore,
  createPostgresEventBrowser,
  createPostgresEventStore,
  type PostgresTransaction,
} from '@tidemark/postgres';
import {
  assertSqliteStoreFile,
  createSqliteCheckpointStore,
  createSqliteEventBrowser,
  createSqliteEventStore,
  type SqliteTransaction,
} from '@tidemark/sqlite';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { errorBody } from './dashboardHttpError.js';
import type { DashboardOptions } from './dashboardOptions.js';
import { dashboardPlugin } from './dashboardPlugin.js';

export interface ServeDashboardOptions {
  /** A SQLite store file; or `postgres`. */
  sqlite?: string;
  /** A PostgreSQL URL; or `sqlite`. */
  postgres?: string;
  /** The PostgreSQL schema of the store. Default 'tidemark'. */
  schema?: string;
  /** Default 3000; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1: the read-only pages are open to whoever reaches the port. */
  host?: string;
  /** Enables actions (rebuild needs the projections, so a standalone dashboard can retry and skip). */
  token?: string | undefined;
  /** A pino logger; silent when absent. */
  logger?: FastifyBaseLogger;
  /** Passed through to the plugin (deciders, title, health sampling). */
  dashboard?: Pick<DashboardOptions, 'deciders' | 'title' | 'healthIntervalMs'>;
}

export interface ServedDashboard {
  /** `http://host:port/`. */
  url: string;
  app: FastifyInstance;
  /** Closes the server, then the store. */
  close(): Promise<void>;
}

type Extra = Omit<DashboardOptions, 'store' | 'browser' | 'checkpoints'>;

/** The store of the options, and how to mount the plugin on it (each adapter with its own transaction type). */
async function open(
  options: ServeDashboardOptions,
): Promise<{ mount(app: FastifyInstance, extra: Extra): Promise<void>; close(): Promise<void> }> {
  if ((options.sqlite === undefined) === (options.postgres === undefined)) {
    throw new ValidationError('serveDashboard needs exactly one of sqlite (a file) and postgres (a URL)', { field: 'sqlite' });
  }
  if (options.postgres !== undefined) {
    // An operator's tool: a mistyped schema is refused (StoreNotFoundError), never created, and a
    // store behind this code is refused (SchemaBehindError), never upgraded under its application.
    const store = await createPostgresEventStore({
      url: options.postgres,
      ...(options.schema !== undefined && { schema: options.schema }),
      createSchema: false,
      migrate: false,
    });
    return {
      mount: async (app, extra) => {
        await app.register(dashboardPlugin<PostgresTransaction>, {
          ...extra,
          store,
          browser: createPostgresEventBrowser(store),
          checkpoints: createPostgresCheckpointStore(),
        });
      },
      close: () => store.close(),
    };
  }
  // The same for a file: one that holds no store is refused without a write (opening it as a
  // store would make it one), one behind this code is refused rather than migrated.
  assertSqliteStoreFile(options.sqlite as string);
  const store = createSqliteEventStore({ file: options.sqlite as string, migrate: false });
  return {
    mount: async (app, extra) => {
      await app.register(dashboardPlugin<SqliteTransaction>, {
        ...extra,
        store,
        browser: createSqliteEventBrowser(store),
        checkpoints: createSqliteCheckpointStore(),
      });
    },
    close: () => store.close(),
  };
}

/**
 * The dashboard on its own server over a store file or database (what `tidemark dashboard`
 * runs): the event browser, stream listing, checkpoints with their lag, failures and dead
 * letters, and the health charts. Projectors are not run here, so their live state shows as
 * "not running here", and rebuilds (which need the projection's code) are left to the
 * application or `tidemark projections rebuild`.
 */
export async function serveDashboard(options: ServeDashboardOptions): Promise<ServedDashboard> {
  const store = await open(options);
  const app = options.logger ? Fastify({ loggerInstance: options.logger }) : Fastify({ logger: false });
  try {
    app.setNotFoundHandler((request, reply) =>
      reply.code(404).send(errorBody('not_found', `No route for ${request.method} ${request.url.slice(0, 200)}`)),
    );
    await store.mount(app, { ...options.dashboard, ...(options.token !== undefined && { token: options.token }) });
    const host = options.host ?? '127.0.0.1';
    await app.listen({ port: options.port ?? 3000, host });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : options.port;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/`;
    return {
      url,
      app,
      async close() {
        await app.close();
        await store.close();
      },
    };
  } catch (error) {
    await app.close();
    await store.close();
    throw error;
  }
}
