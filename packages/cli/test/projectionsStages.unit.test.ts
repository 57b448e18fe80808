import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSqliteCheckpointStore, createSqliteEventStore } from '@tidemark/sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { ownersProjection, stages } from './fixtures/ownersProjection.js';
import { runCaptured } from './runCaptured.js';

const withStages = fileURLToPath(new URL('./fixtures/ownersProjection.ts', import.meta.url));
const withoutStages = fileURLToPath(new URL('./fixtures/ownersProjectionWithoutStages.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tidemark-cli-stages-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A store with a v1 event written before the stages existed, and a v2 one written through them (its owner encrypted). */
async function seededStore(name: string): Promise<string> {
  const file = join(dir, name);
  const legacy = createSqliteEventStore({ file });
  await legacy.appendToStream('owner-1', [{ type: 'test.owner.registered', schemaVersion: 1, data: { ownerId: 'o-1', owner: 'Ada' } }]);
  await legacy.close();
  const closers: Array<() => unknown> = [];
  const store = createSqliteEventStore({ file, stages: stages({ sqlite: file, onClose: (close) => closers.push(close) }) });
  await store.appendToStream('owner-2', [
    { type: 'test.owner.registered', schemaVersion: 2, data: { ownerId: 'o-2', owner: 'Grace', tier: 'gold' } },
  ]);
  await store.close();
  for (const close of closers) await close();
  return file;
}

async function rows(file: string, sql = 'SELECT owner_id, owner, tier FROM owners ORDER BY owner_id') {
  const store = createSqliteEventStore({ file });
  try {
    return await store.transaction((tx) => tx.sql.query<Record<string, unknown>>(sql));
  } finally {
    await store.close();
  }
}

describe("tidemark projections rebuild|retry with the application's stages", () => {
  it("rebuilds through the module's stages: owners decrypted, old versions upcast", async () => {
    const file = await seededStore('decrypts.db');
    const run = await runCaptured(['projections', 'rebuild', 'owners', '--module', withStages, '--sqlite', file]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(await rows(file)).toEqual([
      { owner_id: 'o-1', owner: 'Ada', tier: 'basic' },
      { owner_id: 'o-2', owner: 'Grace', tier: 'gold' },
    ]);
  });

  it('refuses (a failed command: exit code 1) when the events hold encrypted fields and the module exports no stages; nothing swapped in', async () => {
    const file = await seededStore('refuses.db');
    expect((await runCaptured(['projections', 'rebuild', 'owners', '--module', withStages, '--sqlite', file])).code).toBe(0);
    // Thrown to runCliProcess, which prints it as one line with exit code 1.
    await expect(runCaptured(['projections', 'rebuild', 'owners', '--module', withoutStages, '--sqlite', file])).rejects.toThrow(
      /^projections rebuild: the event at position 2 \(test\.owner\.registered\) holds an encrypted field .*export the application's event stages from --module as `stages`/,
    );
    expect(await rows(file)).toEqual([
      { owner_id: 'o-1', owner: 'Ada', tier: 'basic' },
      { owner_id: 'o-2', owner: 'Grace', tier: 'gold' },
    ]);
    // No shadow tables left behind.
    expect(await rows(file, `SELECT name FROM sqlite_master WHERE name LIKE 'owners%' ORDER BY name`)).toEqual([{ name: 'owners' }]);
  });

  it('--as-stored replays the stored form on purpose', async () => {
    const file = await seededStore('as-stored.db');
    const run = await runCaptured(['projections', 'rebuild', 'owners', '--module', withoutStages, '--sqlite', file, '--as-stored']);
    expect(run.code).toBe(0);
    const [ada, grace] = await rows(file);
    expect(ada).toEqual({ owner_id: 'o-1', owner: 'Ada', tier: null });
    expect(String(grace?.owner)).toContain('tidemark:encrypted');
    // With a module that has stages, --as-stored contradicts it.
    expect((await runCaptured(['projections', 'rebuild', 'owners', '--module', withStages, '--sqlite', file, '--as-stored'])).code).toBe(2);
  });

  it('refuses a type stored at two schema versions when the module exports no stages to upcast them', async () => {
    const file = join(dir, 'versions.db');
    const store = createSqliteEventStore({ file });
    await store.appendToStream('owner-1', [{ type: 'test.owner.registered', schemaVersion: 1, data: { ownerId: 'o-1', owner: 'Ada' } }]);
    await store.appendToStream('owner-2', [{ type: 'test.owner.registered', schemaVersion: 2, data: { ownerId: 'o-2', owner: 'Grace' } }]);
    await store.close();
    await expect(runCaptured(['projections', 'rebuild', 'owners', '--module', withoutStages, '--sqlite', file])).rejects.toThrow(
      /^projections rebuild: test\.owner\.registered events are stored at schema versions 1 and 2 .*--as-stored/,
    );
  });

  it('refuses to retry a parked event with an encrypted field without the stages, and applies it decrypted with them', async () => {
    const file = await seededStore('retry.db');
    const checkpoints = createSqliteCheckpointStore();
    const store = createSqliteEventStore({ file });
    const [stored] = await store.readStream('owner-2');
    if (!stored) throw new Error('no event');
    // Parked by a projector that read the log without the stages: the dead letter holds the ciphertext.
    await store.transaction(async (tx) => {
      await checkpoints.setup(tx);
      await ownersProjection.setup?.(tx, { name: (table) => table });
      await checkpoints.save('owners', 0n, stored.position, tx);
      await checkpoints.park(
        {
          projection: 'owners',
          position: stored.position,
          eventId: stored.id,
          eventType: stored.type,
          streamId: stored.streamId,
          message: 'boom',
          attempts: 3,
          parkedAt: new Date(),
          event: stored,
        },
        tx,
      );
    });
    await store.close();
    const retry = ['projections', 'retry', 'owners', '--position', String(stored.position), '--sqlite', file];
    await expect(runCaptured([...retry, '--module', withoutStages])).rejects.toThrow(/encrypted field/);
    expect((await rows(file, 'SELECT count(*) AS n FROM tidemark_dead_letters'))[0]).toEqual({ n: 1 });
    // With them, the dead letter's copy is read as the log is: decrypted before it is applied.
    const retried = await runCaptured([...retry, '--module', withStages]);
    expect(retried.code).toBe(0);
    expect(retried.stdout).toMatch(/^Retried the parked event at position 2 of owners/);
    expect(await rows(file)).toEqual([{ owner_id: 'o-2', owner: 'Grace', tier: 'gold' }]);
    expect((await rows(file, 'SELECT count(*) AS n FROM tidemark_dead_letters'))[0]).toEqual({ n: 0 });
  });
});
