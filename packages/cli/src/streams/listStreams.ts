import { maxPageSize, type StreamPage } from '@tidemark/core';
import type { Command } from 'commander';
import type { CliIo } from '../cliIo.js';
import { escapeControls } from '../output/escapeControls.js';
import { formatTable } from '../output/formatTable.js';
import { jsonText } from '../output/jsonText.js';
import { nonEmpty } from '../store/nonEmpty.js';
import { withStore } from '../store/openStore.js';
import type { StoreArguments } from '../store/storeArguments.js';
import { addStoreOptions, storeArgumentsOf } from '../store/storeOptions.js';
import { wholeNumber } from '../store/wholeNumber.js';
import { UsageError } from '../usageError.js';

export interface StreamsArguments extends StoreArguments {
  category?: string;
  limit: number;
  /** The stream id the previous page ended on (its `next`). */
  after?: string;
  json: boolean;
}

/** `tidemark streams`: the streams in stream id order, with their event counts, a page at a time. */
export function addStreamsCommand(program: Command, io: CliIo): void {
  addStoreOptions(program.command('streams').description('list the streams with their event counts and last version, a page at a time'))
    .option('--category <category>', "only streams of this category (the stream id's part before the first '-')", nonEmpty)
    .option('--limit <n>', `streams per page, 1 to ${maxPageSize} (default 50)`, wholeNumber(1))
    .option('--after <stream-id>', 'start after this stream id (the "next" the previous page printed)', nonEmpty)
    .option('--json', 'print one JSON document ({ streams, next }) instead of a table')
    .action(async (options: Record<string, unknown>) => {
      const limit = (options.limit as number | undefined) ?? 50;
      if (limit > maxPageSize) throw new UsageError(`streams: --limit must be at most ${maxPageSize}, not ${limit}`);
      await listStreams(
        {
          ...(await storeArgumentsOf('streams', options)),
          ...(typeof options.category === 'string' && { category: options.category }),
          ...(typeof options.after === 'string' && { after: options.after }),
          limit,
          json: options.json === true,
        },
        io,
      );
    });
}

export async function listStreams(args: StreamsArguments, io: CliIo): Promise<void> {
  const page: StreamPage = await withStore(args, ({ browser }) =>
    browser.listStreams({
      limit: args.limit,
      ...(args.category !== undefined && { category: args.category }),
      ...(args.after !== undefined && { cursor: args.after }),
    }),
  );
  if (args.json) {
    io.stdout.write(jsonText(page));
    return;
  }
  if (page.streams.length === 0) {
    io.stdout.write('No streams.\n');
    return;
  }
  io.stdout.write(
    formatTable(
      ['STREAM', 'CATEGORY', 'EVENTS', 'VERSION', 'LAST EVENT AT'],
      page.streams.map((stream) => [
        stream.streamId,
        stream.category,
        String(stream.eventCount),
        String(stream.lastVersion),
        stream.lastRecordedAt.toISOString(),
      ]),
    ),
  );
  if (page.next !== undefined) io.stdout.write(`More: --after ${escapeControls(JSON.stringify(page.next))}\n`);
}
