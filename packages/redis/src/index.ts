/**
 * Cache-aside read models on Redis (ioredis).
 *
 * @packageDocumentation
 * @module @tidemark/redis
 */
export * from './cache/cacheAside.js';
export * from './cache/cacheInvalidation.js';
export * from './cache/invalidatingProjection.js';
export * from './cache/readCache.js';
export * from './cache/readModelOrWriteSide.js';
export * from './cache/redisCache.js';
