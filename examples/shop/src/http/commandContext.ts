import { type CommandMetadata, type ExpectedVersion, newId, ValidationError } from '@tidemark/core';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';

export interface CommandContext {
  metadata: CommandMetadata;
  expectedVersion?: ExpectedVersion;
  /**
   * From an `Idempotency-Key` header: the key, and what it stands for — the route, its
   * parameters, the body and If-Match as the client sent them (not the command, which may hold
   * ids the server generated), so that a retry of the same request matches and any other is refused.
   */
  idempotency?: { key: string; scope: string; request: unknown };
}

// Header values end up in every event's metadata: keep them short and printable.
const headerValue = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

const headers = z.object({
  'x-correlation-id': headerValue.optional(),
  'x-user-id': headerValue.optional(),
  'if-match': z.string().optional(),
  // Clients generate these (a UUID, typically): printable ASCII, at most 255 characters.
  'idempotency-key': z
    .string()
    .min(1)
    .max(255)
    .regex(/^[\x20-\x7e]+$/, 'must be printable ASCII')
    .optional(),
});

/** `If-Match: 3` or the ETag form `"3"` → version 3; `*` → the stream must exist. */
export function parseIfMatch(value: string | undefined): ExpectedVersion | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed === '*') return 'stream_exists';
  // Quoted (an ETag, weak or not) or bare; never half-quoted.
  const match = /^(?:(?:W\/)?"(\d{1,15})"|(\d{1,15}))$/.exec(trimmed);
  if (!match)
    throw new ValidationError(`If-Match must be a stream version such as "3", not ${JSON.stringify(value)}`, { header: 'if-match' });
  return Number(match[1] ?? match[2]);
}

/**
 * Who is asking and what they saw: the correlation id (x-correlation-id, or the request's own)
 * and x-user-id go into every event's metadata; each request is one command whose id becomes
 * the events' causationId.
 */
export function commandContext(request: FastifyRequest): CommandContext {
  // Node joins a repeated header with ", ", which the key's pattern allows: "a, b" would be a
  // third key, and retries with "a" or "b" alone would each run the command again.
  if ((request.raw.headersDistinct['idempotency-key']?.length ?? 0) > 1)
    throw new ValidationError('Idempotency-Key must be given once', { header: 'idempotency-key' });
  const parsed = headers.parse(request.headers);
  const metadata: CommandMetadata = { commandId: newId() };
  // The request's id is its correlation id (the header's when valid): the one its log lines carry.
  metadata.correlationId = parsed['x-correlation-id'] ?? request.id;
  if (parsed['x-user-id']) metadata.userId = parsed['x-user-id'];
  const expectedVersion = parseIfMatch(parsed['if-match']);
  const key = parsed['idempotency-key'];
  const idempotency =
    key === undefined
      ? undefined
      : {
          key,
          scope: `${request.method} ${request.routeOptions.url ?? request.url}`,
          request: { params: { ...(request.params as object) }, body: request.body ?? null, ifMatch: parsed['if-match'] ?? null },
        };
  return { metadata, ...(expectedVersion !== undefined && { expectedVersion }), ...(idempotency && { idempotency }) };
}
