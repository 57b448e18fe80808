import { ConnectionLostError } from './errors.js';

/** Node's codes for a connection that was never made, as an operator reads them. */
const neverConnected: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'the host name could not be resolved now',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'timed out',
};

/** The fields of a Node socket error that name what was tried. */
export interface UnreachableSocketError {
  code: string;
  syscall?: string;
  address?: string;
  port?: number;
  hostname?: string;
}

/**
 * The Node socket error under `error` that says a connection was never made: `error` itself, one
 * of an AggregateError's (Node tries each address of a name such as localhost, ::1 then
 * 127.0.0.1, and reports them together), or a `cause` down the chain. undefined for anything
 * else. A socket that did connect can fail with the same codes later (ETIMEDOUT on a read, an
 * ICMP host unreachable on a write): its `syscall` says so, and it is not this.
 */
export function unreachableSocketError(error: unknown): UnreachableSocketError | undefined {
  return findUnreachable(error, 0);
}

/** Depth-bounded: a cause chain can loop. */
function findUnreachable(error: unknown, depth: number): UnreachableSocketError | undefined {
  if (typeof error !== 'object' || error === null || depth > 8) return undefined;
  const candidate = error as { code?: unknown; syscall?: unknown; errors?: unknown; cause?: unknown };
  if (Array.isArray(candidate.errors)) {
    for (const inner of candidate.errors) {
      const found = findUnreachable(inner, depth + 1);
      if (found) return found;
    }
  }
  if (
    typeof candidate.code === 'string' &&
    Object.hasOwn(neverConnected, candidate.code) &&
    (candidate.syscall === undefined || candidate.syscall === 'connect' || candidate.syscall === 'getaddrinfo')
  ) {
    return error as UnreachableSocketError;
  }
  return findUnreachable(candidate.cause, depth + 1);
}

/**
 * The server could not be reached at all: refused, unknown host, no route, or the connection
 * attempt timed out. Nothing was sent, so nothing was lost — but it is still a ConnectionLostError
 * (same `code`, same retry rules, HTTP 503): a server restarting refuses connections for a moment,
 * and retrying the unit of work is as safe as after a lost one. Its message names the server as
 * `host:port` only, never a URL: one may hold a password.
 */
export class ServerUnreachableError extends ConnectionLostError {
  /** What was tried, e.g. `127.0.0.1:5432`. */
  readonly where: string;
  /** Node's socket code: ECONNREFUSED, ENOTFOUND, EAI_AGAIN, EHOSTUNREACH, ENETUNREACH or ETIMEDOUT. */
  readonly socketCode: string;

  /**
   * `server` names the kind of server (`PostgreSQL`); `target` its host and port from the
   * connection options, else the socket error's own are named. `socket` is from unreachableSocketError.
   */
  constructor(server: string, target: { host: string; port?: number } | undefined, socket: UnreachableSocketError, options?: ErrorOptions) {
    const tried = socket.address === undefined ? undefined : hostPort(socket.address, socket.port);
    const named =
      target !== undefined
        ? hostPort(target.host, target.port)
        : (tried ?? (socket.hostname === undefined ? 'an unknown address' : hostPort(socket.hostname, socket.port)));
    // The address a name resolved to, when it is not what the options say (localhost: ::1).
    const via = tried !== undefined && tried !== named ? ` (${tried})` : '';
    super(
      `cannot connect to ${server} at ${named}${via}: ${neverConnected[socket.code] ?? 'unreachable'} (${socket.code})`,
      { server, where: named, socketCode: socket.code },
      options,
    );
    this.where = named;
    this.socketCode = socket.code;
  }
}

/** `host:port`, an IPv6 address in brackets. */
function hostPort(host: string, port: number | undefined): string {
  const bracketed = host.includes(':') ? `[${host}]` : host;
  return port === undefined ? bracketed : `${bracketed}:${port}`;
}
