import { z } from 'zod';
import { withoutPassword } from './shared/withoutPassword.js';

/** DESIGN.md §8: every setting has a default that works on a fresh machine. */
export interface ShopConfig {
  port: number;
  host: string;
  dataDir: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** PostgreSQL instead of the SQLite file: events, checkpoints and read models. */
  database?: { url: string; schema: string };
  /** Redis cache-aside in front of the account balances. */
  redisUrl?: string;
  /** NATS JetStream: the public integration messages are published there (a relay on the log). */
  natsUrl?: string;
  /** RabbitMQ: the mail notifications go through a work queue there instead of in-process. */
  rabbitmqUrl?: string;
  /** Names on the brokers: the JetStream stream (upper-cased), its subjects' prefix, the RabbitMQ exchange and queues. */
  messagingPrefix: string;
  /** OTLP/HTTP collector: spans are exported there (the exporter reads the other OTEL_* settings itself). */
  otlpEndpoint?: string;
  /** Bearer token of the dashboard's actions (rebuild, retry, skip); without it they are refused. */
  dashboardToken?: string;
}

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

// Empty strings count as unset: `PORT= npm start` should mean the default, not an error.
const unsetIfEmpty = (value: unknown) => (value === '' ? undefined : value);

const envSchema = z.object({
  PORT: z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .regex(/^\d{1,5}$/, 'must be a whole number from 0 to 65535 (0 picks a free port)')
      .transform(Number)
      .refine((port) => port <= 65535, 'must be a whole number from 0 to 65535 (0 picks a free port)')
      .default(3000),
  ),
  HOST: z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .regex(/^[A-Za-z0-9.:[\]-]+$/, 'must be a host name or an IP address')
      .default('127.0.0.1'),
  ),
  DATA_DIR: z.preprocess(unsetIfEmpty, z.string().default('./data')),
  DATABASE_URL: z.preprocess(
    unsetIfEmpty,
    z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// or postgresql:// URL' }).optional(),
  ),
  // The store's schema is also the search_path of the read-model and checkpoint tables.
  DATABASE_SCHEMA: z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a PostgreSQL schema name: lower-case letters, digits and _, at most 63')
      .default('shop'),
  ),
  REDIS_URL: z.preprocess(unsetIfEmpty, z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional()),
  NATS_URL: z.preprocess(unsetIfEmpty, z.url({ protocol: /^(nats|tls)$/, error: 'must be a nats:// or tls:// URL' }).optional()),
  RABBITMQ_URL: z.preprocess(unsetIfEmpty, z.url({ protocol: /^amqps?$/, error: 'must be an amqp:// or amqps:// URL' }).optional()),
  MESSAGING_PREFIX: z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .regex(/^[a-z][a-z0-9_]{0,31}$/, 'must be lower-case letters, digits and _, starting with a letter, at most 32')
      .default('shop'),
  ),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.preprocess(
    unsetIfEmpty,
    z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL (an OTLP/HTTP collector)' }).optional(),
  ),
  DASHBOARD_TOKEN: z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .regex(/^[\x21-\x7e]{16,256}$/, 'must be 16 to 256 printable characters without spaces (e.g. openssl rand -hex 32)')
      .optional(),
  ),
  LOG_LEVEL: z.preprocess(
    (value) => (typeof value === 'string' ? unsetIfEmpty(value.toLowerCase()) : value),
    z.enum(logLevels, { error: `must be one of ${logLevels.join(', ')}` }).default('info'),
  ),
});

/** A configuration the server must not start with; its message is one line naming the setting. */
export class ConfigError extends Error {
  readonly setting: string;

  constructor(setting: string, message: string) {
    super(message);
    this.name = 'ConfigError';
    this.setting = setting;
  }
}

/** Reads the shop's settings from the environment; throws ConfigError on the first wrong value. */
export function loadConfig(env: Record<string, string | undefined> = process.env): ShopConfig {
  const parsed = envSchema.safeParse({
    PORT: env.PORT,
    HOST: env.HOST,
    DATA_DIR: env.DATA_DIR,
    DATABASE_URL: env.DATABASE_URL,
    DATABASE_SCHEMA: env.DATABASE_SCHEMA,
    REDIS_URL: env.REDIS_URL,
    LOG_LEVEL: env.LOG_LEVEL,
    NATS_URL: env.NATS_URL,
    RABBITMQ_URL: env.RABBITMQ_URL,
    MESSAGING_PREFIX: env.MESSAGING_PREFIX,
    OTEL_EXPORTER_OTLP_ENDPOINT: env.OTEL_EXPORTER_OTLP_ENDPOINT,
    DASHBOARD_TOKEN: env.DASHBOARD_TOKEN,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const setting = String(issue?.path[0] ?? 'configuration');
    const given = env[setting];
    throw new ConfigError(
      setting,
      // A token is a secret: never echoed, even when refused.
      `Invalid ${setting}${given === undefined || setting === 'DASHBOARD_TOKEN' ? '' : ` ${JSON.stringify(withoutPassword(given))}`}: ${issue?.message ?? 'invalid value'}`,
    );
  }
  const {
    PORT,
    HOST,
    DATA_DIR,
    DATABASE_URL,
    DATABASE_SCHEMA,
    REDIS_URL,
    LOG_LEVEL,
    NATS_URL,
    RABBITMQ_URL,
    MESSAGING_PREFIX,
    OTEL_EXPORTER_OTLP_ENDPOINT,
    DASHBOARD_TOKEN,
  } = parsed.data;
  return {
    port: PORT,
    host: HOST,
    dataDir: DATA_DIR,
    logLevel: LOG_LEVEL,
    ...(DATABASE_URL && { database: { url: DATABASE_URL, schema: DATABASE_SCHEMA } }),
    ...(REDIS_URL && { redisUrl: REDIS_URL }),
    ...(NATS_URL && { natsUrl: NATS_URL }),
    ...(RABBITMQ_URL && { rabbitmqUrl: RABBITMQ_URL }),
    messagingPrefix: MESSAGING_PREFIX,
    ...(OTEL_EXPORTER_OTLP_ENDPOINT && { otlpEndpoint: OTEL_EXPORTER_OTLP_ENDPOINT }),
    ...(DASHBOARD_TOKEN && { dashboardToken: DASHBOARD_TOKEN }),
  };
}
