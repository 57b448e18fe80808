import { CommitOutcomeUnknownError, ConnectionLostError, ServerUnreachableError } from '@tidemark/core';
import { describe, expect, it } from 'vitest';
import { toAutocommitError, toTypedError } from '../src/eventStore/connectionErrors.js';

function socketError(code: string, fields: Record<string, unknown>): Error {
  return Object.assign(new Error(`${String(fields.syscall)} ${code}`), { code, ...fields });
}

const refused = socketError('ECONNREFUSED', { syscall: 'connect', address: '10.0.0.7', port: 6543 });
const unknownHost = socketError('ENOTFOUND', { syscall: 'getaddrinfo', hostname: 'db.invalid' });

describe('a connection never made, typed', () => {
  it("names the host and port of the pool's options, never its URL or password", () => {
    const typed = toTypedError(refused, false, { connectionString: 'postgres://ops:s3cret@db.example:6543/app?sslmode=disable' });
    expect(typed).toBeInstanceOf(ServerUnreachableError);
    expect((typed as Error).message).toBe(
      'cannot connect to PostgreSQL at db.example:6543 (10.0.0.7:6543): connection refused (ECONNREFUSED)',
    );
    expect(typed).toMatchObject({ cause: refused });
    // pg's defaults where the options say nothing; a Unix socket by its file.
    expect((toTypedError(unknownHost, false, { host: 'db.invalid' }) as Error).message).toBe(
      'cannot connect to PostgreSQL at db.invalid:5432: no such host (ENOTFOUND)',
    );
    expect((toTypedError(refused, false, { host: '/run/postgresql', port: 5433 }) as Error).message).toMatch(
      /^cannot connect to PostgreSQL at \/run\/postgresql\/\.s\.PGSQL\.5433 /,
    );
  });

  it('without the options, names what the socket error does', () => {
    expect((toTypedError(refused) as Error).message).toBe(
      'cannot connect to PostgreSQL at 10.0.0.7:6543: connection refused (ECONNREFUSED)',
    );
  });

  it('is no CommitOutcomeUnknownError for an autocommit append: nothing was sent', () => {
    for (const error of [refused, unknownHost, new AggregateError([refused], '')]) {
      expect(toAutocommitError(error)).toBeInstanceOf(ServerUnreachableError);
    }
  });

  it('leaves a connection that died after it was made a ConnectionLostError of its own', () => {
    const reset = socketError('ECONNRESET', { syscall: 'read' });
    const readTimedOut = socketError('ETIMEDOUT', { syscall: 'read' });
    for (const error of [reset, readTimedOut]) {
      const typed = toTypedError(error);
      expect(typed).toBeInstanceOf(ConnectionLostError);
      expect(typed).not.toBeInstanceOf(ServerUnreachableError);
      expect(toAutocommitError(error)).toBeInstanceOf(CommitOutcomeUnknownError);
    }
  });
});
