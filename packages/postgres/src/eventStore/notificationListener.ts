import type pg from 'pg';
import { StallDetectingClient, type StallDetectingClientConfig } from './stallDetectingClient.js';

export interface NotificationListener {
  /** Opens the connection if it is not open yet; resolves once LISTEN is in force (or failed once). */
  start(): Promise<void>;
  /** The backend pid of the current LISTEN connection, for monitoring and tests. */
  readonly pid: number | undefined;
  close(): Promise<void>;
}

export interface NotificationListenerOptions {
  connection: StallDetectingClientConfig;
  channel: string;
  /** Called on every notification, and once LISTEN is in force (notifications may have been missed before). */
  onNotify(): void;
  /** Notifications with this payload are this store instance's own (see commitNotifier.ts): not passed on. */
  ownPayload?: string;
  /** Longest wait between reconnection attempts. */
  maxBackoffMs?: number;
}

/**
 * One dedicated connection per store that LISTENs on the store's channel. It is not taken from
 * the pool: a pooled client would be handed to other work and lose its LISTEN. When the
 * connection drops it reconnects with capped exponential back-off; readers poll meanwhile, so
 * a lost notification only delays them.
 */
export function createNotificationListener(options: NotificationListenerOptions): NotificationListener {
  const maxBackoffMs = options.maxBackoffMs ?? 2000;
  let client: pg.Client | undefined;
  let connecting: Promise<void> | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let failures = 0;
  let closed = false;

  const scheduleReconnect = () => {
    if (closed || retryTimer) return;
    const delay = Math.min(maxBackoffMs, 50 * 2 ** Math.min(failures, 10));
    failures++;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void connect();
    }, delay);
  };

  const connect = (): Promise<void> => {
    if (closed) return Promise.resolve();
    if (connecting) return connecting;
    connecting = (async () => {
      const next = new StallDetectingClient(options.connection);
      let lost = false;
      const onLost = () => {
        if (lost) return;
        lost = true;
        if (client === next) client = undefined;
        next.end().catch(() => {});
        scheduleReconnect();
      };
      // Without an 'error' listener a dropped connection would crash the process.
      next.on('error', onLost);
      next.on('end', onLost);
      next.on('notification', (message: pg.Notification) => {
        if (message.payload !== options.ownPayload) options.onNotify();
      });
      try {
        await next.connect();
        // The connection sits idle between notifications by design: an operator's
        // idle_session_timeout (PostgreSQL 14+; a role or database setting) would end it every
        // period, leaving a gap without notifications and a reconnect each time. Lifted for this
        // session only, and only where the setting exists.
        await next.query(
          `LISTEN "${options.channel}"; SELECT set_config(name, '0', false) FROM pg_settings WHERE name = 'idle_session_timeout'`,
        );
      } catch {
        onLost();
        return;
      }
      if (closed) {
        await next.end().catch(() => {});
        return;
      }
      client = next;
      failures = 0;
      // Events committed while we were not listening — before the first connect as much as
      // during a reconnect — raised no notification we could see: readers must look again.
      options.onNotify();
    })().finally(() => {
      connecting = undefined;
    });
    return connecting;
  };

  return {
    start: () => (client ? Promise.resolve() : connect()),
    get pid() {
      return (client as unknown as { processID?: number } | undefined)?.processID;
    },
    async close() {
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = undefined;
      await connecting;
      const current = client;
      client = undefined;
      if (current) await current.end().catch(() => {});
    },
  };
}
