import type { Transport } from '@tidemark/core';
import { createNatsTransport } from '@tidemark/nats';
import { createRabbitTransport } from '@tidemark/rabbitmq';
import { oneLine } from '../shared/oneLine.js';
import { withoutPassword } from '../shared/withoutPassword.js';
import { mailerName } from './fakeMailer.js';
import { shopMessageTypes } from './shopMessageMapper.js';

export interface ShopBrokers {
  /** NATS JetStream (NATS_URL): where the public integration messages are published. */
  integration?: Transport;
  /** RabbitMQ (RABBITMQ_URL): the mail notifications' work queue. */
  notifications?: Transport;
  close(): Promise<void>;
}

/** A broker that cannot be reached at start: main.ts prints it as one line naming the setting. */
export class BrokerUnavailableError extends Error {
  constructor(
    readonly setting: 'NATS_URL' | 'RABBITMQ_URL',
    message: string,
  ) {
    super(message);
    this.name = 'BrokerUnavailableError';
  }
}

/**
 * Connects to the brokers the configuration names. `prefix` names everything on them: the
 * JetStream stream (upper-cased) and its subjects `<prefix>.<type>`, the RabbitMQ exchange and
 * queues `<prefix>.<group>`. The mailer's queue is declared at once, so a notification the
 * relay publishes before the mailer consumes is kept, not dropped as unroutable.
 */
export async function openShopBrokers(config: { natsUrl?: string; rabbitmqUrl?: string; prefix: string }): Promise<ShopBrokers> {
  const opened: Transport[] = [];
  const close = async () => {
    for (const transport of opened.reverse()) await transport.close().catch(() => {});
  };
  try {
    let integration: Transport | undefined;
    if (config.natsUrl) {
      const url = config.natsUrl;
      integration = await createNatsTransport({
        servers: url,
        stream: config.prefix.toUpperCase(),
        subjectPrefix: config.prefix,
        name: 'shop',
      }).catch((error: unknown) => {
        throw new BrokerUnavailableError('NATS_URL', `Cannot reach NATS_URL (${withoutPassword(url)}): ${oneLine(error)}`);
      });
      opened.push(integration);
    }
    let notifications: Transport | undefined;
    if (config.rabbitmqUrl) {
      const url = config.rabbitmqUrl;
      notifications = await createRabbitTransport({
        url,
        prefix: config.prefix,
        name: 'shop',
        declareGroups: [{ group: mailerName, types: shopMessageTypes }],
      }).catch((error: unknown) => {
        throw new BrokerUnavailableError('RABBITMQ_URL', `Cannot reach RABBITMQ_URL (${withoutPassword(url)}): ${oneLine(error)}`);
      });
      opened.push(notifications);
    }
    return { ...(integration && { integration }), ...(notifications && { notifications }), close };
  } catch (error) {
    await close();
    throw error;
  }
}
