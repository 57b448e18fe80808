import type { NatsTransportOptions } from '../src/index.js';

/** The transport options the broker crash test and its children share (one stream per test). */
export function brokerCrashNatsOptions(servers: string, stream: string, subjectPrefix: string): NatsTransportOptions {
  return {
    servers,
    stream,
    subjectPrefix,
    // Short, so that what a killed consumer held comes back within the test.
    ackWaitMs: 2000,
    // A publish cut off by the SIGKILL is repeated by the next relay: the broker keeps one copy.
    duplicateWindowMs: 600_000,
    storage: 'memory',
  };
}
