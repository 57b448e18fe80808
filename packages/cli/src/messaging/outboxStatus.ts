import type { Command } from 'commander';
import type { CliIo } from '../cliIo.js';
import { ageText } from '../output/ageText.js';
import { jsonText } from '../output/jsonText.js';
import { withStore } from '../store/openStore.js';
import type { StoreArguments } from '../store/storeArguments.js';
import { addStoreOptions, storeArgumentsOf } from '../store/storeOptions.js';

/** `tidemark outbox status`: the outbox table's backlog and the age of its oldest unpublished message. */
export function addOutboxCommands(program: Command, io: CliIo): void {
  const outbox = program.command('outbox').description('the transactional outbox');
  addStoreOptions(
    outbox.command('status').description("messages waiting in the outbox table, the oldest one's age, published ones still retained"),
  )
    .option('--json', 'print one JSON document instead of text')
    .action(async (options: Record<string, unknown>) => {
      await outboxStatus({ ...(await storeArgumentsOf('outbox status', options)), json: options.json === true }, io);
    });
}

export async function outboxStatus(args: StoreArguments & { json: boolean }, io: CliIo): Promise<void> {
  const stats = await withStore(args, ({ store, outbox }) => store.transaction((tx) => outbox.stats(tx)));
  const now = new Date();
  const oldestAgeSeconds = stats.oldestUnpublishedAt
    ? Math.max(0, Math.round((now.getTime() - stats.oldestUnpublishedAt.getTime()) / 1000))
    : 0;
  if (args.json) {
    io.stdout.write(jsonText({ ...stats, oldestAgeSeconds }));
    return;
  }
  io.stdout.write(
    stats.backlog === 0
      ? `Outbox: nothing waiting; ${stats.retained} published messages retained.\n`
      : `Outbox: ${stats.backlog} messages waiting, the oldest added ${ageText(stats.oldestUnpublishedAt ?? now, now)} ago (${stats.oldestUnpublishedAt?.toISOString()}); ${stats.retained} published messages retained.\n`,
  );
}
