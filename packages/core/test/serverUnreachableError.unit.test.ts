import { ConnectionLostError, isTransientFailure, ServerUnreachableError, unreachableSocketError } from '@tidemark/core';
import { describe, expect, it } from 'vitest';

/** A Node socket error as net and dns raise them. */
function socketError(code: string, fields: Record<string, unknown>): Error & { code: string } {
  return Object.assign(new Error(`${String(fields.syscall)} ${code}`), { code, ...fields });
}

const refusedV6 = socketError('ECONNREFUSED', { syscall: 'connect', address: '::1', port: 5432 });
const refusedV4 = socketError('ECONNREFUSED', { syscall: 'connect', address: '127.0.0.1', port: 5432 });

describe('unreachableSocketError', () => {
  it('finds a never-made connection in the error, an AggregateError (localhost tried as ::1 and 127.0.0.1) or a cause', () => {
    expect(unreachableSocketError(refusedV4)).toBe(refusedV4);
    const both = Object.assign(new AggregateError([refusedV6, refusedV4], ''), { code: 'ECONNREFUSED' });
    expect(unreachableSocketError(both)).toBe(refusedV6);
    const unknownHost = socketError('ENOTFOUND', { syscall: 'getaddrinfo', hostname: 'db.invalid' });
    expect(unreachableSocketError(new Error('wrapped', { cause: new Error('twice', { cause: unknownHost }) }))).toBe(unknownHost);
  });

  it('leaves out a connection that was made and failed later, and errors of other kinds', () => {
    expect(unreachableSocketError(socketError('ETIMEDOUT', { syscall: 'read' }))).toBeUndefined();
    expect(unreachableSocketError(socketError('ECONNRESET', { syscall: 'read' }))).toBeUndefined();
    expect(unreachableSocketError(new Error('Connection terminated unexpectedly'))).toBeUndefined();
    expect(unreachableSocketError('ECONNREFUSED')).toBeUndefined();
  });
});

describe('ServerUnreachableError', () => {
  it('names the server as host:port with the reason and code, and is retried as a lost connection', () => {
    const error = new ServerUnreachableError('PostgreSQL', { host: 'db.example', port: 5433 }, refusedV4, { cause: refusedV4 });
    expect(error.message).toBe('cannot connect to PostgreSQL at db.example:5433 (127.0.0.1:5432): connection refused (ECONNREFUSED)');
    expect(error).toBeInstanceOf(ConnectionLostError);
    expect(error).toMatchObject({
      code: 'connection_lost',
      name: 'ServerUnreachableError',
      where: 'db.example:5433',
      socketCode: 'ECONNREFUSED',
    });
    expect(isTransientFailure(error)).toBe(true);
  });

  it('falls back on what the socket error names, an IPv6 address in brackets', () => {
    expect(new ServerUnreachableError('Redis', undefined, refusedV6).message).toBe(
      'cannot connect to Redis at [::1]:5432: connection refused (ECONNREFUSED)',
    );
    const unknownHost = socketError('ENOTFOUND', { syscall: 'getaddrinfo', hostname: 'db.invalid' });
    expect(new ServerUnreachableError('NATS', undefined, unknownHost).message).toBe(
      'cannot connect to NATS at db.invalid: no such host (ENOTFOUND)',
    );
  });
});
