/**
 * The RabbitMQ transport: durable work queues with retries and dead letters.
 *
 * @packageDocumentation
 * @module @tidemark/rabbitmq
 */
export { ExchangeNotFoundError, UnroutableMessageError } from './transport/confirmedPublish.js';
export * from './transport/rabbitTopology.js';
export * from './transport/rabbitTransport.js';
