export * from './main.js';
export * from './projections/projectionsRebuild.js';
export * from './usageError.js';
