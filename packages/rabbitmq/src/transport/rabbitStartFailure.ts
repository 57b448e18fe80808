import {
  PermissionDeniedError,
  ServerUnreachableError,
  StoreMisconfiguredError,
  unreachableSocketError,
  ValidationError,
} from '@tidemark/core';

/**
 * The transport's `url` as a URL, or a ValidationError naming what is wrong with it. Never the
 * URL itself in the message: it may hold a password.
 */
export function parseRabbitUrl(value: unknown): URL {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw new ValidationError('url must be an amqp:// or amqps:// URL', { field: 'url' });
  }
  if (url.protocol !== 'amqp:' && url.protocol !== 'amqps:') {
    throw new ValidationError(`url must be an amqp:// or amqps:// URL, not ${url.protocol}//`, { field: 'url' });
  }
  return url;
}

/**
 * Why the first connection failed, as a typed error that names the setting to change: a broker
 * never reached (ServerUnreachableError, host:port only), a login refused (PermissionDeniedError,
 * naming the user), a virtual host that does not exist or is not the user's (misconfigured).
 * amqplib's own wording ("Handshake terminated by server: 403 …", "Expected ConnectionOpenOk;
 * got <ConnectionClose …>") is kept as the cause. Anything else is returned as it came.
 */
export function rabbitStartFailure(error: unknown, url: URL): unknown {
  const socket = unreachableSocketError(error);
  const port = Number(url.port || (url.protocol === 'amqps:' ? 5671 : 5672));
  if (socket) return new ServerUnreachableError('RabbitMQ', { host: url.hostname, port }, socket, { cause: error });
  const message = error instanceof Error ? error.message : String(error);
  const user = decodeURIComponent(url.username || 'guest');
  if (/ACCESS[-_]REFUSED/.test(message)) {
    return new PermissionDeniedError(
      `RabbitMQ refused the login of user '${user}' (wrong user or password in the url)`,
      { user },
      { cause: error },
    );
  }
  // The broker closing the connection in answer to connection.open, which names the virtual host:
  // amqplib says no more than that ("got <ConnectionClose channel:0>"); newer ones add the reason.
  if (/NOT_ALLOWED - (access to )?vhost|Expected ConnectionOpenOk; got <ConnectionClose/.test(message)) {
    // The path names the virtual host; an empty one is '/'.
    const vhost = url.pathname.length > 1 ? decodeURIComponent(url.pathname.slice(1)) : '/';
    return new StoreMisconfiguredError(
      `RabbitMQ refused virtual host '${vhost}' to user '${user}': it does not exist, or the user may not use it (the url's path names it)`,
      { vhost, user },
      { cause: error },
    );
  }
  return error;
}
