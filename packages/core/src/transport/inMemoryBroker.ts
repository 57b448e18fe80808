import { type Clock, systemClock } from '../domain/clock.js';
import { failureText } from '../processing/failureText.js';
import { callHandler } from './callHandler.js';
import { type DeadLetteredMessage, type DeliveredMessage, type MessageHandler, RejectMessageError } from './transport.js';
import type { PreparedMessage, ResolvedConsumeOptions } from './transportInput.js';

interface StoredMessage {
  readonly sequence: bigint;
  readonly publishedAt: Date;
  /** Frozen fields of the message; `attempt` is added per delivery. */
  readonly body: Omit<DeliveredMessage, 'attempt'>;
  readonly json: string;
}

interface Entry {
  readonly stored: StoredMessage;
  /** Deliveries so far to this group. */
  attempts: number;
  holder: ConsumerState | undefined;
}

interface KeyQueue {
  readonly entries: Entry[];
  /** The head is out: in a consumer's hands or waiting for its retry delay. */
  busy: boolean;
}

interface ConsumerState {
  readonly options: ResolvedConsumeOptions;
  readonly handler: MessageHandler;
  readonly connection: object;
  readonly inHand: Set<Promise<void>>;
  readonly entries: Set<Entry>;
  stopped: boolean;
  /** Its connection closed under it: its in-hand entries were handed back, late settlements are ignored. */
  abandoned: boolean;
}

class Group {
  readonly types = new Set<string>();
  readonly keys = new Map<string, KeyQueue>();
  /** Keys whose head message may be delivered now, fairest first. */
  readonly ready: string[] = [];
  readonly consumers: ConsumerState[] = [];
  readonly deadLetters: DeadLetteredMessage[] = [];
  readonly timers = new Set<NodeJS.Timeout>();
  next = 0;

  constructor(readonly name: string) {}
}

export interface InMemoryBrokerOptions {
  /** A re-published message id is dropped within this window after its first publish. Default 2 minutes (JetStream's default). */
  readonly duplicateWindowMs?: number;
  /** Stamps publish times (replay from a time, the de-duplication window). Default the system clock. */
  readonly clock?: Clock;
}

/**
 * The state behind in-memory transports: a retained log, consumer groups, de-duplication. One
 * broker serves several transports (connections), so a test can drop one connection while its
 * consumer holds messages, as a crashed process would, and watch another receive them.
 *
 * Ordering: within a group a key's next message is delivered only once the previous one is
 * settled — acknowledged or dead-lettered — whichever consumer held it and however many
 * retries it took. Keys are independent and served round-robin.
 */
export class InMemoryBroker {
  private readonly log: StoredMessage[] = [];
  private readonly groups = new Map<string, Group>();
  private readonly recentIds = new Map<string, number>();
  private readonly duplicateWindowMs: number;
  private readonly clock: Clock;

  constructor(options: InMemoryBrokerOptions = {}) {
    this.duplicateWindowMs = options.duplicateWindowMs ?? 120_000;
    this.clock = options.clock ?? systemClock;
  }

  publish(prepared: readonly PreparedMessage[]): void {
    const now = this.clock.now();
    this.forgetOldIds(now.getTime());
    for (const { message, json, headers } of prepared) {
      if (this.recentIds.has(message.id)) continue;
      this.recentIds.set(message.id, now.getTime());
      const stored: StoredMessage = {
        sequence: BigInt(this.log.length + 1),
        publishedAt: now,
        json,
        body: {
          id: message.id,
          type: message.type,
          schemaVersion: message.schemaVersion,
          key: message.key,
          data: undefined,
          headers: { ...headers },
          occurredAt: message.occurredAt ?? now,
          sequence: BigInt(this.log.length + 1),
        },
      };
      this.log.push(stored);
      for (const group of this.groups.values()) if (group.types.has(stored.body.type)) this.enqueue(group, stored);
    }
    for (const group of this.groups.values()) this.pump(group);
  }

  /** Adds a consumer; a group is created on first use, starting where `options.startFrom` says. */
  subscribe(options: ResolvedConsumeOptions, handler: MessageHandler, connection: object): ConsumerState {
    let group = this.groups.get(options.group);
    if (!group) {
      group = new Group(options.group);
      for (const type of options.types) group.types.add(type);
      this.groups.set(options.group, group);
      for (const stored of this.log.slice(this.startIndex(options))) {
        if (group.types.has(stored.body.type)) this.enqueue(group, stored);
      }
    } else {
      // A later consumer may widen the group: it receives the added types from now on.
      for (const type of options.types) group.types.add(type);
    }
    const consumer: ConsumerState = {
      options,
      handler,
      connection,
      inHand: new Set(),
      entries: new Set(),
      stopped: false,
      abandoned: false,
    };
    group.consumers.push(consumer);
    this.pump(group);
    return consumer;
  }

  /** Takes no new messages, lets those in hand settle (or time out), then leaves the group. */
  async stop(consumer: ConsumerState): Promise<void> {
    consumer.stopped = true;
    while (consumer.inHand.size > 0) await Promise.allSettled([...consumer.inHand]);
    this.leave(consumer);
  }

