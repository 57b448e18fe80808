import { type ChannelModel, type ConfirmChannel, connect } from 'amqplib';
import { parseRabbitUrl, rabbitStartFailure } from './rabbitStartFailure.js';

/** What a connection needs: the url and how fast to notice a dead peer. */
export interface RabbitConnectionOptions {
  readonly url: string;
  readonly heartbeatSeconds: number;
  readonly name: string;
  /** The broker's max_message_size, when it is not the default of its version. */
  readonly maxMessageBytes?: number;
}

/** RabbitMQ's default max_message_size: 128 MiB up to 3.x, 16 MiB from 4.0. */
function defaultMaxMessageBytes(version: unknown): number {
  const major = Number.parseInt(String(version), 10);
  return Number.isFinite(major) && major >= 4 ? 16 * 1024 * 1024 : 128 * 1024 * 1024;
}

type ConnectListener = (model: ChannelModel) => Promise<void>;

/**
 * One AMQP connection that comes back: when it drops (broker restart, network cut) it reconnects
 * with backoff (100 ms doubling to 2 s) and tells its listeners — the consumers, which re-open
 * their channels and resume. The publisher channel (confirm mode) is re-created on demand.
 */
export class RabbitConnection {
  private current: ChannelModel | undefined;
  private publisherChannel: Promise<ConfirmChannel> | undefined;
  private readonly listeners = new Set<ConnectListener>();
  private closing = false;
  private reconnecting = false;
  private upWaiters: Array<() => void> = [];

  constructor(private readonly options: RabbitConnectionOptions) {}

  get model(): ChannelModel | undefined {
    return this.current;
  }

  get isClosing(): boolean {
    return this.closing;
  }

  /** The largest message body the broker takes: a larger one closes the publishing channel. */
  get maxMessageBytes(): number {
    return this.options.maxMessageBytes ?? defaultMaxMessageBytes(this.current?.connection.serverProperties.version);
  }

  /** The first connection: a failure of it is typed (rabbitStartFailure), later ones are retried. */
  async start(): Promise<void> {
    const url = parseRabbitUrl(this.options.url);
    try {
      await this.open();
    } catch (error) {
      throw rabbitStartFailure(error, url);
    }
  }

  /** Calls `listener` with every new connection after this one; returns the unsubscribe. */
  onReconnect(listener: ConnectListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The confirm channel publishes go through, on the current connection. */
  publisher(): Promise<ConfirmChannel> {
    const model = this.current;
    if (!model) return Promise.reject(new Error('RabbitMQ connection is down'));
    if (!this.publisherChannel) {
      const opening = model.createConfirmChannel().then((channel) => {
        channel.on('error', () => {});
        channel.on('close', () => {
          if (this.publisherChannel === opening) this.publisherChannel = undefined;
        });
        return channel;
      });
      opening.catch(() => {
        if (this.publisherChannel === opening) this.publisherChannel = undefined;
      });
      this.publisherChannel = opening;
    }
    return this.publisherChannel;
  }

  /** Resolves once a connection is up (at once if it is). */
  async up(): Promise<ChannelModel> {
    while (!this.current) {
      if (this.closing) throw new Error('RabbitMQ connection closed');
      await new Promise<void>((resolve) => this.upWaiters.push(resolve));
    }
    return this.current;
  }

  async close(): Promise<void> {
    this.closing = true;
    const model = this.current;
    this.current = undefined;
    for (const wake of this.upWaiters.splice(0)) wake();
    await model?.close().catch(() => {});
  }

  private async open(): Promise<void> {
    const url = new URL(this.options.url);
    if (!url.searchParams.has('heartbeat')) url.searchParams.set('heartbeat', String(this.options.heartbeatSeconds));
    const model = await connect(url.toString(), {
      clientProperties: { connection_name: this.options.name },
    });
    model.on('error', () => {
      // 'close' follows; recovery starts there.
    });
    model.on('close', () => {
      if (this.current !== model) return;
      this.current = undefined;
      this.publisherChannel = undefined;
      if (!this.closing) void this.reconnect();
    });
    if (this.closing) {
      await model.close().catch(() => {});
      return;
    }
    this.current = model;
    for (const wake of this.upWaiters.splice(0)) wake();
  }

  private async reconnect(): Promise<void> {
    if (this.reconnecting) return;
    this.reconnecting = true;
    try {
      let delay = 100;
      while (!this.closing && !this.current) {
        try {
          await this.open();
        } catch {
          await new Promise((resolve) => setTimeout(resolve, delay));
          delay = Math.min(2000, delay * 2);
        }
      }
    } finally {
      this.reconnecting = false;
    }
    const model = this.current;
    if (!model) return;
    for (const listener of this.listeners) await listener(model).catch(() => {});
  }
}
