export * from './services.js';
export * from './specs/deciderSpecification.js';
