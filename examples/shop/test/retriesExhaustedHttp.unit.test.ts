import { ConcurrencyError, ConnectionLostError, RetriesExhaustedError } from '@tidemark/core';
import { describe, expect, it } from 'vitest';
import { toHttpError } from '../src/http/httpError.js';

describe('busy and unavailable answers', () => {
  it('maps RetriesExhaustedError to 503 with Retry-After and the JSON error body, never 409', () => {
    const error = new RetriesExhaustedError(40, 5000, 2500, new ConcurrencyError('account-1', 3, 4));
    const http = toHttpError(error);
    expect(http.statusCode).toBe(503);
    expect(http.headers).toEqual({ 'retry-after': '3' });
    expect(http.body.error).toMatchObject({ code: 'retries_exhausted', details: {} });
    expect(http.body.error.message).toContain('try again later');
  });

  it('maps a lost database connection to 503 with Retry-After', () => {
    const http = toHttpError(new ConnectionLostError('The database connection was lost'));
    expect(http.statusCode).toBe(503);
    expect(http.headers).toEqual({ 'retry-after': '1' });
    expect(http.body.error.code).toBe('connection_lost');
  });
});
