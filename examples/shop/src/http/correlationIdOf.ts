import type { IncomingMessage } from 'node:http';
import { newId } from '@tidemark/core';

/**
 * The correlation id of a request: the client's `x-correlation-id` when it is one we keep in
 * metadata (printable ASCII, 1–128 characters), else a new id. A malformed header is still
 * refused with 400 by the command routes; the id only names the request in the logs.
 */
export function correlationIdOf(request: IncomingMessage): string {
  const header = request.headers['x-correlation-id'];
  return typeof header === 'string' && /^[\x21-\x7e]{1,128}$/.test(header) ? header : newId();
}
