import type { Command } from 'commander';
import type { CliIo } from '../cliIo.js';
import { ageText } from '../output/ageText.js';
import { formatTable } from '../output/formatTable.js';
import { jsonText } from '../output/jsonText.js';
import { withStore } from '../store/openStore.js';
import type { StoreArguments } from '../store/storeArguments.js';
import { addStoreOptions, storeArgumentsOf } from '../store/storeOptions.js';

/** One inbox consumer as an operator sees it. */
export interface ConsumerStatus {
  consumer: string;
  /** Inbox records kept: messages handled and not yet expired. */
  records: number;
  lastHandledAt: Date;
  /** A log consumer (one reading the event log in process) keeps a checkpoint under its name. */
  position?: bigint;
  /** The store's head position, beside `position`: equal when the consumer has caught up. */
  head?: bigint;
}

/** `tidemark consumers status`: the inbox consumers, their last message and (for log consumers) their position. */
export function addConsumersCommands(program: Command, io: CliIo): void {
  const consumers = program.command('consumers').description('the message consumers writing to the inbox');
  addStoreOptions(
    consumers
      .command('status')
      .description('each inbox consumer: messages recorded, the last one handled, its checkpoint when it reads the log'),
  )
    .option('--json', 'print JSON instead of a table')
    .action(async (options: Record<string, unknown>) => {
      await consumersStatus({ ...(await storeArgumentsOf('consumers status', options)), json: options.json === true }, io);
    });
}

export async function consumersStatus(args: StoreArguments & { json: boolean }, io: CliIo): Promise<void> {
  const statuses = await withStore(args, async ({ store, inbox, checkpoints }) => {
    const head = await store.headPosition();
    return store.transaction(async (tx) => {
      const found = await inbox.consumers(tx);
      const result: ConsumerStatus[] = [];
      for (const consumer of found) {
        const checkpoint = await checkpoints.load(consumer.consumer, tx);
        result.push({ ...consumer, ...(checkpoint && { position: checkpoint.position, head }) });
      }
      return result;
    });
  });
  if (args.json) {
    io.stdout.write(jsonText(statuses));
    return;
  }
  if (statuses.length === 0) {
    io.stdout.write('No consumer has recorded a message in the inbox.\n');
    return;
  }
  io.stdout.write(
    formatTable(
      ['CONSUMER', 'RECORDS', 'LAST HANDLED', 'POSITION', 'HEAD'],
      statuses.map((status) => [
        status.consumer,
        String(status.records),
        `${ageText(status.lastHandledAt)} ago`,
        status.position === undefined ? '-' : String(status.position),
        status.head === undefined ? '-' : String(status.head),
      ]),
    ),
  );
}
