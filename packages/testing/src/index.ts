export * from './contracts/checkpointStoreContract.js';
export * from './contracts/eventStoreContract.js';
export * from './contracts/eventStoreHarness.js';
export * from './contracts/eventStoreModelContract.js';
export * from './contracts/manualClock.js';
export * from './processes/spawnStateReportingChild.js';
export * from './services.js';
export * from './specs/deciderSpecification.js';
