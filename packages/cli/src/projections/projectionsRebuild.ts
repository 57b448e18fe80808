import { type Projection, type RebuildResult, rebuildProjection } from '@tidemark/core';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import type { CliIo } from '../cliIo.js';
import { escapeControls } from '../output/escapeControls.js';
import { jsonText } from '../output/jsonText.js';
import { nonEmpty } from '../store/nonEmpty.js';
import { type SqlTx, withStore } from '../store/openStore.js';
import type { StoreArguments } from '../store/storeArguments.js';
import { addStoreOptions, storeArgumentsOf } from '../store/storeOptions.js';
import { wholeNumber } from '../store/wholeNumber.js';
import { UsageError } from '../usageError.js';
import { loadProjection, type ProjectionModule } from './loadProjection.js';
import { refusingStagedEvents } from './storedEventsGuard.js';

export interface RebuildArguments extends StoreArguments {
  projection: string;
  module: string;
  batchSize: number;
  /** Replay the events as stored even though they show stages' work and the module exports no stages. */
  asStored: boolean;
  json: boolean;
}

/** `tidemark projections rebuild <projection> --module <file>`. */
export function addRebuildCommand(projections: Command, io: CliIo): void {
  addStoreOptions(
    projections
      .command('rebuild')
      .description('rebuild a projection into shadow tables and swap it in')
      .argument('<projection>', "the projection's name", nonEmpty)
      .requiredOption(
        '--module <file>',
        'a JS/TS module exporting the projection (by its name), or an array of projections, and the `stages` of the store',
        nonEmpty,
      )
      .addHelpText(
        'after',
        '\nRebuilds the projection from position 0 into shadow tables while the live ones keep serving, then swaps\n' +
          'them in and resets its checkpoint in one transaction. On PostgreSQL --schema is also the search_path\n' +
          'where the read-model tables live.\n\n' +
          "The events are read through the module's `stages` export, the application's event stages (upcasting,\n" +
          'crypto-shredding): an array, or a function of { store, sqlite, postgres: { pool, schema }, onClose }\n' +
          'returning one. Without it, an encrypted field or a type stored at two schema versions stops the\n' +
          'rebuild before anything is swapped in (exit code 1), unless --as-stored.',
      ),
  )
    .option('--batch-size <n>', 'events per replay transaction (default 500)', wholeNumber(1))
    .option('--as-stored', 'the module exports no stages: replay the events as stored, encrypted or old versions alike')
    .option('--json', 'print the result as JSON (progress goes to stderr)')
    .action(async (projection: string, options: Record<string, unknown>) => {
      await projectionsRebuild(
        {
          ...(await storeArgumentsOf('projections rebuild', options)),
          projection,
          module: options.module as string,
          batchSize: (options.batchSize as number | undefined) ?? 500,
          asStored: options.asStored === true,
          json: options.json === true,
        },
        io,
      );
    });
}

export async function projectionsRebuild(args: RebuildArguments, io: CliIo): Promise<void> {
  const { projection: name, batchSize } = args;
  let loaded: ProjectionModule;
  try {
    loaded = await loadProjection(args.module, name);
  } catch (error) {
    // A module that is not there, or exports no such projection, is the caller's argument to fix.
    throw new UsageError(`projections rebuild: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (loaded.stages !== undefined && args.asStored)
    throw new UsageError('projections rebuild: --as-stored goes with a module that exports no stages');
  // Without the application's stages the events are as stored: refuse what they would have changed.
  const projection: Projection<SqlTx> =
    loaded.stages === undefined && !args.asStored ? refusingStagedEvents(loaded.projection, 'projections rebuild') : loaded.projection;
  // With --json stdout holds the one result document; progress goes to stderr.
  const progressOut = args.json ? io.stderr : io.stdout;
  const bar = io.interactive
    ? new cliProgress.SingleBar(
        {
          format: `rebuild ${name} |{bar}| {percentage}% | {events} events | {rate} ev/s | ETA {etaText}`,
          stream: progressOut,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  let lastTenth = -1;
  const result: RebuildResult = await withStore(
    args,
    async ({ store, checkpoints, swap }) => {
      try {
        bar?.start(100, 0, { events: 0, rate: 0, etaText: '?' });
        return await rebuildProjection({
          store,
          projection,
          checkpoints,
          swap,
          batchSize,
          onProgress(progress) {
            const payload = {
              events: progress.eventsProcessed,
              rate: Math.round(progress.eventsPerSecond),
              etaText: progress.etaSeconds === undefined ? '?' : `${Math.ceil(progress.etaSeconds)}s`,
            };
            if (bar) bar.update(Math.floor(progress.fraction * 100), payload);
            else if (Math.floor(progress.fraction * 10) > lastTenth) {
              lastTenth = Math.floor(progress.fraction * 10);
              progressOut.write(
                `${progress.phase} ${Math.floor(progress.fraction * 100)}% ${payload.events} events ${payload.rate} ev/s ETA ${payload.etaText}\n`,
              );
            }
          },
        });
      } finally {
        bar?.stop();
      }
    },
    loaded.stages,
  );
  io.stdout.write(
    args.json
      ? jsonText({ projection: name, ...result })
      : `Rebuilt ${escapeControls(name)}: ${result.eventsProcessed} events up to position ${result.position} in ${(result.durationMs / 1000).toFixed(1)} s; swapped in.\n`,
  );
}
