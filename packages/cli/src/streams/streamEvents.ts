import { NotFoundError, type RecordedEvent } from '@tidemark/core';
import { type Command, InvalidArgumentError } from 'commander';
import type { CliIo } from '../cliIo.js';
import { escapeControls } from '../output/escapeControls.js';
import { eventLine } from '../output/eventLine.js';
import { jsonText } from '../output/jsonText.js';
import { nonEmpty } from '../store/nonEmpty.js';
import { withStore } from '../store/openStore.js';
import type { StoreArguments } from '../store/storeArguments.js';
import { addStoreOptions, storeArgumentsOf } from '../store/storeOptions.js';
import { wholeNumber } from '../store/wholeNumber.js';
import { UsageError } from '../usageError.js';

export interface StreamArguments extends StoreArguments {
  streamId: string;
  /** Only events recorded at or before this instant. */
  asOf?: Date;
  /** Only events up to this version (inclusive). */
  version?: number;
  json: boolean;
}

/**
 * An instant as ISO-8601 text (`2026-11-30T12:00:00Z`, `2026-11-30`); anything Date cannot read is
 * a bad argument, and so is a day the month does not have, which Date rolls over (2026-02-30 would
 * be March 2nd).
 */
function instant(value: string): Date {
  const parsed = new Date(value);
  const [, year, month, day] = /^(\d{4})-(\d{2})-(\d{2})/.exec(value)?.map(Number) ?? [];
  const calendarDay =
    year !== undefined && month !== undefined && day !== undefined && new Date(Date.UTC(year, month - 1, day)).getUTCDate() === day;
  if (!calendarDay || Number.isNaN(parsed.getTime())) {
    throw new InvalidArgumentError('must be an ISO-8601 date or time, such as 2026-11-30T12:00:00Z');
  }
  return parsed;
}

/** `tidemark stream <id> [--as-of TIME | --version N]`: a stream's events up to a point in its history. */
export function addStreamCommand(program: Command, io: CliIo): void {
  addStoreOptions(
    program
      .command('stream')
      .description("a stream's events, up to a version or a time, and the version reached")
      .argument('<id>', 'the stream id', nonEmpty),
  )
    .option('--as-of <time>', 'only events recorded at or before this time (ISO-8601)', instant)
    .option('--version <n>', 'only events up to this version', wholeNumber(1))
    .option('--json', 'print one JSON document instead of text')
    .action(async (streamId: string, options: Record<string, unknown>) => {
      if (options.asOf !== undefined && options.version !== undefined) {
        throw new UsageError('stream: give --as-of or --version, not both');
      }
      await streamEvents(
        {
          ...(await storeArgumentsOf('stream', options)),
          streamId,
          ...(options.asOf instanceof Date && { asOf: options.asOf }),
          ...(typeof options.version === 'number' && { version: options.version }),
          json: options.json === true,
        },
        io,
      );
    });
}

export async function streamEvents(args: StreamArguments, io: CliIo): Promise<void> {
  const { events, head } = await withStore(args, async ({ store }) => {
    const all = await store.readStream(args.streamId, args.version === undefined ? {} : { to: args.version });
    const last = (await store.readStream(args.streamId, { direction: 'backwards', limit: 1 }))[0];
    const { asOf } = args;
    return { events: asOf ? all.filter((event) => event.recordedAt <= asOf) : all, head: last?.version ?? 0 };
  });
  if (head === 0) throw new NotFoundError(`Stream '${args.streamId}' has no events`, { streamId: args.streamId });
  const reached: RecordedEvent | undefined = events[events.length - 1];
  const summary = {
    streamId: args.streamId,
    version: reached?.version ?? 0,
    recordedAt: reached?.recordedAt,
    currentVersion: head,
    ...(args.asOf && { asOf: args.asOf }),
    ...(args.version !== undefined && { upToVersion: args.version }),
  };
  if (args.json) {
    io.stdout.write(jsonText({ ...summary, events }));
    return;
  }
  for (const event of events) io.stdout.write(eventLine(event));
  const point = args.asOf ? ` as of ${args.asOf.toISOString()}` : args.version !== undefined ? ` up to version ${args.version}` : '';
  const stream = escapeControls(args.streamId);
  io.stdout.write(
    reached
      ? `Stream ${stream}${point}: version ${reached.version} of ${head}, reached at ${reached.recordedAt.toISOString()}.\n`
      : `Stream ${stream}${point}: no events yet (it is at version ${head} now).\n`,
  );
}
