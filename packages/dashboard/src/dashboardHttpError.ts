import { type ErrorCode, TidemarkError } from '@tidemark/core';

export interface DashboardErrorBody {
  error: { code: string; message: string; details: Record<string, unknown> };
}

const statusByCode: Partial<Record<ErrorCode, number>> = {
  validation: 400,
  not_found: 404,
  rebuild_refused: 409,
  concurrency: 409,
  domain_rule: 422,
  store_busy: 503,
  retries_exhausted: 503,
  transaction_conflict: 503,
  connection_lost: 503,
};

export function errorBody(code: string, message: string, details: Record<string, unknown> = {}): DashboardErrorBody {
  return { error: { code, message, details } };
}

/** The dashboard's errors as DESIGN.md §7 bodies: typed errors by code, fastify's 4xx by status, the rest a 500. */
export function toDashboardError(error: unknown): { statusCode: number; body: DashboardErrorBody } {
  if (error instanceof TidemarkError) {
    const statusCode = statusByCode[error.code] ?? 500;
    if (statusCode >= 500) return { statusCode, body: errorBody(statusCode === 503 ? error.code : 'internal', error.message) };
    return { statusCode, body: errorBody(error.code, error.message, error.details) };
  }
  const statusCode = (error as { statusCode?: unknown } | null)?.statusCode;
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return { statusCode, body: errorBody('bad_request', error instanceof Error ? error.message : 'Bad request') };
  }
  return { statusCode: 500, body: errorBody('internal', 'Internal server error') };
}
