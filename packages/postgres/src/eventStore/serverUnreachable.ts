import { ServerUnreachableError, unreachableSocketError } from '@tidemark/core';
import type pg from 'pg';
import ConnectionParameters from 'pg/lib/connection-parameters.js';

/**
 * The server a client with these options connects to, resolved as pg resolves it (the URL, host
 * and port options, PGHOST and PGPORT, its defaults): host and port only, never the URL, which
 * may hold a password. A Unix socket is named by its file. undefined when they cannot be read.
 */
function serverOf(connection: pg.ClientConfig): { host: string; port?: number } | undefined {
  try {
    const { host, port } = new ConnectionParameters(connection);
    if (typeof host !== 'string' || host === '') return undefined;
    const validPort = Number.isSafeInteger(port) ? port : undefined;
    if (host.startsWith('/')) return { host: validPort === undefined ? host : `${host}/.s.PGSQL.${validPort}` };
    return validPort === undefined ? { host } : { host, port: validPort };
  } catch {
    return undefined;
  }
}

/**
 * `error` as ServerUnreachableError when it says the connection was never made (refused, unknown
 * host, unreachable, timed out — unreachableSocketError), naming the server of `connection` (a
 * pool's `options`), else the address the socket error gives; undefined for anything else.
 */
export function toServerUnreachableError(error: unknown, connection?: pg.ClientConfig): ServerUnreachableError | undefined {
  if (error instanceof ServerUnreachableError) return error;
  const socket = unreachableSocketError(error);
  if (!socket) return undefined;
  return new ServerUnreachableError('PostgreSQL', connection && serverOf(connection), socket, { cause: error });
}
