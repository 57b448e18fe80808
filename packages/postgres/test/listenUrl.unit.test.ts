import { ValidationError } from '@tidemark/core';
import { describe, expect, it } from 'vitest';
import { createPostgresEventStore } from '../src/index.js';

describe('listenUrl', () => {
  it('refuses an empty connection string before connecting: pg would silently connect to its defaults instead', async () => {
    // Nothing listens on port 9: the refusal must come before any connection attempt.
    await expect(createPostgresEventStore({ url: 'postgres://127.0.0.1:9/none', listenUrl: '' })).rejects.toThrow(ValidationError);
  });
});
