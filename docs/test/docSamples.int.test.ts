import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { serviceAvailable, serviceUrls } from '@tidemark/testing';
import pg from 'pg';
import { afterAll, describe, it } from 'vitest';
import { allDocSamples, clearSamples, runSample, samplesDir, writeSample } from './docSamples.js';

// The samples that need a server (```ts runnable needs=postgres|redis); the others run in docSamples.unit.test.ts.
const dir = join(samplesDir, 'int');
clearSamples(dir);
const samples = allDocSamples();
afterAll(() => clearSamples(dir));

const postgres = samples.filter((sample) => sample.needs === 'postgres');
const redis = samples.filter((sample) => sample.needs === 'redis');

describe.skipIf(!(await serviceAvailable('postgres')))('the PostgreSQL samples of docs/*.md', () => {
  it.each(postgres.map((sample) => [sample.id, sample] as const))('%s runs', async (_id, sample) => {
    // A schema of its own per run, dropped afterwards: suites run in parallel on one server.
    const schema = `docs_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
    try {
      await runSample(writeSample(sample, dir), { DATABASE_URL: serviceUrls.postgres, SCHEMA: schema });
    } finally {
      const client = new pg.Client({ connectionString: serviceUrls.postgres });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    }
  });
});

describe.skipIf(!(await serviceAvailable('redis')))('the Redis samples of docs/*.md', () => {
  it.each(redis.map((sample) => [sample.id, sample] as const))('%s runs', async (_id, sample) => {
    await runSample(writeSample(sample, dir), { REDIS_URL: serviceUrls.redis, CACHE_PREFIX: `docs:${randomUUID()}:` });
  });
});
