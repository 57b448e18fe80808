import type { Command } from 'commander';
import { parseStoreArguments, type StoreArguments } from './storeArguments.js';

/** The options every command on a store takes: exactly one of --sqlite or --postgres (with --schema). */
export function addStoreOptions(command: Command): Command {
  return command
    .option('--sqlite <file>', 'the SQLite event store file')
    .option('--postgres <url>', 'the PostgreSQL URL (postgres://…)')
    .option('--schema <name>', "the PostgreSQL store's schema (default tidemark)");
}

/** Checks a command's store options (UsageError naming `command`); `mayCreate`: a missing SQLite file is fine. */
export function storeArgumentsOf(command: string, options: Record<string, unknown>, mayCreate = false): StoreArguments {
  const text = (key: string) => (typeof options[key] === 'string' ? (options[key] as string) : undefined);
  return parseStoreArguments(command, { sqlite: text('sqlite'), postgres: text('postgres'), schema: text('schema') }, mayCreate);
}
