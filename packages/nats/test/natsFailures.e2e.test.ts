import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { chaosSetting, freePort, reportChaos, reportPoison, runPoisonScenario, runTransportOutage } from '@tidemark/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createNatsTransport } from '../src/index.js';
import { natsServerInstalled, natsServerProcess } from './natsServerProcess.js';

// Without the binary the suite cannot run; CI (TIDEMARK_REQUIRE_SERVICES=1) has it and must not skip.
if (!natsServerInstalled && process.env.TIDEMARK_REQUIRE_SERVICES === '1') throw new Error('nats-server is not installed');

describe.skipIf(!natsServerInstalled)('NATS JetStream under failure (a dedicated nats-server)', () => {
  const dirs: string[] = [];
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  const server = async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tidemark-nats-'));
    dirs.push(dir);
    const nats = natsServerProcess(await freePort(), dir);
    await nats.start();
    cleanups.push(() => nats.kill());
    return nats;
  };

  it('SIGKILL and restart of the broker under load: the backlog drains, nothing is lost, the stream holds each id once', async () => {
    const nats = await server();
    // A publish written just before the kill is never answered: a short timeout lets it be repeated sooner.
    const options = { servers: nats.url, stream: 'OUTAGE', subjectPrefix: 'outage', ackWaitMs: 2000, publishTimeoutMs: 1000 };
    const publisher = await createNatsTransport(options);
    const consumer = await createNatsTransport(options);
    cleanups.push(async () => {
      await publisher.close();
      await consumer.close();
    });
    const result = await runTransportOutage({
      publisher,
      consumer,
      outages: chaosSetting('NATS_KILLS', 20),
      outageMs: chaosSetting('OUTAGE_MS', 300),
      minMessages: chaosSetting('MESSAGES', 500),
      breakBroker: () => nats.kill(),
      healBroker: () => nats.start(),
    });
    // Batches repeated after a kill carried the same Nats-Msg-Ids: the broker kept one copy of each.
    const nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info('OUTAGE');
    await nc.close();
    // The scenario's consumer applies an effect once per id, as an inbox does: duplicate deliveries are not effects.
    const { outages: runs, sent, delivered, lost, effects } = result;
    reportChaos({ case: 'broker.sigkill', backend: 'jetstream', runs, sent, delivered, lost, duplicateEffects: effects - delivered });
    expect(result.lost).toBe(0);
    expect(result.effects).toBe(result.sent);
    expect(info.state.messages).toBe(result.sent);
  });

  it('a poison message is retried maxDeliveries times, dead-lettered with its error, and traffic behind it flows', async () => {
    const nats = await server();
    const transport = await createNatsTransport({ servers: nats.url, stream: 'POISON', subjectPrefix: 'poison' });
    cleanups.push(() => transport.close());
    const maxDeliveries = 3;
    const result = await runPoisonScenario(transport, { messages: chaosSetting('POISON_MESSAGES', 200), poisonEvery: 20, maxDeliveries });
    reportPoison(result, 'jetstream');
    expect(result.applied.size).toBe(result.sent - result.poison.length);
    expect(result.deadLetters.map((d) => d.message.id).sort()).toEqual([...result.poison].sort());
    for (const dead of result.deadLetters) {
      expect(result.poisonAttempts.get(dead.message.id)).toEqual([1, 2, 3]);
      expect(dead.error).toContain(`failed on attempt ${maxDeliveries}`);
    }
  });
});
