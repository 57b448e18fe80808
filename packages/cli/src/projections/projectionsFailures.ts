import { parseArgs } from 'node:util';
import {
  type FailedEvent,
  listFailedEvents,
  type Projection,
  parsePosition,
  retryFailedEvent,
  skipFailedEvent,
  stringifyWithPositions,
} from '@tidemark/core';
import { parseStoreArguments, type StoreArguments, storeOptions } from '../store/storeArguments.js';
import { UsageError } from '../usageError.js';
import { type CliIo, loadProjection, openStore, type SqlTx } from './projectionsRebuild.js';

export const projectionsFailuresUsage = `Usage: tidemark projections failed [<projection>] <store> [--json]
       tidemark projections retry <projection> --position <n> [--module <file>] <store> [--json]
       tidemark projections skip <projection> --position <n> <store> [--json]
  where <store> is --sqlite <file> | --postgres <url> [--schema <name>]

  failed  lists the events projections could not handle: 'failed' (the projector halted on
          it, in stop mode) and 'parked' (set aside in the dead-letter table), with the error
  retry   a parked event: applies it with the projection from --module and removes its dead
          letter, in one transaction; a failed one: clears the failure, so the projector
          retries the event when it next starts
  skip    a parked event: drops its dead letter; a failed one: moves the projector's
          checkpoint past the event, so it resumes after it when it next starts
  --json  print JSON instead of text`;

type Action = 'failed' | 'retry' | 'skip';

interface FailuresArguments extends StoreArguments {
  action: Action;
  projection?: string;
  position?: bigint;
  module?: string;
  json: boolean;
}

export function parseFailuresArguments(action: Action, argv: readonly string[]): FailuresArguments | 'help' {
  const command = `projections ${action}`;
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    throw new UsageError(`${command}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  const [projection, ...extra] = positionals;
  if (extra.length > 0) throw new UsageError(`${command}: unexpected argument '${extra[0]}'`);
  if (action === 'failed') {
    if (values.position !== undefined || values.module !== undefined) {
      throw new UsageError(`${command}: --position and --module go with retry and skip`);
    }
    const store = parseStoreArguments(command, values);
    return { action, ...store, ...(projection !== undefined && { projection }), json: values.json === true };
  }
  if (!projection) throw new UsageError(`${command}: missing the <projection> name`);
  if (values.position === undefined) throw new UsageError(`${command}: missing --position <n>`);
  const position = parsePosition(values.position);
  if (position === undefined || position < 1n) {
    throw new UsageError(`${command}: --position must be a whole number ≥ 1, not '${values.position}'`);
  }
  if (action === 'skip' && values.module !== undefined) throw new UsageError(`${command}: --module goes with retry`);
  const store = parseStoreArguments(command, values);
  return {
    action,
    ...store,
    projection,
    position,
    ...(values.module !== undefined && { module: values.module }),
    json: values.json === true,
  };
}

/** `tidemark projections failed|retry|skip …`; returns the exit code. */
export async function projectionsFailures(action: Action, argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseFailuresArguments(action, argv);
  if (args === 'help') {
    io.stdout.write(`${projectionsFailuresUsage}\n`);
    return 0;
  }
  let projection: Projection<SqlTx> | undefined;
  if (args.module !== undefined && args.projection !== undefined) {
    try {
      projection = await loadProjection(args.module, args.projection);
    } catch (error) {
      throw new UsageError(`projections ${action}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const { store, checkpoints, close } = await openStore(args);
  try {
    if (args.action === 'failed') {
      const failed = await listFailedEvents(store, checkpoints, args.projection);
      io.stdout.write(args.json ? `${stringifyWithPositions(failed)}\n` : failedTable(failed));
      return 0;
    }
    const target = { store, checkpoints, name: args.projection as string, position: args.position as bigint };
    const done =
      args.action === 'retry' ? await retryFailedEvent({ ...target, ...(projection && { projection }) }) : await skipFailedEvent(target);
    io.stdout.write(args.json ? `${stringifyWithPositions(done)}\n` : `${describe(args.action, done)}\n`);
    return 0;
  } finally {
    await close();
  }
}

function describe(action: 'retry' | 'skip', event: FailedEvent): string {
  const what = `${event.status} event at position ${event.position} of ${event.projection} (${event.eventType} on ${event.streamId})`;
  if (action === 'retry') {
    return event.status === 'parked'
      ? `Retried the ${what}: applied, dead letter removed.`
      : `Cleared the failure of the ${what}: the projector retries it when it next starts.`;
  }
  return event.status === 'parked'
    ? `Skipped the ${what}: dead letter dropped.`
    : `Skipped the ${what}: the checkpoint is past it; the projector resumes after it when it next starts.`;
}

function failedTable(failed: readonly FailedEvent[]): string {
  if (failed.length === 0) return 'No failed or parked events.\n';
  const rows = failed.map((event) => [
    event.projection,
    event.status,
    String(event.position),
    event.eventType,
    event.streamId,
    event.eventId,
    String(event.attempts),
    event.at.toISOString(),
    // One line per event, whatever the error said.
    JSON.stringify(event.message),
  ]);
  const header = ['PROJECTION', 'STATUS', 'POSITION', 'TYPE', 'STREAM', 'EVENT ID', 'ATTEMPTS', 'AT', 'ERROR'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return `${[header, ...rows].map(line).join('\n')}\n`;
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      ...storeOptions,
      position: { type: 'string' },
      module: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
