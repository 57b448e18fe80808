import { ServerUnreachableError, ValidationError } from '@tidemark/core';
import { describe, expect, it } from 'vitest';
import { createNatsTransport, type NatsTransportOptions } from '../src/index.js';

/** Port 1: nothing listens there, so only a check made before connecting can answer ValidationError. */
const nowhere = 'nats://127.0.0.1:1';

describe('createNatsTransport options', () => {
  it.each([
    ['an unknown storage', { servers: nowhere, storage: 'bogus' }],
    ['an empty server', { servers: '' }],
    ['no servers', { servers: [] }],
    ['a blank server in the list', { servers: [nowhere, '  '] }],
    ['a server that is not a string', { servers: [42] }],
  ])('refuses %s before connecting', async (_what, options) => {
    await expect(createNatsTransport(options as unknown as NatsTransportOptions)).rejects.toBeInstanceOf(ValidationError);
  });

  it('rejects with ServerUnreachableError naming host:port, never the password, when no server answers', async () => {
    const error = await createNatsTransport({ servers: 'nats://probe:s3cret-pw@127.0.0.1:1' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ServerUnreachableError);
    expect((error as Error).message).toBe('cannot connect to NATS at 127.0.0.1:1: connection refused (ECONNREFUSED)');
  });
});
