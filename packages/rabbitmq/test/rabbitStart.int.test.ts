import { PermissionDeniedError, ServerUnreachableError, StoreMisconfiguredError, ValidationError } from '@tidemark/core';
import { serviceAvailable, serviceUrls } from '@tidemark/testing';
import { describe, expect, it } from 'vitest';
import { createRabbitTransport } from '../src/index.js';

const available = await serviceAvailable('rabbitmq');

/** The error createRabbitTransport rejects with for `url`, which must never show a password. */
async function startFailure(url: string, password?: string): Promise<Error> {
  const error = await createRabbitTransport({ url }).then(
    async (transport) => {
      await transport.close();
      throw new Error('it started');
    },
    (caught: unknown) => caught as Error,
  );
  if (password) expect(`${error.message} ${JSON.stringify((error as { details?: unknown }).details ?? {})}`).not.toContain(password);
  return error;
}

describe('RabbitMQ transport: a first connection that fails says which setting to change', () => {
  it('refuses a url that is not amqp:// or amqps:// before connecting', async () => {
    expect(await startFailure('not a url')).toBeInstanceOf(ValidationError);
    expect(await startFailure('http://guest:guest@127.0.0.1:5672')).toBeInstanceOf(ValidationError);
  });

  it('names host:port of a broker it cannot reach, without the password', async () => {
    const error = await startFailure('amqp://guest:s3cret-pw@127.0.0.1:1', 's3cret-pw');
    expect(error).toBeInstanceOf(ServerUnreachableError);
    expect(error.message).toBe('cannot connect to RabbitMQ at 127.0.0.1:1: connection refused (ECONNREFUSED)');
  });

  describe.skipIf(!available)('against the broker', () => {
    const broker = new URL(serviceUrls.rabbitmq);

    it('a refused login is a PermissionDeniedError naming the user', async () => {
      const url = new URL(broker);
      url.password = 'not-the-password';
      const error = await startFailure(url.toString(), 'not-the-password');
      expect(error).toBeInstanceOf(PermissionDeniedError);
      expect(error.message).toContain(`user '${decodeURIComponent(url.username)}'`);
    });

    it('a virtual host that does not exist is misconfigured, naming it', async () => {
      const url = new URL(broker);
      url.pathname = '/tm-no-such-vhost';
      const error = await startFailure(url.toString());
      expect(error).toBeInstanceOf(StoreMisconfiguredError);
      expect(error.message).toContain("virtual host 'tm-no-such-vhost'");
      expect((error as StoreMisconfiguredError).code).toBe('misconfigured');
    });
  });
});
