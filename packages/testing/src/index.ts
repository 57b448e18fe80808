/**
 * Given/when/then specifications for deciders and the conformance contracts every adapter runs.
 *
 * @packageDocumentation
 * @module @tidemark/testing
 */
export * from './chaos/poisonScenario.js';
export * from './chaos/transportOutageScenario.js';
export * from './chaosReport.js';
export * from './chaosSetting.js';
export * from './contracts/appendTracingContract.js';
export * from './contracts/checkpointStoreContract.js';
export * from './contracts/eventBrowserContract.js';
export * from './contracts/eventStoreContract.js';
export * from './contracts/eventStoreHarness.js';
export * from './contracts/eventStoreModelContract.js';
export * from './contracts/idempotencyKeyContract.js';
export * from './contracts/inboxContract.js';
export * from './contracts/keyStoreContract.js';
export * from './contracts/keyStoreHarness.js';
export * from './contracts/leaseContract.js';
export * from './contracts/manualClock.js';
export * from './contracts/messagingHarness.js';
export * from './contracts/outboxContract.js';
export * from './contracts/outboxRelayContract.js';
export * from './contracts/snapshotStoreContract.js';
export * from './contracts/streamLifecycleContract.js';
export * from './contracts/transportContract.js';
export * from './contracts/unreadableAppendContract.js';
export * from './processes/brokerCrashCases.js';
export * from './processes/brokerCrashChild.js';
export * from './processes/messagingCrashCases.js';
export * from './processes/messagingCrashChild.js';
export * from './processes/spawnStateReportingChild.js';
export * from './processes/tcpProxy.js';
export * from './recordSpans.js';
export * from './services.js';
export * from './specs/deciderSpecification.js';
export * from './waitFor.js';
