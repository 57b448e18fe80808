import { type CheckpointRecord, type EventStore, storeVisibility, type VisibilitySample } from '@tidemark/core';
import type { Command } from 'commander';
import type { CliIo } from '../cliIo.js';
import { ageText } from '../output/ageText.js';
import { formatTable } from '../output/formatTable.js';
import { jsonText } from '../output/jsonText.js';
import { type SqlTx, withStore } from '../store/openStore.js';
import type { StoreArguments } from '../store/storeArguments.js';
import { addStoreOptions, storeArgumentsOf } from '../store/storeOptions.js';

/** Counting the events behind a checkpoint stops here: past it the figure says "at least". */
export const behindCountCap = 10_000;

/** One checkpoint as an operator sees it. */
export interface ProjectionStatus {
  name: string;
  state: 'up-to-date' | 'behind' | 'failed';
  position: bigint;
  /** The readable head: on PostgreSQL committed events may lie past it, held back (see `invisibleEvents`). */
  head: bigint;
  /**
   * Events in the log after the checkpoint (every type): the readable ones counted up to
   * {@link behindCountCap}, plus the committed-but-unreadable ones (`invisibleEvents`).
   */
  eventsBehind: number;
  /** True when there are more than `eventsBehind`. */
  eventsBehindCapped: boolean;
  /** Age of the oldest event not yet handled, readable or not: how stale the read model may be. */
  secondsBehind: number;
  /**
   * Stores with a readable horizon (PostgreSQL) only: events committed but not readable yet,
   * because a transaction open somewhere on the server holds the horizon back. No projection can
   * apply them until it ends; they are counted in `eventsBehind` whatever the projection's filters.
   */
  invisibleEvents?: number;
  /** With `invisibleEvents`: the age in seconds of the oldest transaction holding the horizon back (0: none). */
  horizonAgeSeconds?: number;
  parked: number;
  updatedAt: Date;
  failure?: CheckpointRecord['failure'];
}

/** `tidemark projections status`: every checkpoint, with its lag, failure and dead letters. */
export function addStatusCommand(projections: Command, io: CliIo): void {
  addStoreOptions(
    projections
      .command('status')
      .description('every projection (and log consumer or relay) checkpoint: position, lag, failure, parked events'),
  )
    .option('--json', 'print JSON instead of a table')
    .action(async (options: Record<string, unknown>) => {
      await projectionsStatus({ ...(await storeArgumentsOf('projections status', options)), json: options.json === true }, io);
    });
}

export async function projectionsStatus(args: StoreArguments & { json: boolean }, io: CliIo): Promise<void> {
  const statuses = await withStore(args, async ({ store, checkpoints }) => {
    const { records, failed } = await store.transaction(async (tx) => ({
      records: await checkpoints.list(tx),
      failed: await checkpoints.failedEvents(tx),
    }));
    const head = await store.headPosition();
    // After the head: what the horizon hides then lies past it (the horizon only moves forward),
    // so no event is counted both as readable and as held back.
    const visibility = storeVisibility(store);
    // A status that cannot be had (a role denied the statistics, say) leaves the held-back events out, as before.
    const hidden = visibility && (await visibility().catch(() => undefined));
    const now = new Date();
    const result: ProjectionStatus[] = [];
    for (const record of records) {
      const lag = await lagBehind(store, record.position, now, hidden);
      result.push({
        name: record.name,
        state: record.failure ? 'failed' : lag.events > 0 ? 'behind' : 'up-to-date',
        position: record.position,
        head,
        eventsBehind: lag.events,
        eventsBehindCapped: lag.capped,
        secondsBehind: lag.seconds,
        ...(hidden && { invisibleEvents: hidden.invisibleEvents, horizonAgeSeconds: hidden.oldestOpenTransactionSeconds }),
        parked: failed.filter((event) => event.projection === record.name && event.status === 'parked').length,
        updatedAt: record.updatedAt,
        ...(record.failure && { failure: record.failure }),
      });
    }
    return result;
  });
  if (args.json) {
    io.stdout.write(jsonText(statuses));
    return;
  }
  if (statuses.length === 0) {
    io.stdout.write('No checkpoints: no projection has run on this store.\n');
    return;
  }
  io.stdout.write(
    formatTable(
      ['NAME', 'STATE', 'POSITION', 'HEAD', 'BEHIND', 'LAG', 'PARKED', 'UPDATED', 'FAILURE'],
      statuses.map((status) => [
        status.name,
        status.state,
        String(status.position),
        String(status.head),
        `${status.eventsBehind}${status.eventsBehindCapped ? '+' : ''}`,
        `${status.secondsBehind}s`,
        String(status.parked),
        `${ageText(status.updatedAt)} ago`,
        status.failure
          ? `at ${status.failure.position} (${status.failure.eventType}), ${status.failure.attempts} attempts: ${JSON.stringify(status.failure.message)}`
          : '',
      ]),
    ),
  );
  const held = statuses[0];
  if (held?.invisibleEvents) {
    io.stdout.write(
      `${held.invisibleEvents} events committed but not readable yet (counted in BEHIND): a transaction open for ` +
        `${(held.horizonAgeSeconds ?? 0).toFixed(1)}s somewhere on the server holds the readable horizon back; ` +
        'no projection gets past HEAD until it ends (docs/postgres.md).\n',
    );
  }
}

/**
 * How far the log runs past `position`: readable events counted up to the cap, plus those the
 * horizon hides, and the age of the first of them.
 */
async function lagBehind(
  store: EventStore<SqlTx>,
  position: bigint,
  now: Date,
  hidden: VisibilitySample | undefined,
): Promise<{ events: number; capped: boolean; seconds: number }> {
  let events = 0;
  let oldest: Date | undefined;
  for await (const event of store.readAll({ after: position, limit: behindCountCap + 1, batchSize: 1000 })) {
    oldest ??= event.recordedAt;
    events++;
  }
  const capped = events > behindCountCap;
  const invisible = hidden?.invisibleEvents ?? 0;
  // Readable events are older than held-back ones only when there are some.
  if (invisible > 0) oldest ??= hidden?.oldestInvisibleRecordedAt;
  return {
    events: (capped ? behindCountCap : events) + invisible,
    capped,
    seconds: oldest ? Math.max(0, Math.round((now.getTime() - oldest.getTime()) / 1000)) : 0,
  };
}
