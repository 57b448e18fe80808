import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { Transport } from '@tidemark/core';
import { serviceUrls } from '@tidemark/testing';

/** The transports and streams a test file makes, closed and deleted by `cleanUp` (its afterAll). */
export function natsTestResources(): { streams: string[]; transports: Transport[]; cleanUp(): Promise<void> } {
  const streams: string[] = [];
  const transports: Transport[] = [];
  return {
    streams,
    transports,
    async cleanUp() {
      for (const transport of transports) await transport.close();
      const nc = await connect({ servers: serviceUrls.nats });
      const jsm = await jetstreamManager(nc);
      for (const stream of streams) await jsm.streams.delete(stream).catch(() => false);
      await nc.close();
    },
  };
}
