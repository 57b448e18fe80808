import type { Transport } from '../transport/transport.js';
import type { Metrics } from './metrics.js';

export interface ConsumerLagMonitorOptions {
  metrics: Metrics;
  /** The consumer groups to watch, each on the transport it consumes from. */
  consumers: readonly { transport: Transport; group: string }[];
}

export interface ConsumerLagMonitor {
  /** Asks each broker how many messages wait for each group and sets the gauge; returns the counts by group. */
  measure(): Promise<Record<string, number>>;
}

/**
 * The broker-side lag of message consumers (`Transport.waiting`): what a projector's lag is for
 * a consumer of the log, this is for a consumer of a queue or a stream. Measured on demand —
 * call it before a scrape — because asking the broker costs a round trip.
 */
export function createConsumerLagMonitor(options: ConsumerLagMonitorOptions): ConsumerLagMonitor {
  const gauge = options.metrics.gauge({
    name: 'tidemark_consumer_waiting_messages',
    help: 'Messages published to a consumer group and not yet taken by a consumer',
    labelNames: ['group', 'transport'],
  });
  return {
    async measure() {
      const counts: Record<string, number> = {};
      // One broker that does not answer must not hide the others' figures: each is set on its own.
      const results = await Promise.allSettled(
        options.consumers.map(async ({ transport, group }) => {
          const waiting = await transport.waiting(group);
          gauge.set(waiting, { group, transport: transport.name });
          counts[group] = waiting;
        }),
      );
      const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
      if (failed) throw failed.reason;
      return counts;
    },
  };
}
