import { brokerCrashTypes, crashConsumer } from '@tidemark/testing/brokerCrashChild';
import type { RabbitTransportOptions } from '../src/index.js';

/** The transport options the broker crash test and its children share (one exchange and queue per test). */
export function brokerCrashRabbitOptions(url: string, prefix: string): RabbitTransportOptions {
  return {
    url,
    prefix,
    heartbeatSeconds: 1,
    // The relays publish before any consumer of theirs runs: the group's queue must exist, or messages are dropped as unroutable.
    declareGroups: [{ group: crashConsumer, types: brokerCrashTypes }],
  };
}
