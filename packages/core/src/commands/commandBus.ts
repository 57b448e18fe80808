import { UnknownMessageError, ValidationError } from '../domain/errors.js';
import type { CommandMetadata } from './handleCommand.js';

/** Each command type with its payload and its handler's result. */
export type MessageMap = Record<string, { payload: unknown; result: unknown }>;

export type CommandHandler<M extends MessageMap, K extends keyof M> = (
  payload: M[K]['payload'],
  metadata: CommandMetadata,
) => Promise<M[K]['result']>;

/** Wraps every dispatch: validation, logging, authorisation, metrics. Call `next` to go on. */
export type CommandMiddleware = (
  type: string,
  payload: unknown,
  metadata: CommandMetadata,
  next: () => Promise<unknown>,
) => Promise<unknown>;

export interface CommandBus<M extends MessageMap> {
  register<K extends keyof M & string>(type: K, handler: CommandHandler<M, K>): void;
  use(middleware: CommandMiddleware): void;
  send<K extends keyof M & string>(type: K, payload: M[K]['payload'], metadata?: CommandMetadata): Promise<M[K]['result']>;
}

/** Routes each command type to exactly one handler. */
export function createCommandBus<M extends MessageMap>(): CommandBus<M> {
  const handlers = new Map<string, (payload: unknown, metadata: CommandMetadata) => Promise<unknown>>();
  const middlewares: CommandMiddleware[] = [];
  return {
    register(type, handler) {
      if (handlers.has(type)) throw new ValidationError(`A handler for command '${type}' is already registered`, { type });
      handlers.set(type, handler as (payload: unknown, metadata: CommandMetadata) => Promise<unknown>);
    },
    use(middleware) {
      middlewares.push(middleware);
    },
    async send(type, payload, metadata = {}) {
      const handler = handlers.get(type);
      if (!handler) throw new UnknownMessageError('command', type);
      const dispatch = (index: number): Promise<unknown> => {
        const middleware = middlewares[index];
        return middleware ? middleware(type, payload, metadata, () => dispatch(index + 1)) : handler(payload, metadata);
      };
      return dispatch(0) as Promise<M[typeof type]['result']>;
    },
  };
}
