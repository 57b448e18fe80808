/**
 * The NATS JetStream transport: retained, replayable event streaming.
 *
 * @packageDocumentation
 * @module @tidemark/nats
 */
export * from './transport/natsNames.js';
export * from './transport/natsTransport.js';
