import { type ErrorCode, TidemarkError } from '@tidemark/core';
import { ZodError } from 'zod';

/** The one error body of DESIGN.md §7. */
export interface ErrorBody {
  error: { code: string; message: string; details: Record<string, unknown> };
}

export interface HttpError {
  statusCode: number;
  body: ErrorBody;
}

/**
 * The whole TidemarkError → HTTP mapping. Exhaustive over ErrorCode, so a new code added to
 * core fails the type check here instead of falling through to a 500.
 */
const statusByCode: Record<ErrorCode, number> = {
  validation: 400,
  payload_too_large: 413,
  concurrency: 409,
  duplicate_event_id: 409,
  not_found: 404,
  // A rebuild refused up front (a view on the table): the operator must act first.
  rebuild_refused: 409,
  domain_rule: 422,
  // A command type with no handler is a wiring bug in the server, not the client's fault.
  unknown_message: 500,
};

/** Fastify's own client errors (body parsing, limits) carry a 4xx statusCode; name them for clients. */
const codeByStatus: Record<number, string> = {
  400: 'malformed_request',
  404: 'not_found',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

const body = (code: string, message: string, details: Record<string, unknown> = {}): ErrorBody => ({ error: { code, message, details } });

export function toHttpError(error: unknown): HttpError {
  if (error instanceof ZodError) {
    const issues = error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
    const first = issues[0];
    const message = first ? `Invalid request: ${first.path ? `${first.path}: ` : ''}${first.message}` : 'Invalid request';
    return { statusCode: 400, body: body('validation', message, { issues }) };
  }
  if (error instanceof TidemarkError) {
    const statusCode = statusByCode[error.code] ?? 500;
    if (statusCode >= 500) return { statusCode, body: body('internal', 'Internal server error') };
    return { statusCode, body: body(error.code, error.message, error.details) };
  }
  const statusCode = (error as { statusCode?: unknown } | null)?.statusCode;
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    const message = error instanceof Error ? error.message : 'Bad request';
    const fastifyCode = (error as { code?: unknown }).code;
    return {
      statusCode,
      body: body(codeByStatus[statusCode] ?? 'bad_request', message, typeof fastifyCode === 'string' ? { reason: fastifyCode } : {}),
    };
  }
  // Anything else is our bug: say nothing about internals to the client; the handler logs it.
  return { statusCode: 500, body: body('internal', 'Internal server error') };
}
