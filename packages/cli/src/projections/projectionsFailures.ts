import {
  type FailedEvent,
  listFailedEvents,
  type Projection,
  parsePosition,
  type RecordedEvent,
  retryFailedEvent,
  skipFailedEvent,
} from '@tidemark/core';
import { type Command, InvalidArgumentError } from 'commander';
import type { CliIo } from '../cliIo.js';
import { escapeControls } from '../output/escapeControls.js';
import { formatTable } from '../output/formatTable.js';
import { jsonText } from '../output/jsonText.js';
import { nonEmpty } from '../store/nonEmpty.js';
import { type SqlTx, withStore } from '../store/openStore.js';
import type { StoreArguments } from '../store/storeArguments.js';
import { addStoreOptions, storeArgumentsOf } from '../store/storeOptions.js';
import { UsageError } from '../usageError.js';
import { loadProjection, type ProjectionModule } from './loadProjection.js';
import { refusingStagedEvents } from './storedEventsGuard.js';

type Action = 'failed' | 'retry' | 'skip';

interface FailuresArguments extends StoreArguments {
  action: Action;
  projection?: string;
  position?: bigint;
  module?: string;
  asStored?: boolean;
  json: boolean;
}

function position(value: string): bigint {
  const parsed = parsePosition(value);
  if (parsed === undefined || parsed < 1n) throw new InvalidArgumentError('must be a whole number ≥ 1');
  return parsed;
}

/** `tidemark projections failed|retry|skip`: events projections could not handle, and what to do with them. */
export function addFailuresCommands(projections: Command, io: CliIo): void {
  addStoreOptions(
    projections
      .command('failed')
      .description('list the events projections failed on (halted) or parked (dead letters)')
      .argument('[projection]', 'only this projection', nonEmpty),
  )
    .option('--json', 'print JSON instead of a table')
    .action(async (projection: string | undefined, options: Record<string, unknown>) => {
      const store = await storeArgumentsOf('projections failed', options);
      await projectionsFailures(
        { action: 'failed', ...store, ...(projection !== undefined && { projection }), json: options.json === true },
        io,
      );
    });
  addStoreOptions(
    projections
      .command('retry')
      .description('retry a failed or parked event')
      .argument('<projection>', "the projection's name", nonEmpty)
      .requiredOption('--position <n>', "the event's global position", position)
      .option(
        '--module <file>',
        'the module exporting the projection (needed to apply a parked event), and the `stages` of the store',
        nonEmpty,
      )
      .addHelpText(
        'after',
        '\nA parked event is applied with the projection from --module and its dead letter removed, in one\n' +
          'transaction; a failed one has its failure cleared, so the projector retries it when it next starts.\n' +
          "The store is opened with the module's `stages` export, as for rebuild; without it, a parked event with\n" +
          'an encrypted field is refused (exit code 1, nothing written), unless --as-stored.',
      ),
  )
    .option('--as-stored', 'the module exports no stages: apply the event as it is, encrypted fields and all')
    .option('--json', 'print JSON instead of text')
    .action(async (projection: string, options: Record<string, unknown>) => {
      await projectionsFailures(
        {
          action: 'retry',
          ...(await storeArgumentsOf('projections retry', options)),
          projection,
          position: options.position as bigint,
          ...(typeof options.module === 'string' && { module: options.module }),
          asStored: options.asStored === true,
          json: options.json === true,
        },
        io,
      );
    });
  addStoreOptions(
    projections
      .command('skip')
      .description('skip a failed or parked event')
      .argument('<projection>', "the projection's name", nonEmpty)
      .requiredOption('--position <n>', "the event's global position", position)
      .addHelpText(
        'after',
        "\nA parked event's dead letter is dropped; a failed one moves the projector's checkpoint past the\n" +
          'event, so it resumes after it when it next starts.',
      ),
  )
    .option('--json', 'print JSON instead of text')
    .action(async (projection: string, options: Record<string, unknown>) => {
      await projectionsFailures(
        {
          action: 'skip',
          ...(await storeArgumentsOf('projections skip', options)),
          projection,
          position: options.position as bigint,
          json: options.json === true,
        },
        io,
      );
    });
}

async function projectionsFailures(args: FailuresArguments, io: CliIo): Promise<void> {
  let loaded: ProjectionModule | undefined;
  if (args.module !== undefined && args.projection !== undefined) {
    try {
      loaded = await loadProjection(args.module, args.projection);
    } catch (error) {
      throw new UsageError(`projections ${args.action}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (args.asStored && loaded?.stages !== undefined) {
    throw new UsageError(`projections ${args.action}: --as-stored goes with a module that exports no stages`);
  }
  // A dead letter holds the event as the projector read it; without the stages, one with an encrypted field is refused.
  const projection: Projection<SqlTx> | undefined =
    loaded && loaded.stages === undefined && !args.asStored
      ? refusingStagedEvents(loaded.projection, `projections ${args.action}`)
      : loaded?.projection;
  await withStore(
    args,
    async ({ store, checkpoints, readStages }) => {
      if (args.action === 'failed') {
        const failed = await listFailedEvents(store, checkpoints, args.projection);
        io.stdout.write(args.json ? jsonText(failed) : failedTable(failed));
        return;
      }
      const target = { store, checkpoints, name: args.projection as string, position: args.position as bigint };
      // A dead letter is a copy of the event kept outside the log: read through the stages as the log is.
      const applied = projection && readStages ? readingThrough(projection, readStages) : projection;
      const done =
        args.action === 'retry'
          ? await retryFailedEvent({ ...target, ...(applied && { projection: applied }) })
          : await skipFailedEvent(target);
      io.stdout.write(args.json ? jsonText(done) : `${describe(args.action, done)}\n`);
    },
    loaded?.stages,
  );
}

/** The projection, applying events after the module's stages have read them. */
function readingThrough(
  projection: Projection<SqlTx>,
  readStages: (events: readonly RecordedEvent[]) => Promise<readonly RecordedEvent[]>,
): Projection<SqlTx> {
  const apply: Projection<SqlTx>['apply'] = async (events, tx, tables) =>
    projection.apply.call(projection, [...(await readStages(events))], tx, tables);
  return Object.create(projection, { apply: { value: apply, enumerable: true } }) as Projection<SqlTx>;
}

function describe(action: 'retry' | 'skip', event: FailedEvent): string {
  const what = escapeControls(
    `${event.status} event at position ${event.position} of ${event.projection} (${event.eventType} on ${event.streamId})`,
  );
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
  return formatTable(
    ['PROJECTION', 'STATUS', 'POSITION', 'TYPE', 'STREAM', 'EVENT ID', 'ATTEMPTS', 'AT', 'ERROR'],
    failed.map((event) => [
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
    ]),
  );
}
