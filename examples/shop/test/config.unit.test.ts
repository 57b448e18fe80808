import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

function configErrorOf(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('shop configuration', () => {
  it('has defaults that work on a fresh machine', () => {
    expect(loadConfig({})).toEqual({ port: 3000, host: '127.0.0.1', dataDir: './data', logLevel: 'info', messagingPrefix: 'shop' });
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ PORT: '', HOST: '', DATA_DIR: '', LOG_LEVEL: '', NATS_URL: '', RABBITMQ_URL: '', MESSAGING_PREFIX: '' })).toEqual(
      loadConfig({}),
    );
  });

  it('reads every setting', () => {
    expect(loadConfig({ PORT: '8080', HOST: '0.0.0.0', DATA_DIR: '/var/lib/shop', LOG_LEVEL: 'DEBUG' })).toEqual({
      port: 8080,
      host: '0.0.0.0',
      dataDir: '/var/lib/shop',
      logLevel: 'debug',
      messagingPrefix: 'shop',
    });
    expect(loadConfig({ PORT: '0' }).port).toBe(0);
    expect(loadConfig({ PORT: '65535' }).port).toBe(65535);
    expect(loadConfig({ HOST: '::1' }).host).toBe('::1');
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '-1'],
    ['PORT', '65536'],
    ['PORT', '80.5'],
    ['PORT', ' 80'],
    ['HOST', 'local host'],
    ['LOG_LEVEL', 'loud'],
  ])('rejects %s=%j with one line naming the setting', (setting, value) => {
    const error = configErrorOf({ [setting]: value });
    expect(error.setting).toBe(setting);
    expect(error.message).toContain(setting);
    expect(error.message).toContain(JSON.stringify(value));
    expect(error.message).not.toContain('\n');
  });

  it('switches to PostgreSQL and Redis only when their URLs are given', () => {
    expect(loadConfig({ DATABASE_URL: '', REDIS_URL: '', DATABASE_SCHEMA: '' })).toEqual(loadConfig({}));
    expect(loadConfig({ DATABASE_URL: 'postgres://shop@db:5432/shop', REDIS_URL: 'redis://cache:6379' })).toMatchObject({
      database: { url: 'postgres://shop@db:5432/shop', schema: 'shop' },
      redisUrl: 'redis://cache:6379',
    });
    expect(loadConfig({ DATABASE_URL: 'postgresql://db/shop', DATABASE_SCHEMA: 'shop_eu_1' }).database).toEqual({
      url: 'postgresql://db/shop',
      schema: 'shop_eu_1',
    });
    // A schema without a database is not an error: it only matters once DATABASE_URL is set.
    expect(loadConfig({ DATABASE_SCHEMA: 'other' }).database).toBeUndefined();
  });

  it('switches the messages to NATS JetStream and RabbitMQ only when their URLs are given', () => {
    expect(
      loadConfig({ NATS_URL: 'nats://broker:4222', RABBITMQ_URL: 'amqp://guest:guest@mq:5672', MESSAGING_PREFIX: 'shop_eu' }),
    ).toMatchObject({
      natsUrl: 'nats://broker:4222',
      rabbitmqUrl: 'amqp://guest:guest@mq:5672',
      messagingPrefix: 'shop_eu',
    });
    expect(loadConfig({})).not.toHaveProperty('natsUrl');
    expect(loadConfig({})).not.toHaveProperty('rabbitmqUrl');
  });

  it('exports spans only when an OTLP endpoint is given', () => {
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).otlpEndpoint).toBe('http://collector:4318');
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: '' })).not.toHaveProperty('otlpEndpoint');
  });

  it.each([
    ['DATABASE_URL', 'mysql://db/shop'],
    ['DATABASE_URL', 'not a url'],
    ['DATABASE_SCHEMA', 'Shop-EU'],
    ['DATABASE_SCHEMA', 'x'.repeat(64)],
    ['REDIS_URL', 'http://cache:6379'],
    ['NATS_URL', 'http://broker:4222'],
    ['RABBITMQ_URL', 'nats://mq:5672'],
    ['MESSAGING_PREFIX', 'Shop.EU'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'grpc://collector:4317'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'collector:4318'],
  ])('rejects %s=%j with one line naming the setting', (setting, value) => {
    const error = configErrorOf({ [setting]: value });
    expect(error.setting).toBe(setting);
    expect(error.message).toContain(`Invalid ${setting} ${JSON.stringify(value)}`);
    expect(error.message).not.toContain('\n');
  });

  it('does not repeat a password from a wrong URL', () => {
    const error = configErrorOf({ DATABASE_URL: 'mysql://shop:s3cret@db/shop' });
    expect(error.message).toContain('"mysql://shop:***@db/shop"');
    expect(error.message).not.toContain('s3cret');
  });

  it('takes a dashboard token of 16 or more printable characters, and never repeats a refused one', () => {
    expect(loadConfig({})).not.toHaveProperty('dashboardToken');
    expect(loadConfig({ DASHBOARD_TOKEN: 'f'.repeat(64) }).dashboardToken).toBe('f'.repeat(64));
    for (const token of ['too-short', 'has a space in the middle', 'x'.repeat(257)]) {
      const error = configErrorOf({ DASHBOARD_TOKEN: token });
      expect(error.setting).toBe('DASHBOARD_TOKEN');
      expect(error.message).not.toContain(token);
      expect(error.message).not.toContain('\n');
    }
  });

  it('names the first wrong setting when several are wrong', () => {
    expect(configErrorOf({ PORT: 'x', LOG_LEVEL: 'loud' }).setting).toBe('PORT');
  });
});