  /** A connection went away: its consumers' unsettled messages go back to their groups at once. */
  drop(connection: object): void {
    for (const group of this.groups.values()) {
      for (const consumer of [...group.consumers]) {
        if (consumer.connection !== connection) continue;
        consumer.stopped = true;
        consumer.abandoned = true;
        for (const entry of consumer.entries) {
          entry.holder = undefined;
          const queue = group.keys.get(entry.stored.body.key);
          if (queue) queue.busy = false;
          group.ready.push(entry.stored.body.key);
        }
        consumer.entries.clear();
        this.leave(consumer);
      }
    }
  }

  /** Entries of a group no consumer holds: queued behind their key, ready, or waiting out a retry delay. */
  waiting(group: string): number {
    let count = 0;
    for (const queue of this.groups.get(group)?.keys.values() ?? []) {
      for (const entry of queue.entries) if (entry.holder === undefined) count++;
    }
    return count;
  }

  deadLetters(group: string, limit: number): DeadLetteredMessage[] {
    return (this.groups.get(group)?.deadLetters ?? []).slice(0, limit);
  }

  /** Cancels retry timers (the broker's end; nothing is delivered afterwards). */
  shutdown(): void {
    for (const group of this.groups.values()) {
      for (const timer of group.timers) clearTimeout(timer);
      group.timers.clear();
      group.consumers.length = 0;
    }
  }

  private leave(consumer: ConsumerState): void {
    const group = this.groups.get(consumer.options.group);
    if (!group) return;
    const index = group.consumers.indexOf(consumer);
    if (index >= 0) group.consumers.splice(index, 1);
    this.pump(group);
  }

  private startIndex(options: ResolvedConsumeOptions): number {
    const from = options.startFrom;
    switch (from.kind) {
      case 'new':
        return this.log.length;
      case 'all':
        return 0;
      case 'sequence':
        return Math.min(this.log.length, Number(from.sequence - 1n));
      case 'time': {
        const index = this.log.findIndex((stored) => stored.publishedAt.getTime() >= from.time.getTime());
        return index < 0 ? this.log.length : index;
      }
    }
  }

  private forgetOldIds(now: number): void {
    // Map iteration is insertion order, so the oldest ids come first.
    for (const [id, at] of this.recentIds) {
      if (now - at < this.duplicateWindowMs) break;
      this.recentIds.delete(id);
    }
  }

  private enqueue(group: Group, stored: StoredMessage): void {
    const key = stored.body.key;
    let queue = group.keys.get(key);
    if (!queue) {
      queue = { entries: [], busy: false };
      group.keys.set(key, queue);
    }
    queue.entries.push({ stored, attempts: 0, holder: undefined });
    if (queue.entries.length === 1) group.ready.push(key);
  }

  /** Hands ready keys' head messages to consumers with room, round-robin. */
  private pump(group: Group): void {
    while (group.ready.length > 0) {
      const consumer = this.consumerWithRoom(group);
      if (!consumer) return;
      const key = group.ready.shift()!;
      const queue = group.keys.get(key);
      const entry = queue?.entries[0];
      if (!queue || !entry || queue.busy) continue;
      queue.busy = true;
      this.deliver(group, consumer, entry);
    }
  }

  private consumerWithRoom(group: Group): ConsumerState | undefined {
    for (let i = 0; i < group.consumers.length; i++) {
      const consumer = group.consumers[0]!;
      // Rotate, so that competing consumers share the work.
      group.consumers.push(group.consumers.shift()!);
      if (!consumer.stopped && consumer.entries.size < consumer.options.concurrency) return consumer;
    }
    return undefined;
  }

  private deliver(group: Group, consumer: ConsumerState, entry: Entry): void {
    entry.attempts += 1;
    entry.holder = consumer;
    consumer.entries.add(entry);
    const message: DeliveredMessage = {
      ...entry.stored.body,
      headers: { ...entry.stored.body.headers },
      data: JSON.parse(entry.stored.json),
      attempt: entry.attempts,
    };
    const handling = callHandler(consumer.handler, message, consumer.options)
      .then(
        () => this.settle(group, consumer, entry, undefined),
        (error: unknown) => this.settle(group, consumer, entry, error ?? new Error('handler failed')),
      )
      .finally(() => consumer.inHand.delete(handling));
    consumer.inHand.add(handling);
  }

  private settle(group: Group, consumer: ConsumerState, entry: Entry, error: unknown): void {
    // The connection dropped while the handler ran: the message was already handed back.
    if (consumer.abandoned || entry.holder !== consumer) return;
    consumer.entries.delete(entry);
    entry.holder = undefined;
    const key = entry.stored.body.key;
    if (error !== undefined && !(error instanceof RejectMessageError) && entry.attempts < consumer.options.maxDeliveries) {
      const timer = setTimeout(() => {
        group.timers.delete(timer);
        const queue = group.keys.get(key);
        if (queue) queue.busy = false;
        group.ready.push(key);
        this.pump(group);
      }, consumer.options.retryDelayMs(entry.attempts));
      group.timers.add(timer);
      this.pump(group);
      return;
    }
    if (error !== undefined) {
      group.deadLetters.push({
        message: { ...entry.stored.body, data: JSON.parse(entry.stored.json), attempt: entry.attempts },
        group: group.name,
        error: failureText(error instanceof Error ? error.message : String(error)),
        deadLetteredAt: this.clock.now(),
      });
    }
    const queue = group.keys.get(key)!;
    queue.entries.shift();
    queue.busy = false;
    if (queue.entries.length > 0) group.ready.push(key);
    else group.keys.delete(key);
    this.pump(group);
  }
}
