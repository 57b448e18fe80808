import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CheckpointStore,
  createInMemoryCheckpointStore,
  createInMemoryEventStore,
  createProjector,
  type Projector,
  type StoreTransaction,
} from '../src/index.js';
import { createSumReadModel } from './inMemoryReadModel.js';

type Action =
  | { kind: 'append'; stream: number; amounts: number[] }
  | { kind: 'ticks'; count: number }
  | { kind: 'restart'; batchSize: number }
  | { kind: 'second'; batchSize: number }
  | { kind: 'failNext'; times: number };

const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      stream: fc.nat(4),
      amounts: fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 6 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('ticks' as const), count: fc.integer({ min: 1, max: 20 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restart' as const), batchSize: fc.integer({ min: 1, max: 10 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('second' as const), batchSize: fc.integer({ min: 1, max: 10 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('failNext' as const), times: fc.integer({ min: 1, max: 2 }) }) },
);

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Records every committed checkpoint position, per name, as it becomes durable. */
function observed(inner: CheckpointStore<StoreTransaction>, history: bigint[]): CheckpointStore<StoreTransaction> {
  return {
    ...inner,
    async save(name, expected, position, tx) {
      await inner.save(name, expected, position, tx);
      tx.afterCommit(() => history.push(position));
    },
  };
}

describe('projector checkpoints (property)', () => {
  it('for any interleaving of appends, batches, restarts, rival instances and transient failures: read model = fold of the log, checkpoint never moves backwards', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { maxLength: 30 }), async (actions) => {
        const store = createInMemoryEventStore();
        const history: bigint[] = [];
        const checkpoints = observed(createInMemoryCheckpointStore(), history);
        const model = createSumReadModel();
        let failures = 0;
        model.failWhen = () => failures > 0 && failures-- > 0;
        const make = (batchSize: number) =>
          createProjector({
            store,
            projection: model.projection,
            checkpoints,
            batchSize,
            pollIntervalMs: 5,
            retry: { maxAttempts: 5, initialDelayMs: 0 },
          });
        let main: Projector = make(3);
        const rivals: Projector[] = [];
        await main.start();
        const expected = new Map<string, number>();
        for (const step of actions) {
          switch (step.kind) {
            case 'append': {
              const streamId = `acc-${step.stream}`;
              await store.appendToStream(
                streamId,
                step.amounts.map((amount) => ({ type: 'test.amount.added', data: { amount } })),
              );
              expected.set(streamId, (expected.get(streamId) ?? 0) + step.amounts.reduce((a, b) => a + b, 0));
              break;
            }
            case 'ticks':
              for (let i = 0; i < step.count; i++) await tick();
              break;
            case 'restart':
              await main.stop();
              main = make(step.batchSize);
              await main.start();
              break;
            case 'second': {
              const rival = make(step.batchSize);
              rivals.push(rival);
              await rival.start();
              break;
            }
            case 'failNext':
              failures = step.times;
              break;
          }
        }
        const head = await store.headPosition();
        const reached = await main.waitForPosition(head, { timeoutMs: 5000 });
        await Promise.all([main, ...rivals].map((p) => p.stop()));
        expect(reached).toBe(true);
        expect(model.sums).toEqual(expected);
        expect(BigInt(model.applied.size)).toBe(head);
        expect([...model.applied.values()].every((n) => n === 1)).toBe(true);
        for (let i = 1; i < history.length; i++) expect(history[i]).toBeGreaterThanOrEqual(history[i - 1] as bigint);
        expect(history.at(-1) ?? 0n).toBe(head);
      }),
      { numRuns: 150 },
    );
  }, 60_000);
});
