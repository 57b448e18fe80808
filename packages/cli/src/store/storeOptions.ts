import type { Command } from 'commander';
import { nonEmpty } from './nonEmpty.js';
import { parseStoreArguments, type StoreArguments } from './storeArguments.js';

/** The options every command on a store takes: exactly one of --sqlite or --postgres (with --schema). */
export function addStoreOptions(command: Command): Command {
  return command
    .option('--sqlite <file>', 'the SQLite event store file', nonEmpty)
    .option('--postgres <url>', 'the PostgreSQL URL (postgres://…)', nonEmpty)
    .option('--schema <name>', "the PostgreSQL store's schema (default tidemark)", nonEmpty);
}

/** Checks a command's store options (UsageError naming `command`); `mayCreate`: a missing SQLite file is fine. */
export function storeArgumentsOf(command: string, options: Record<string, unknown>, mayCreate = false): Promise<StoreArguments> {
  const text = (key: string) => (typeof options[key] === 'string' ? (options[key] as string) : undefined);
  return parseStoreArguments(command, { sqlite: text('sqlite'), postgres: text('postgres'), schema: text('schema') }, mayCreate);
}
