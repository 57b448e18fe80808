import { ConnectionLostError, ServerUnreachableError } from '@tidemark/core';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createPostgresEventStore } from '../src/index.js';

// No server needed: nothing listens on port 1, and the .invalid top-level domain never resolves (RFC 6761).
describe('opening a PostgreSQL store where no server can be reached', () => {
  it('rejects with ServerUnreachableError naming host:port, not the password', async () => {
    const opening = createPostgresEventStore({ url: 'postgres://ops:s3cret@127.0.0.1:1/test' });
    await expect(opening).rejects.toBeInstanceOf(ServerUnreachableError);
    // Still a ConnectionLostError, so what retries those retries this too.
    await expect(opening).rejects.toBeInstanceOf(ConnectionLostError);
    const error = (await opening.catch((caught: unknown) => caught)) as ServerUnreachableError;
    expect(error.message).toBe('cannot connect to PostgreSQL at 127.0.0.1:1: connection refused (ECONNREFUSED)');
    expect(error.message).not.toMatch(/s3cret|ops|postgres:/);
    expect(JSON.stringify(error.details)).not.toMatch(/s3cret/);
  });

  it('says an unknown host is no such host (ENOTFOUND)', async () => {
    const opening = createPostgresEventStore({ url: 'postgres://ops:s3cret@no-such-host.invalid:6543/test' });
    await expect(opening).rejects.toBeInstanceOf(ServerUnreachableError);
    await expect(opening).rejects.toThrow('cannot connect to PostgreSQL at no-such-host.invalid:6543: no such host (ENOTFOUND)');
  });

  it("names a caller's pool by its options: localhost, and the address it resolved to", async () => {
    const pool = new pg.Pool({ connectionString: 'postgres://ops:s3cret@localhost:1/test', max: 1 });
    try {
      const opening = createPostgresEventStore({ pool });
      await expect(opening).rejects.toBeInstanceOf(ServerUnreachableError);
      await expect(opening).rejects.toThrow(
        /^cannot connect to PostgreSQL at localhost:1 \((127\.0\.0\.1|\[::1\]):1\): connection refused \(ECONNREFUSED\)$/,
      );
    } finally {
      await pool.end();
    }
  });
});
