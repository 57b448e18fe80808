import { context, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { spanContextOf, tracingRegistered } from '@tidemark/core';
import type { FastifyInstance, FastifyRequest, RouteHandlerMethod } from 'fastify';

const tracer = trace.getTracer('tidemark-shop');

/**
 * A SERVER span per request, continuing the trace of an incoming W3C `traceparent` header, and
 * active while the route handler runs: the command, its append and (through the traceparent
 * stored in the events) the projector batches become its descendants. The handler is wrapped
 * rather than the context entered in a hook, because the request body is read from socket
 * events, which do not carry the hook's context. Without an OpenTelemetry SDK it starts no span
 * (checked per request, so an SDK registered later is used), and its hooks take callbacks rather
 * than being async: every request passes through them, and an async hook costs a promise each.
 * Register before the routes.
 */
export function registerRequestTracing(app: FastifyInstance): void {
  const spans = new WeakMap<FastifyRequest, Span>();
  app.addHook('onRequest', (request, _reply, done) => {
    if (!tracingRegistered()) {
      done();
      return;
    }
    const remote = spanContextOf(request.headers.traceparent);
    const parent = remote ? trace.setSpanContext(ROOT_CONTEXT, remote) : ROOT_CONTEXT;
    const span = tracer.startSpan(
      `${request.method} ${request.routeOptions.url ?? 'unmatched'}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': request.method,
          'http.route': request.routeOptions.url ?? '',
          'tidemark.correlation_id': request.id,
        },
      },
      parent,
    );
    spans.set(request, span);
    done();
  });
  app.addHook('onRoute', (route) => {
    const handler = route.handler as RouteHandlerMethod;
    route.handler = function traced(request, reply) {
      const span = spans.get(request);
      return span
        ? context.with(trace.setSpan(context.active(), span), () => handler.call(this, request, reply))
        : handler.call(this, request, reply);
    };
  });
  app.addHook('onError', (request, _reply, error, done) => {
    spans.get(request)?.recordException(error);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const span = spans.get(request);
    if (span) {
      span.setAttribute('http.response.status_code', reply.statusCode);
      if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
    done();
  });
}
