import { StoreMisconfiguredError } from '@tidemark/core';

/**
 * SQLSTATE 25006 (read_only_sql_transaction) on a store's write: the server refuses writes on
 * this connection — a standby, or `default_transaction_read_only` set on the role or database.
 * Retrying on the same connection changes nothing, so it is a StoreMisconfiguredError naming
 * both causes, not a transient failure; undefined for any other error.
 */
export function toReadOnlyConnectionError(error: unknown): StoreMisconfiguredError | undefined {
  const raised = error as { code?: unknown; message?: unknown } | null;
  if (raised?.code !== '25006') return undefined;
  return new StoreMisconfiguredError(
    `The database refuses writes on this connection (${String(raised.message)}): it is a standby, or default_transaction_read_only is on for the store's role or database. Connect to the primary, or turn the setting off for that role`,
    { sqlState: '25006', setting: 'default_transaction_read_only' },
    { cause: error },
  );
}
