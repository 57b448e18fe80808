/**
 * What a broker-backed consumer does with the messages in its hands: runs at most
 * `concurrency` at once, and a key's messages one at a time in the order they arrived — a key's
 * next message does not start before the previous one is settled. The broker bounds how many it
 * hands over (a pull of `room` messages, an AMQP prefetch), so `inHand` counts the running and
 * the waiting alike.
 */
export class KeyedDispatcher<T> {
  private readonly queues = new Map<string, T[]>();
  private readonly items = new Set<T>();
  private waiters: Array<() => void> = [];

  constructor(
    private readonly concurrency: number,
    private readonly keyOf: (item: T) => string,
    private readonly run: (item: T) => Promise<void>,
  ) {}

  /** Messages handed over and not yet settled, running or waiting for their key. */
  get inHand(): number {
    return this.items.size;
  }

  /** How many more messages this consumer may take now. */
  get room(): number {
    return Math.max(0, this.concurrency - this.items.size);
  }

  /** Every message in hand (to keep their acknowledgement deadlines alive). */
  held(): T[] {
    return [...this.items];
  }

  push(item: T): void {
    this.items.add(item);
    const key = this.keyOf(item);
    const queue = this.queues.get(key);
    if (queue) {
      queue.push(item);
      return;
    }
    this.queues.set(key, [item]);
    this.start(key, item);
  }

  /** Resolves once something changed: a message settled (room may have opened). */
  changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Resolves when nothing is in hand any more. */
  async idle(): Promise<void> {
    while (this.items.size > 0) await this.changed();
  }

  private start(key: string, item: T): void {
    void this.run(item)
      .catch(() => {
        // `run` settles the message itself (ack, retry, dead letter); a throw here has nowhere better to go.
      })
      .finally(() => {
        this.items.delete(item);
        const queue = this.queues.get(key)!;
        queue.shift();
        const next = queue[0];
        if (next === undefined) this.queues.delete(key);
        else this.start(key, next);
        const waiters = this.waiters;
        this.waiters = [];
        for (const wake of waiters) wake();
      });
  }
}
