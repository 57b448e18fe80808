import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { serviceAvailable, serviceUrls, transportContract } from '@tidemark/testing';
import { describe } from 'vitest';
import { createNatsTransport } from '../src/index.js';

const available = await serviceAvailable('nats');

describe.skipIf(!available)('NATS JetStream transport', () => {
  const streams: string[] = [];
  transportContract('jetstream', {
    replayable: true,
    deduplicates: true,
    keyOrderAcrossConsumers: false,
    async create() {
      const unique = randomUUID().replaceAll('-', '');
      const options = {
        servers: serviceUrls.nats,
        stream: `T${unique}`,
        subjectPrefix: `t${unique}`,
        // Short, so that a dead consumer's message comes back within the test.
        ackWaitMs: 1500,
        storage: 'memory' as const,
      };
      streams.push(options.stream, `${options.stream}_DLQ`);
      return { transport: await createNatsTransport(options), connect: () => createNatsTransport(options) };
    },
    async teardown() {
      const nc = await connect({ servers: serviceUrls.nats });
      const jsm = await jetstreamManager(nc);
      for (const stream of streams) await jsm.streams.delete(stream).catch(() => false);
      await nc.close();
    },
  });
});
