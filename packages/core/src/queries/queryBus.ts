import type { MessageMap } from '../commands/commandBus.js';
import { UnknownMessageError, ValidationError } from '../domain/errors.js';

export type QueryHandler<M extends MessageMap, K extends keyof M> = (query: M[K]['payload']) => Promise<M[K]['result']>;

export interface QueryBus<M extends MessageMap> {
  register<K extends keyof M & string>(type: K, handler: QueryHandler<M, K>): void;
  ask<K extends keyof M & string>(type: K, query: M[K]['payload']): Promise<M[K]['result']>;
}

/** Routes each query type to its one handler; queries never change state. */
export function createQueryBus<M extends MessageMap>(): QueryBus<M> {
  const handlers = new Map<string, (query: unknown) => Promise<unknown>>();
  return {
    register(type, handler) {
      if (handlers.has(type)) throw new ValidationError(`A handler for query '${type}' is already registered`, { type });
      handlers.set(type, handler as (query: unknown) => Promise<unknown>);
    },
    async ask(type, query) {
      const handler = handlers.get(type);
      if (!handler) throw new UnknownMessageError('query', type);
      return handler(query) as Promise<M[typeof type]['result']>;
    },
  };
}
