import { ServerUnreachableError } from '@tidemark/core';
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
    // The store's own message names host:port ("cannot connect to PostgreSQL at 127.0.0.1:5432:
    // connection refused"), never the URL's password; the likely fix is the operator's to make.
    failStart(error.cause instanceof ServerUnreachableError ? `${error.message}; is PostgreSQL running there?` : error.message);
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
