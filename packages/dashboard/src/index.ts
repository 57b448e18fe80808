/**
 * The operator's dashboard: a fastify plugin any tidemark application mounts, and a standalone
 * server over a SQLite file or a PostgreSQL schema.
 *
 * @packageDocumentation
 * @module @tidemark/dashboard
 */
export * from './dashboardOptions.js';
export * from './dashboardPlugin.js';
export * from './healthSampler.js';
export * from './projectionOverview.js';
export * from './rebuildRunner.js';
export * from './serveDashboard.js';
