import { type FastifyReply, type FastifyRequest, LogController } from 'fastify';

/**
 * One log line per request instead of fastify's two: "request completed" carries the request
 * (method, url, host) as well as the status and response time, so the "incoming request" line
 * adds nothing an operator needs — while logging is the largest single cost the shop's event
 * loop pays per command (BENCHMARKS.md). A request that never completes still shows up: its
 * errors, aborts and timeouts are logged by the other hooks, unchanged.
 */
export class RequestLogController extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    if (error) reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    else reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}
