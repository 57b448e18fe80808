/**
 * The command-line tool: migrations, streams and the event log, projections, outbox and consumers.
 *
 * @packageDocumentation
 * @module tidemark
 */
export * from './cliIo.js';
export * from './main.js';
export * from './program.js';
export * from './usageError.js';
