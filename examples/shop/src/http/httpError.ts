import { type ErrorCode, RetriesExhaustedError, TidemarkError } from '@tidemark/core';
import { ZodError } from 'zod';

/** The one error body of DESIGN.md §7. */
export interface ErrorBody {
  error: { code: string; message: string; details: Record<string, unknown> };
}

export interface HttpError {
  statusCode: number;
  body: ErrorBody;
  headers?: Record<string, string>;
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
  // Old event ids with a new payload: as for an Idempotency-Key reused with another body.
  idempotency_conflict: 422,
  idempotency_key_reused: 422,
  not_found: 404,
  // A rebuild refused up front (a view on the table): the operator must act first.
  rebuild_refused: 409,
  domain_rule: 422,
  // A command type with no handler is a wiring bug in the server, not the client's fault.
  unknown_message: 500,
  // Raised when a store opens, before the server serves anything; a deployment step is missing.
  positions_rebase_required: 503,
  // The server's database role lacks a grant: the server's misconfiguration, not the client's
  // fault (so not 403, which would blame the client's credentials), and retrying changes nothing
  // until an operator grants it (so not 503 with Retry-After). The body names nothing internal.
  permission_denied: 500,
  // The store's options do not suit its connection (a pooler): as above, the operator's to fix.
  misconfigured: 500,
  // The server called its store inside a transaction of it: a bug in the server.
  nested_store_call: 500,
  // The database's write lock was held elsewhere for the whole busy timeout: try again later.
  store_busy: 503,
  // The server is busy or its database unreachable for now: the client may try again later.
  retries_exhausted: 503,
  // A tombstoned stream: gone for good.
  stream_deleted: 410,
  // State asked for before an archived point that no snapshot covers: nothing to answer with.
  stream_truncated: 410,
  transaction_conflict: 503,
  connection_lost: 503,
  commit_outcome_unknown: 503,
  // Written, but a read stage of the server's failed on the result: its fault, and not "try again".
  appended_but_unreadable: 500,
  transaction_limit: 500,
};

/** Fastify's own client errors (body parsing, limits) carry a 4xx statusCode; name them for clients. */
const codeByStatus: Record<number, string> = {
  400: 'malformed_request',
  404: 'not_found',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

const body = (code: string, message: string, details: Record<string, unknown> = {}): ErrorBody => ({ error: { code, message, details } });

const maxIssues = 20;
const maxIssueText = 200;

/**
 * Client-chosen text as an issue shows it: zod quotes unknown keys in its messages, of any
 * length and with any characters: a 1 MiB body of unknown keys was answered with 1.8 MB,
 * terminal escapes included. As shortPath does for paths: at most 20 issues of at most 200
 * characters each, controls and invisible formatting (escapes, bidi overrides) shown as '?'.
 */
function shown(text: string): string {
  const clean = text.replace(/[\p{Cc}\p{Cf}\p{Cs}]/gu, '?');
  return clean.length > maxIssueText ? `${clean.slice(0, maxIssueText)}…` : clean;
}

export function toHttpError(error: unknown): HttpError {
  if (error instanceof ZodError) {
    const issues = error.issues
      .slice(0, maxIssues)
      .map((issue) => ({ path: shown(issue.path.map(String).join('.')), message: shown(issue.message) }));
    const first = issues[0];
    const message = first ? `Invalid request: ${first.path ? `${first.path}: ` : ''}${first.message}` : 'Invalid request';
    return { statusCode: 400, body: body('validation', message, { issues }) };
  }
  if (error instanceof TidemarkError) {
    const statusCode = statusByCode[error.code] ?? 500;
    if (statusCode === 503) {
      const retryAfterMs = error instanceof RetriesExhaustedError ? error.retryAfterMs : 1000;
      return {
        statusCode,
        body: body(error.code, error.message, {}),
        headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) },
      };
    }
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
