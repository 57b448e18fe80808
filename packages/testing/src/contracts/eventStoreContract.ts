import { describe } from 'vitest';
import { appendContract } from './appendContract.js';
import { badInputContract } from './badInputContract.js';
import { concurrencyContract } from './concurrencyContract.js';
import { concurrentHookedAppendsContract } from './concurrentHookedAppendsContract.js';
import { eventStageContract } from './eventStageContract.js';
import type { EventStoreHarness } from './eventStoreHarness.js';
import { expectedVersionContract } from './expectedVersionContract.js';
import { useHarness } from './harnessLifetime.js';
import { idempotencyContract } from './idempotencyContract.js';
import { readAllContract } from './readAllContract.js';
import { readPageContract } from './readPageContract.js';
import { readStreamContract } from './readStreamContract.js';
import { streamLifecycleContract, streamLifecycleModelContract } from './streamLifecycleContract.js';
import { temporalContract } from './temporalContract.js';
import { transactionContract } from './transactionContract.js';
import { unawaitedAppendsContract } from './unawaitedAppendsContract.js';
import { unitOfWorkContract } from './unitOfWorkContract.js';
import { unreadableAppendContract } from './unreadableAppendContract.js';

/**
 * The conformance contract every EventStore adapter runs with a one-line harness. It asserts
 * what the store holds afterwards (via readStream, readAll and headPosition), not only the
 * errors it raises, and closes every store it creates.
 */
export function eventStoreContract(name: string, harness: EventStoreHarness): void {
  describe(`EventStore contract: ${name}`, () => {
    useHarness(harness);
    appendContract(harness);
    expectedVersionContract(harness);
    concurrencyContract(harness);
    idempotencyContract(harness);
    readStreamContract(harness);
    readAllContract(harness);
    readPageContract(harness);
    temporalContract(harness);
    transactionContract(harness);
    unitOfWorkContract(harness);
    concurrentHookedAppendsContract(harness);
    unawaitedAppendsContract(harness);
    badInputContract(harness);
    eventStageContract(harness);
    unreadableAppendContract(harness);
    streamLifecycleContract(harness);
    streamLifecycleModelContract(harness);
  });
}
