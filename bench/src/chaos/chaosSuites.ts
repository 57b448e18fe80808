/** A group of failure tests and the TIDEMARK_CHAOS_* settings that run them at full size. */
export interface ChaosSuite {
  files: readonly string[];
  env: Readonly<Record<string, string>>;
  /** Per test: full runs take minutes. */
  timeoutMs: number;
}

export const chaosSuites: Record<string, ChaosSuite> = {
  store: {
    files: ['packages/sqlite/test/sqliteCrash.e2e.test.ts', 'packages/postgres/test/connectionChaos.e2e.test.ts'],
    env: { TIDEMARK_CHAOS_SQLITE_KILLS: '100', TIDEMARK_CHAOS_ROUNDS: '10', TIDEMARK_CHAOS_OPS: '500' },
    timeoutMs: 1_800_000,
  },
  projections: {
    files: ['examples/shop/test/readModels/projectorCrash.e2e.test.ts', 'examples/shop/test/readModels/projectorCrashPostgres.e2e.test.ts'],
    env: { TIDEMARK_CHAOS_PROJECTOR_KILLS: '200' },
    timeoutMs: 1_800_000,
  },
  // Issue 9's failure tests: relays and consumers SIGKILLed (embedded, and with JetStream or
  // RabbitMQ between them), brokers killed or cut off for 30 s under load, poison messages.
  messaging: {
    files: [
      'packages/sqlite/test/messagingCrash.e2e.test.ts',
      'packages/postgres/test/messagingCrash.e2e.test.ts',
      'packages/nats/test/brokerCrash.e2e.test.ts',
      'packages/rabbitmq/test/brokerCrash.e2e.test.ts',
      'packages/nats/test/natsFailures.e2e.test.ts',
      'packages/rabbitmq/test/rabbitFailures.e2e.test.ts',
    ],
    env: {
      // Embedded (no broker): the appending, consuming process and the outbox process; consumers.
      TIDEMARK_CHAOS_RELAY_KILLS: '200',
      TIDEMARK_CHAOS_CONSUMER_KILLS: '100',
      // Through a broker: postgres+jetstream and sqlite+rabbitmq.
      TIDEMARK_CHAOS_RELAY_BROKER_KILLS: '200',
      TIDEMARK_CHAOS_CONSUMER_BROKER_KILLS: '100',
      // Broker outages of 30 s each under load.
      TIDEMARK_CHAOS_NATS_KILLS: '10',
      TIDEMARK_CHAOS_RABBITMQ_OUTAGES: '10',
      TIDEMARK_CHAOS_OUTAGE_MS: '30000',
      TIDEMARK_CHAOS_MESSAGES: '5000',
      TIDEMARK_CHAOS_POISON_MESSAGES: '1000',
    },
    timeoutMs: 3_600_000,
  },
};
