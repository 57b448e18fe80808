import type { NewEvent, RecordedEvent } from '../domain/event.js';

export interface EventStage {
  /** Append path: runs in stage order on the events of one append, before the size checks
   *  and serialisation; throw a typed error to refuse the append (nothing written). */
  write?(events: readonly NewEvent[], streamId: string): readonly NewEvent[] | Promise<readonly NewEvent[]>;
  /** Every read path (readStream, readAll, aggregateStream, subscriptions, projectors,
   *  rebuilds, the log relay, the stores' append results' `events`): runs in REVERSE stage
   *  order on a batch of recorded events. Return the same array when nothing changes. */
  read?(events: readonly RecordedEvent[]): readonly RecordedEvent[] | Promise<readonly RecordedEvent[]>;
}
