import { type DeliveredMessage, HandlerTimeoutError, type MessageHandler } from './transport.js';
import type { ResolvedConsumeOptions } from './transportInput.js';

/**
 * Runs a handler for one attempt: settles as the handler does, or rejects with a
 * HandlerTimeoutError once `handlerTimeoutMs` has passed. The handler cannot be stopped; what it
 * settles with afterwards is dropped here (a late rejection is caught, never unhandled), because
 * by then the transport has settled the message as failed and must not ack or nak it twice.
 */
export function callHandler(
  handler: MessageHandler,
  message: DeliveredMessage,
  options: Pick<ResolvedConsumeOptions, 'group' | 'handlerTimeoutMs'>,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new HandlerTimeoutError(options.group, message.id, options.handlerTimeoutMs)),
      options.handlerTimeoutMs,
    );
    // Through a promise, so that a handler throwing before it returns one counts as a rejection.
    Promise.resolve()
      .then(() => handler(message))
      .then(resolve, reject)
      .finally(() => clearTimeout(timer));
  });
}
