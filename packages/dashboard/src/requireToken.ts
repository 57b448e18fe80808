import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from './dashboardHttpError.js';

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * The preHandler of every action: `Authorization: Bearer <token>`. No header is 401 (with the
 * challenge), a wrong token or a dashboard configured without one is 403. Compared as digests
 * in constant time, so the response time says nothing about how much of a guess was right.
 */
export function requireToken(token: string | undefined) {
  const expected = token === undefined || token === '' ? undefined : digest(token);
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (!expected) {
      return reply
        .code(403)
        .send(errorBody('forbidden', 'Actions are disabled: the dashboard was started without a token (DASHBOARD_TOKEN)'));
    }
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer realm="tidemark-dashboard"')
        .send(errorBody('unauthorized', 'This action needs Authorization: Bearer <DASHBOARD_TOKEN>'));
    }
    if (!timingSafeEqual(digest(match[1] as string), expected)) {
      return reply.code(403).send(errorBody('forbidden', 'The bearer token is not the dashboard token'));
    }
    return undefined;
  };
}
