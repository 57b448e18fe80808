import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '@tidemark/core';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteLease } from '../src/processing/sqliteLease.js';

// Long lifetimes on the test's own clock, so the real-time heartbeat never ticks during a run.
const ttlMs = 100_000;

type Step = { op: 'acquire' | 'renew' | 'release'; who: number } | { op: 'advance'; ms: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ op: fc.constantFrom('acquire' as const, 'renew' as const, 'release' as const), who: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 150_000 }) }),
);

describe('SQLite lease state machine (property)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tidemark-lease-prop-'));
  const file = join(dir, 'leases.db');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let run = 0;

  it('never lets two instances be entitled at once, and a free lease is always takeable', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 40 }), async (steps) => {
        const time = { now: 1_000_000 };
        const clock: Clock = { now: () => new Date(time.now) };
        const name = `lease-${run++}`;
        // Time moves only when the steps say so.
        const leases = [0, 1, 2].map(() => createSqliteLease({ file, name, ttlMs, heartbeatMs: ttlMs - 1, clock }));
        // What each instance may rely on: until ttlMs after its last successful acquire/renew.
        const entitledUntil = [0, 0, 0];
        try {
          for (const s of steps) {
            if (s.op === 'advance') {
              time.now += s.ms;
              continue;
            }
            const lease = leases[s.who]!;
            if (s.op === 'release') {
              await lease.release();
              entitledUntil[s.who] = 0;
              continue;
            }
            const othersExpired = entitledUntil.every((until, i) => i === s.who || until < time.now);
            const ok = s.op === 'acquire' ? await lease.acquire() : await lease.renew();
            if (ok) entitledUntil[s.who] = time.now + ttlMs;
            else entitledUntil[s.who] = 0;
            // Safety: at most one instance is entitled at this instant.
            expect(entitledUntil.filter((until) => until > time.now).length).toBeLessThanOrEqual(1);
            // Liveness: when nobody else can be entitled, acquiring succeeds.
            if (s.op === 'acquire' && othersExpired) expect(ok).toBe(true);
          }
        } finally {
          await Promise.all(leases.map((lease) => lease.close()));
        }
      }),
      { numRuns: 150 },
    );
  });
});
