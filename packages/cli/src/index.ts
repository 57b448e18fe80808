/**
 * The command-line tool: migrations, projection rebuilds, failed and parked events.
 *
 * @packageDocumentation
 * @module tidemark
 */
export * from './main.js';
export * from './projections/projectionsRebuild.js';
export * from './usageError.js';
