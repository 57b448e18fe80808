/**
 * Deciders, the event store port, command and query handling, projectors and monitoring, with in-memory adapters.
 *
 * @packageDocumentation
 * @module @tidemark/core
 */
export * from './commands/commandBus.js';
export * from './commands/handleCommand.js';
export * from './commands/stateCache.js';
export * from './concurrency/mutex.js';
export * from './concurrency/retryUnitOfWork.js';
export * from './concurrency/transactionScope.js';
export * from './domain/clock.js';
export * from './domain/decider.js';
export * from './domain/errors.js';
export * from './domain/event.js';
export * from './domain/ids.js';
export * from './domain/isWellFormed.js';
export * from './eventStore/afterCommitCallbacks.js';
export * from './eventStore/aggregate.js';
export * from './eventStore/appendLimits.js';
export * from './eventStore/eventStore.js';
export * from './eventStore/expectedVersion.js';
export * from './eventStore/idempotentAppend.js';
export * from './eventStore/inMemoryEventStore.js';
export * from './eventStore/position.js';
export * from './eventStore/prepareAppend.js';
export * from './eventStore/readOptions.js';
export * from './eventStore/sqlExecutor.js';
export * from './eventStore/toJson.js';
export * from './eventStore/transactionDurability.js';
export * from './eventStore/writtenAppendResult.js';
export * from './monitoring/alert.js';
export * from './monitoring/consistencyMonitor.js';
export * from './monitoring/inMemoryMetrics.js';
export * from './monitoring/lagProbe.js';
export * from './monitoring/metrics.js';
export * from './monitoring/projectionLagMonitor.js';
export * from './monitoring/projectorMetrics.js';
export * from './processing/checkpointRow.js';
export * from './processing/checkpointStore.js';
export * from './processing/deadLetterEvent.js';
export * from './processing/failedEvents.js';
export * from './processing/failureText.js';
export * from './processing/fallbackReadRepository.js';
export * from './processing/inlineProjection.js';
export * from './processing/inMemoryCheckpointStore.js';
export * from './processing/inMemoryLease.js';
export * from './processing/lease.js';
export * from './processing/positionWaiters.js';
export * from './processing/projection.js';
export * from './processing/projector.js';
export * from './processing/rebuildProjection.js';
export * from './processing/retryPolicy.js';
export * from './processing/setupLock.js';
export * from './processing/subscription.js';
export * from './processing/tableSwap.js';
export * from './queries/queryBus.js';
export * from './transport/inMemoryBroker.js';
export * from './transport/inMemoryTransport.js';
export * from './transport/keyedDispatcher.js';
export * from './transport/messageEnvelope.js';
export * from './transport/transport.js';
export * from './transport/transportInput.js';
