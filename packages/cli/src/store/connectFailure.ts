/** Node's codes for a connection that was never made: nothing was sent, so nothing was lost. */
const notConnected: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'the host name could not be resolved now',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'timed out',
};

interface SocketError {
  code?: unknown;
  address?: unknown;
  port?: unknown;
  hostname?: unknown;
  cause?: unknown;
  errors?: unknown;
}

/** The socket error under `error` (its causes; the first of an AggregateError, as for localhost's two addresses). */
function socketErrorOf(error: unknown, depth = 0): SocketError | undefined {
  if (typeof error !== 'object' || error === null || depth > 8) return undefined;
  const candidate = error as SocketError;
  if (typeof candidate.code === 'string' && candidate.code in notConnected) return candidate;
  if (Array.isArray(candidate.errors)) {
    for (const inner of candidate.errors) {
      const found = socketErrorOf(inner, depth + 1);
      if (found) return found;
    }
  }
  return socketErrorOf(candidate.cause, depth + 1);
}

/** host:port of a postgres:// URL, without user or password; undefined when `new URL` cannot read it. */
function hostAndPort(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    if (parsed.hostname === '') return undefined;
    return `${parsed.hostname}:${parsed.port || '5432'}`;
  } catch {
    return undefined;
  }
}

/**
 * A failure to reach the PostgreSQL server at all (refused, unknown host, unreachable, timed
 * out) said as such — "cannot connect to PostgreSQL at host:port" — instead of the driver's
 * wording, which the store reports as a connection *lost*. Never the URL itself: it may hold a
 * password. undefined when `error` is something else (the server answered: auth, a missing
 * database… its own message says it).
 */
export function connectFailure(error: unknown, url: string, what = 'PostgreSQL'): Error | undefined {
  const socket = socketErrorOf(error);
  if (!socket) return undefined;
  const tried =
    typeof socket.address === 'string' && typeof socket.port === 'number'
      ? `${socket.address.includes(':') ? `[${socket.address}]` : socket.address}:${socket.port}`
      : undefined;
  const where = hostAndPort(url) ?? tried ?? 'the URL given';
  const via = tried && tried !== where ? ` (${tried})` : '';
  return new Error(`cannot connect to ${what} at ${where}${via}: ${notConnected[socket.code as string]} (${socket.code})`, {
    cause: error,
  });
}
