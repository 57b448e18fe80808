import pg from 'pg';
import { pino } from 'pino';
import { ConfigError, loadConfig } from './config.js';
import { createShop, type Shop, ShopStartError } from './createShop.js';
import { oneLine } from './shared/oneLine.js';
import { startTracing } from './tracing/startTracing.js';

/** One line naming the setting, and no stack: a wrong setting is the operator's to fix, not our bug. */
function failStart(message: string): never {
  process.stderr.write(`shop: ${message}\n`);
  process.exit(1);
}

/** Node's codes for a server never reached: the store's "connection was lost" would mislead. */
const notConnected: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'the host name could not be resolved now',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'timed out',
};

/**
 * Why the DATABASE_URL server cannot be reached at all ("cannot connect to host:port/database:
 * connection refused"), or undefined when it can (the store's failure was something else: its message
 * stands). Asked only after opening the store failed; never the URL itself (it may hold a password).
 */
async function unreachable(url: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on('error', () => {});
  try {
    await client.connect();
    return undefined;
  } catch (error) {
    const errors = error instanceof AggregateError ? [error, ...error.errors] : [error];
    const code = errors
      .map((one) => (one as { code?: unknown }).code)
      .find((one): one is string => typeof one === 'string' && one in notConnected);
    if (!code) return undefined;
    let where = 'the server';
    try {
      const parsed = new URL(url);
      // host:port/database, as the store's own message names it: never the user or password.
      where = `${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}`;
    } catch {}
    return `cannot connect to ${where}: ${notConnected[code]} (${code}); is PostgreSQL running there?`;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * The shop server: configuration from the environment (DESIGN.md §8), events in
 * `${DATA_DIR}/shop.db` (or PostgreSQL with DATABASE_URL), the read models projected in the
 * background. Nothing is seeded: a fresh data directory is an empty shop.
 */
async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    failStart(error.message);
  }

  const logger = pino({ level: config.logLevel, base: { service: 'shop' } });
  // Before the shop: its spans go to the collector from the first request on.
  const stopTracing = startTracing(config.otlpEndpoint);
  let shop: Shop;
  try {
    shop = await createShop({ config, logger });
  } catch (error) {
    if (!(error instanceof ShopStartError)) throw error;
    const cannotConnect = error.setting === 'DATABASE_URL' && config.database ? await unreachable(config.database.url) : undefined;
    failStart(cannotConnect ? `Cannot open DATABASE_URL: ${cannotConnect}` : error.message);
  }

  let closing = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    // SIGTERM then SIGINT must not start a second, racing shutdown (a repeat of the same signal
    // gets the default handler back, so a stuck shutdown can still be interrupted).
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down');
    try {
      await shop.close(); // requests, then projectors, then cache and store, in that order
      await stopTracing(); // flushes the spans still buffered
      logger.info('stopped');
      logger.flush();
      process.exitCode = 0;
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      process.exitCode = 1;
    }
  };
  process.once('SIGINT', (signal) => void shutdown(signal));
  process.once('SIGTERM', (signal) => void shutdown(signal));

  // Projectors first: a query arriving as soon as we listen can already wait on them.
  await shop.start();
  try {
    await shop.app.listen({ port: config.port, host: config.host });
  } catch (error) {
    await shop.close();
    failStart(`Cannot listen on HOST ${JSON.stringify(config.host)} PORT ${config.port}: ${oneLine(error)}`);
  }
  const address = shop.app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  logger.info(
    { url: `http://${host}:${port}`, store: shop.location, cache: config.redisUrl ? 'redis' : 'none' },
    `shop listening on http://${host}:${port}`,
  );
}

await main();
