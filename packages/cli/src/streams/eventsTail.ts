import { type EventBrowser, type EventStore, maxPageSize, type ReadAllOptions, type RecordedEvent } from '@tidemark/core';
import type { Command } from 'commander';
import type { CliIo } from '../cliIo.js';
import { eventLine } from '../output/eventLine.js';
import { jsonText } from '../output/jsonText.js';
import { nonEmpty } from '../store/nonEmpty.js';
import { type SqlTx, withStore } from '../store/openStore.js';
import type { StoreArguments } from '../store/storeArguments.js';
import { addStoreOptions, storeArgumentsOf } from '../store/storeOptions.js';
import { wholeNumber } from '../store/wholeNumber.js';
import { UsageError } from '../usageError.js';

export interface TailArguments extends StoreArguments {
  type?: string;
  category?: string;
  /** How many of the latest events to print first. */
  limit: number;
  follow: boolean;
  json: boolean;
  /** While following: how long to wait for a wake-up before reading anyway (a notification can be lost). */
  pollIntervalMs?: number;
}

/** `tidemark events tail`: the latest events of the global log, and with --follow every new one until SIGINT. */
export function addEventsCommands(program: Command, io: CliIo): void {
  const events = program.command('events').description('the global event log');
  addStoreOptions(
    events.command('tail').description('print the latest events of the log (oldest first); --follow keeps printing new ones until Ctrl-C'),
  )
    .option('--type <type>', 'only events of this type', nonEmpty)
    .option('--category <category>', "only streams of this category (the stream id's part before the first '-')", nonEmpty)
    .option('--limit <n>', `how many of the latest events to print first, 0 to ${maxPageSize} (default 20)`, wholeNumber(0))
    .option('--follow', 'keep printing events as they are appended, until interrupted')
    .option('--json', 'print JSON lines, one event per line')
    .action(async (options: Record<string, unknown>) => {
      const limit = (options.limit as number | undefined) ?? 20;
      if (limit > maxPageSize) throw new UsageError(`events tail: --limit must be at most ${maxPageSize}, not ${limit}`);
      await eventsTail(
        {
          ...(await storeArgumentsOf('events tail', options)),
          ...(typeof options.type === 'string' && { type: options.type }),
          ...(typeof options.category === 'string' && { category: options.category }),
          limit,
          follow: options.follow === true,
          json: options.json === true,
        },
        io,
      );
    });
}

export async function eventsTail(args: TailArguments, io: CliIo): Promise<void> {
  const filter: ReadAllOptions = {
    ...(args.type !== undefined && { types: [args.type] }),
    ...(args.category !== undefined && { categories: [args.category] }),
  };
  const print = (event: RecordedEvent) => io.stdout.write(args.json ? jsonText(event) : eventLine(event));
  // Taken over before the first line goes out: whoever reads that line may stop us at once (a
  // SIGTERM between the line and taking the signal over would end the process uncleanly).
  const signal = args.follow ? io.signal : undefined;
  if (args.follow && !signal) throw new Error('events tail --follow needs a signal to stop on');
  await withStore(args, async ({ store, browser }) => {
    // The store's head before reading: following starts from there, so nothing appended while
    // the latest events are printed is lost or printed twice.
    const head = await store.headPosition();
    const latest = await latestEvents(browser, args, head);
    for (const event of latest) print(event);
    if (!signal) return;
    await follow(store, filter, head, print, signal, args.pollIntervalMs ?? 1000);
  });
}

/**
 * The last `limit` matching events at or before `head`, oldest first: one newest-first page of
 * the event browser (an index range, whatever the log's length), reversed.
 */
async function latestEvents(browser: EventBrowser, args: TailArguments, head: bigint): Promise<RecordedEvent[]> {
  if (args.limit === 0) return [];
  const page = await browser.listEvents({
    limit: args.limit,
    ...(args.type !== undefined && { type: args.type }),
    ...(args.category !== undefined && { category: args.category }),
  });
  return page.events.filter((event) => event.position <= head).reverse();
}

/** Prints every matching event after `after` as it becomes readable, until `signal` is aborted. */
async function follow(
  store: EventStore<SqlTx>,
  filter: ReadAllOptions,
  after: bigint,
  print: (event: RecordedEvent) => void,
  signal: AbortSignal,
  pollIntervalMs: number,
): Promise<void> {
  let woken = false;
  let wake: (() => void) | undefined;
  const unsubscribe = store.onAppended(() => {
    woken = true;
    wake?.();
  });
  let position = after;
  try {
    while (!signal.aborted) {
      // Cleared before reading: a wake-up during the read means read again at once.
      woken = false;
      for await (const event of store.readAll({ ...filter, after: position })) {
        print(event);
        position = event.position;
        if (signal.aborted) return;
      }
      if (woken) continue;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          wake = undefined;
          resolve();
        };
        const timer = setTimeout(done, pollIntervalMs);
        signal.addEventListener('abort', done, { once: true });
        wake = done;
      });
    }
  } finally {
    unsubscribe();
  }
}
