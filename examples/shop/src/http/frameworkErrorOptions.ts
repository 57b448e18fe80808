import { type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import type { ErrorBody } from './httpError.js';

const maxShownPath = 64;

/**
 * The path of a request as an error message may show it: without the query string, at most
 * 64 characters, printable ASCII only. A rejected URL is attacker-chosen; echoing it whole
 * would put kilobytes (or terminal escapes) into every error body and log line.
 */
export function shortPath(url: string): string {
  const path = url.split('?', 1)[0] ?? '';
  const shown = path.slice(0, maxShownPath).replace(/[^\x21-\x7e]/g, '?');
  return path.length > maxShownPath ? `${shown}…` : shown;
}

const errorBody = (code: string, message: string, details: Record<string, unknown> = {}): ErrorBody => ({
  error: { code, message, details },
});

/** Fastify's rejections before routing: a URL that does not decode, a path parameter over its length limit. */
function frameworkErrors(error: Error & { code?: string }, request: FastifyRequest, reply: FastifyReply): void {
  const path = shortPath(request.url);
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    void reply.code(414).send(errorBody('uri_too_long', `A path parameter is too long: ${path}`, { path }));
    return;
  }
  if (error.code === 'FST_ERR_BAD_URL') {
    void reply.code(400).send(errorBody('malformed_request', `The URL is not valid percent-encoded UTF-8: ${path}`, { path }));
    return;
  }
  // FST_ERR_ASYNC_CONSTRAINT: the shop has no asynchronous route constraints; a 500 if it ever does.
  request.log.error({ err: error }, 'request failed before routing');
  void reply.code(500).send(errorBody('internal', 'Internal server error'));
}

/**
 * Errors node's HTTP parser raises before there is a request at all (headers over the size
 * limit, a request line that is not HTTP, a client too slow to send its headers). There is no
 * reply object: the answer is written to the socket by hand, as fastify's default handler does,
 * but with the shop's error body.
 */
function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  // A reset connection has no one left to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'request_header_fields_too_large', 'The request headers exceed the size limit']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'request_timeout', 'The request was not received in time']
        : [400, 'malformed_request', 'The request is not valid HTTP'];
  const body = JSON.stringify(errorBody(code, message));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

/** A response written straight to a socket that fastify never sees, with the shop's error body, then closed. */
function writeAndClose(socket: Socket, status: number, body: ErrorBody): void {
  const text = JSON.stringify(body);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
    );
  }
  socket.destroy();
}

/**
 * Requests node answers itself, before fastify routes anything: CONNECT (without a 'connect'
 * listener node drops the connection with no answer at all) and an Expect other than
 * 100-continue (node's own 417 has an empty body). Both get the shop's error body instead.
 */
export function answerWhatNodeWouldDrop(server: Server): void {
  server.on('connect', (request: IncomingMessage, socket: Socket) => {
    const path = shortPath(request.url ?? '');
    writeAndClose(socket, 404, errorBody('not_found', `No route for ${request.method} ${path}`, { method: request.method, path }));
  });
  server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => {
    const text = JSON.stringify(errorBody('expectation_failed', 'Only "Expect: 100-continue" is supported', { header: 'expect' }));
    // The request's body (if any) is not read: the connection closes after the answer.
    response.writeHead(417, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      connection: 'close',
    });
    response.end(text);
    request.resume();
  });
}

/**
 * A deadline for the body of a request, from its headers on. Node's requestTimeout (set too)
 * only ends requests whose headers are slow; one whose headers came and whose body never
 * finishes (sent half, or a byte now and then) held its connection for ever. Past the deadline
 * it gets 408 with the error body, straight on the socket, which closes: the route never ran,
 * so nothing was written. A request whose body is complete is not touched, however long it runs.
 */
export function registerBodyTimeout(app: FastifyInstance, timeoutMs: number): void {
  app.addHook('onRequest', (request, _reply, done) => {
    const { raw } = request;
    if (!raw.complete) {
      const timer = setTimeout(() => {
        if (raw.complete || raw.socket.destroyed) return;
        request.log.info({ timeoutMs }, 'request body not received in time');
        writeAndClose(raw.socket, 408, errorBody('request_timeout', 'The request was not received in time'));
      }, timeoutMs);
      timer.unref();
      raw.once('close', () => clearTimeout(timer));
    }
    done();
  });
}

/**
 * The fastify options that give the rejections fastify and node make on their own the shop's
 * one error body `{"error":{code,message,details}}` (DESIGN.md §7); the errors that reach a
 * route go through the app's error handler instead.
 */
export function frameworkErrorOptions(): Pick<FastifyServerOptions, 'frameworkErrors' | 'clientErrorHandler' | 'return503OnClosing'> {
  return {
    frameworkErrors,
    clientErrorHandler,
    // While closing, fastify would answer new requests on busy keep-alive connections with its
    // own 503 body; serving them is just as correct (the store closes after the server) and
    // keeps every answer in the shop's format. They get `connection: close` either way.
    return503OnClosing: false,
  };
}
