import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RecordedEvent } from '@tidemark/core';
import { createSqliteEventStore } from '@tidemark/sqlite';
import { chaosSetting, reportChaos } from '@tidemark/testing';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { tempSqliteFiles } from './tempSqliteFiles.js';

const files = tempSqliteFiles('tidemark-sqlite-crash-');
afterAll(() => files.remove());

const fixture = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'appendUntilKilled.ts');

interface Ack {
  streamId: string;
  position: bigint;
  batch: string;
}

/** Runs the child until it has acknowledged `killAfter` appends, then SIGKILLs it mid-stride. */
function runAndKill(file: string, mode: string, runTag: string, killAfter: number): Promise<Ack[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, file, mode, runTag], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acks: Ack[] = [];
    let buffered = '';
    let stderr = '';
    let killed = false;
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const [streamId, position, batch] = line.split(' ');
        acks.push({ streamId: streamId!, position: BigInt(position!), batch: batch! });
      }
      if (!killed && acks.length >= killAfter) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(acks);
      else reject(new Error(`the child exited by itself (code ${code}) after ${acks.length} acks: ${stderr}`));
    });
  });
}

describe('SQLite event store under SIGKILL', () => {
  it('keeps every acknowledged append, whole, with contiguous versions, across repeated kills', async () => {
    // A random number of acknowledged appends, so the kill lands at a different point of the
    // next append (validation, insert, hook, commit, fsync) each time.
    await crashAndCheck('append.sigkill', ['plain', 'hooked'], () => 5 + Math.floor(Math.random() * 60));
  });

  it('keeps every acknowledged append of 32 concurrent appenders sharing group commits', async () => {
    await crashAndCheck('append.sigkill.32concurrent', ['concurrent', 'concurrent-hooked'], () => 32 + Math.floor(Math.random() * 400));
  });

  it('keeps every acknowledged append of 32 concurrent appenders whose batches commit on the writer thread', async () => {
    await crashAndCheck(
      'append.sigkill.writerThread',
      ['concurrent-thread', 'concurrent-hooked'],
      () => 32 + Math.floor(Math.random() * 400),
    );
  });
});

/** Kills the child `runs` times (unhooked and hooked runs alternating), then checks what the file holds. */
async function crashAndCheck(caseName: string, modes: readonly [unhooked: string, hooked: string], killAfter: () => number): Promise<void> {
  // A file of its own per case: the cases' batch ids may coincide (r0-crash-c0-0…), and sharing
  // one file would count another case's batch as a duplicate of this one.
  const file = files.next(`${caseName}.db`);
  const acks: Ack[] = [];
  // CI-sized; `npm run chaos -- store` runs it at full size.
  const runs = chaosSetting('SQLITE_KILLS', 6);
  for (let run = 0; run < runs; run++) {
    acks.push(...(await runAndKill(file, modes[run % 2]!, `r${run}`, killAfter())));
  }
  expect(acks.length).toBeGreaterThanOrEqual(runs * 5);

  const integrity = new Database(file);
  expect(integrity.pragma('integrity_check', { simple: true })).toBe('ok');
  const counts = new Map(integrity.prepare('SELECT stream_id, events FROM crash_counts').raw().all() as Array<[string, number]>);
  integrity.close();

  const store = createSqliteEventStore({ file });
  const byPosition = new Map<bigint, RecordedEvent>();
  const byStream = new Map<string, RecordedEvent[]>();
  for await (const event of store.readAll({ batchSize: 100 })) {
    byPosition.set(event.position, event);
    byStream.set(event.streamId, [...(byStream.get(event.streamId) ?? []), event]);
  }

  const perBatch = new Map<string, number>();
  for (const event of byPosition.values()) {
    const { batch } = event.data as { batch: string };
    perBatch.set(batch, (perBatch.get(batch) ?? 0) + 1);
  }
  reportChaos({
    case: caseName,
    backend: 'sqlite',
    runs,
    sent: acks.length,
    delivered: acks.filter((ack) => byPosition.get(ack.position)?.streamId === ack.streamId).length,
    lost: acks.filter((ack) => byPosition.get(ack.position)?.streamId !== ack.streamId).length,
    // Each batch is three events: more than three of one batch is a batch written twice.
    duplicateEffects: [...perBatch.values()].filter((events) => events > 3).length,
  });
  expect([...perBatch].filter(([, events]) => events > 3)).toEqual([]);

  // Every acknowledged append is there: its last event sits at the acknowledged position.
  for (const ack of acks) {
    const event = byPosition.get(ack.position);
    expect(event, `acknowledged append ${ack.batch} at ${ack.position}`).toBeDefined();
    expect(event).toMatchObject({ streamId: ack.streamId, data: { batch: ack.batch, index: 2 } });
  }

  const unhookedEvents = new Map<string, number>();
  for (const [streamId, events] of byStream) {
    // Versions are 1..n with no gap, and every batch is whole: 3 events, in order, adjacent.
    expect(events.map((e) => e.version)).toEqual(events.map((_, i) => i + 1));
    expect(events.length % 3).toBe(0);
    for (let i = 0; i < events.length; i += 3) {
      const batch = events.slice(i, i + 3).map((e) => e.data as { batch: string; index: number });
      expect(batch.map((d) => d.index)).toEqual([0, 1, 2]);
      expect(new Set(batch.map((d) => d.batch)).size).toBe(1);
    }
    unhookedEvents.set(streamId, events.filter((e) => /^r\d*[02468]-/.test((e.data as { batch: string }).batch)).length);
  }
  // The inline projection committed with its events or not at all: it counts exactly the
  // events written by the hooked runs.
  for (const [streamId, events] of byStream) {
    expect(counts.get(streamId) ?? 0).toBe(events.length - (unhookedEvents.get(streamId) ?? 0));
  }
  await store.close();
}
