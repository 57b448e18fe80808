import { StoreMisconfiguredError } from '@tidemark/core';

/** SQLSTATEs of a named statement that exists when the store prepares it, or is gone when it runs it. */
const statementNameStates = new Set(['42P05', '26000']);

/**
 * The store names its prepared statements `tidemark:<schema>:…` and prepares each once per
 * connection. A pooler in transaction mode (PgBouncer before 1.21) hands one server connection to
 * several clients, so one client finds another's statement already there, or its own gone:
 * PostgreSQL then says only `prepared statement "tidemark:…" already exists`. As
 * StoreMisconfiguredError it says what to change; undefined for any other error.
 */
export function toStatementNameConflictError(error: unknown): StoreMisconfiguredError | undefined {
  const raised = error as { code?: unknown; message?: unknown } | null;
  if (!statementNameStates.has(raised?.code as string) || typeof raised?.message !== 'string') return undefined;
  if (!raised.message.includes('"tidemark:')) return undefined;
  return new StoreMisconfiguredError(
    `${raised.message}: the store's named prepared statements met another client's on a shared server connection, as behind a pooler in transaction mode. Open the store with preparedStatements: false there (or connect in session mode)`,
    { sqlState: raised.code, option: 'preparedStatements' },
    { cause: error },
  );
}
