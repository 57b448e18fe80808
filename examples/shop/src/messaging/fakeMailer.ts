import {
  type CheckpointStore,
  type Consumer,
  createIdempotentHandler,
  createLogMessageConsumer,
  type DeliveredMessage,
  type EventStore,
  type Inbox,
  type Projector,
  redactedMarker,
  type SqlTransaction,
  type StoreTransaction,
  type Transport,
} from '@tidemark/core';
import { shopMessageMapper, shopMessageTypes } from './shopMessageMapper.js';

type SqlTx = StoreTransaction & SqlTransaction;

export interface MailboxRow {
  messageId: string;
  messageType: string;
  recipient: string;
  subject: string;
  sentAt: string;
}

/** The consumer's name: its checkpoint and inbox key. */
export const mailerName = 'shop.mailer';

function mailFor(message: DeliveredMessage): { recipient: string; subject: string; body: string } {
  if (message.type === 'shop.account.opened') {
    const { accountId, owner } = message.data as { accountId: string; owner: string };
    return { recipient: owner, subject: 'Your account is open', body: `Welcome, ${owner}: account ${accountId} is ready.` };
  }
  const { orderId, customerId, total, itemCount } = message.data as {
    orderId: string;
    customerId: string;
    total: number;
    itemCount: number;
  };
  return {
    recipient: customerId,
    subject: `Order ${orderId} placed`,
    body: `${itemCount} item(s), ${(total / 100).toFixed(2)} in total.`,
  };
}

/** The mailbox table; idempotent, run in the consumer's set-up transaction. */
async function setupMailbox(tx: SqlTx): Promise<void> {
  await tx.sql.execute(`CREATE TABLE IF NOT EXISTS shop_mailbox (
    message_id TEXT NOT NULL,
    message_type TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    sent_at TEXT NOT NULL
  )`);
  await tx.sql.execute('CREATE INDEX IF NOT EXISTS shop_mailbox_recipient ON shop_mailbox (recipient)');
  // Whose personal data each account mail holds, and who was forgotten: tables of their own, so
  // that a mailbox made before customers existed keeps working as it is.
  await tx.sql.execute('CREATE TABLE IF NOT EXISTS shop_mailbox_customers (message_id TEXT PRIMARY KEY, customer_id TEXT NOT NULL)');
  await tx.sql.execute('CREATE INDEX IF NOT EXISTS shop_mailbox_customers_customer ON shop_mailbox_customers (customer_id)');
  await tx.sql.execute('CREATE TABLE IF NOT EXISTS shop_forgotten_customers (customer_id TEXT PRIMARY KEY)');
}

/**
 * A forgotten customer's mails keep their existence (what was sent, when) but lose the owner's
 * name, in the recipient and the body. Remembered, so that a mail whose message arrives after
 * the forgetting — a work queue does not keep their order — is written redacted too.
 */
async function forgetCustomer(customerId: string, tx: SqlTx): Promise<void> {
  await tx.sql.execute('INSERT INTO shop_forgotten_customers (customer_id) VALUES ($1) ON CONFLICT DO NOTHING', [customerId]);
  await tx.sql.execute(
    'UPDATE shop_mailbox SET recipient = $1, body = $1 WHERE message_id IN (SELECT message_id FROM shop_mailbox_customers WHERE customer_id = $2)',
    [redactedMarker, customerId],
  );
}

/** "Sends" a mail: one row, in the transaction that also records the message in the inbox. */
async function sendMail(message: DeliveredMessage, tx: SqlTx): Promise<void> {
  if (message.type === 'shop.customer.forgotten') return forgetCustomer((message.data as { customerId: string }).customerId, tx);
  const mail = mailFor(message);
  const customerId = message.type === 'shop.account.opened' ? (message.data as { customerId?: string }).customerId : undefined;
  const forgotten =
    customerId !== undefined &&
    (await tx.sql.query('SELECT 1 AS found FROM shop_forgotten_customers WHERE customer_id = $1', [customerId])).length > 0;
  await tx.sql.execute(
    'INSERT INTO shop_mailbox (message_id, message_type, recipient, subject, body, sent_at) VALUES ($1, $2, $3, $4, $5, $6)',
    [
      message.id,
      message.type,
      forgotten ? redactedMarker : mail.recipient,
      mail.subject,
      forgotten ? redactedMarker : mail.body,
      tx.clock.now().toISOString(),
    ],
  );
  if (customerId !== undefined) {
    await tx.sql.execute('INSERT INTO shop_mailbox_customers (message_id, customer_id) VALUES ($1, $2)', [message.id, customerId]);
  }
}

/**
 * A fake mailer: "sends" the account-opened and order-placed mails by writing them to the
 * `shop_mailbox` table. It is the durable in-process consumer of the embedded default — the log
 * from its own checkpoint, each message through the inbox — so a mail is written exactly once
 * even when the process is killed mid-way. The mailbox has no unique key on purpose: a mail sent
 * twice would show up as two rows.
 */
export function createFakeMailer(options: {
  store: EventStore<SqlTx>;
  checkpoints: CheckpointStore<SqlTx>;
  inbox: Inbox<SqlTx>;
}): Projector {
  return createLogMessageConsumer<SqlTx>({
    consumer: mailerName,
    store: options.store,
    checkpoints: options.checkpoints,
    inbox: options.inbox,
    mapper: shopMessageMapper,
    pollIntervalMs: 200,
    // As the read models' projectors (shopReadModels.ts): fewer, larger batches under load.
    minReadIntervalMs: 10,
    setup: setupMailbox,
    handle: sendMail,
  });
}

export interface QueuedMailer {
  start(): Promise<void>;
  /** Stops taking messages; those in hand finish, unacknowledged ones go back to the queue. */
  stop(): Promise<void>;
}

/**
 * The same mailer as a work-queue consumer (RabbitMQ with RABBITMQ_URL): the messages arrive
 * through the transport's group `shop.mailer`, at least once, and the inbox turns that into one
 * mail each — the mail row and the (consumer, message id) record commit together. Instances of
 * the shop compete for the queue.
 */
export function createQueuedMailer(options: { store: EventStore<SqlTx>; inbox: Inbox<SqlTx>; transport: Transport }): QueuedMailer {
  let consumer: Consumer | undefined;
  return {
    async start() {
      if (consumer) return;
      await options.store.transaction(async (tx) => {
        await tx.lockForSetup();
        await setupMailbox(tx);
      });
      consumer = await options.transport.consume(
        { group: mailerName, types: shopMessageTypes, concurrency: 8 },
        createIdempotentHandler<SqlTx>({ store: options.store, inbox: options.inbox, consumer: mailerName, handle: sendMail }),
      );
    },
    async stop() {
      const running = consumer;
      consumer = undefined;
      await running?.stop();
    },
  };
}

/** The mails of one recipient, oldest first. */
export async function mailboxOf(store: EventStore<SqlTx>, recipient: string): Promise<MailboxRow[]> {
  return store.transaction(async (tx) => {
    const rows = await tx.sql.query<{ message_id: string; message_type: string; recipient: string; subject: string; sent_at: string }>(
      'SELECT message_id, message_type, recipient, subject, sent_at FROM shop_mailbox WHERE recipient = $1 ORDER BY sent_at, message_id',
      [recipient],
    );
    return rows.map((row) => ({
      messageId: row.message_id,
      messageType: row.message_type,
      recipient: row.recipient,
      subject: row.subject,
      sentAt: row.sent_at,
    }));
  });
}
