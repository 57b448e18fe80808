import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '@tidemark/core';
import { waitFor } from '@tidemark/testing';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteLease, type SqliteLease } from '../src/processing/sqliteLease.js';

class TestClock implements Clock {
  constructor(public time = Date.now()) {}
  now = () => new Date(this.time);
}

describe('SQLite projector lease (lease row with expiry and heartbeat)', () => {
  let dir: string;
  let file: string;
  const leases: SqliteLease[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tidemark-lease-'));
    file = join(dir, 'store.db');
  });
  afterEach(async () => {
    await Promise.all(leases.splice(0).map((l) => l.close()));
    rmSync(dir, { recursive: true, force: true });
  });
  const lease = (options: { name?: string; ttlMs?: number; heartbeatMs?: number; clock?: Clock } = {}) => {
    const created = createSqliteLease({ file, name: 'balances', ...options });
    leases.push(created);
    return created;
  };

  it('lets one instance hold a name at a time, and hands it over on release', async () => {
    const a = lease();
    const b = lease();
    expect(await a.acquire()).toBe(true);
    expect(await a.acquire()).toBe(true);
    expect(await b.acquire()).toBe(false);
    expect(await lease({ name: 'orders' }).acquire()).toBe(true);
    await a.release();
    expect(await a.renew()).toBe(false);
    expect(await b.acquire()).toBe(true);
    expect(await a.acquire()).toBe(false);
  });

  it('expires when the holder stops beating; the holder then cannot resurrect it', async () => {
    const clockA = new TestClock();
    const clockB = new TestClock(clockA.time);
    // No heartbeat within the test (an hour): the holder behaves like a frozen or dead process.
    const a = lease({ ttlMs: 7_200_000, heartbeatMs: 3_600_000, clock: clockA });
    const b = lease({ ttlMs: 7_200_000, heartbeatMs: 3_600_000, clock: clockB });
    expect(await a.acquire()).toBe(true);
    clockB.time += 7_199_000;
    expect(await b.acquire()).toBe(false);
    clockB.time += 2_000;
    expect(await b.acquire()).toBe(true);
    // A's own clock says its lease is young, but the row is B's now.
    expect(await a.renew()).toBe(false);
    expect(a.held).toBe(false);
    expect(await b.renew()).toBe(true);
  });

  it('keeps a lease alive with its heartbeat while the holder is idle', async () => {
    // The lease's time is a test clock shared by both instances; only the heartbeat timer is real.
    const clock = new TestClock();
    const a = lease({ ttlMs: 10_000, heartbeatMs: 20, clock });
    const b = lease({ ttlMs: 10_000, heartbeatMs: 20, clock });
    expect(await a.acquire()).toBe(true);
    const expiresAt = () => {
      const db = new Database(file, { readonly: true });
      try {
        return (db.prepare('SELECT expires_at FROM tidemark_leases WHERE name = ?').raw().get('balances') as [number])[0];
      } finally {
        db.close();
      }
    };
    // Several lifetimes pass without any call on `a`: each time, wait for a heartbeat to move
    // the deadline past the new time; only the heartbeat keeps the lease.
    for (let step = 0; step < 5; step++) {
      clock.time += 6_000;
      const now = clock.time;
      await waitFor(() => Number(expiresAt()) >= now + 10_000, 'a heartbeat after the clock moved', 10_000);
      expect(await b.acquire()).toBe(false);
    }
    // 30 s of lease time have passed: three lifetimes of 10 s.
    expect(await a.renew()).toBe(true);
  });
});

describe('SQLite lease options', () => {
  it('refuses a private in-memory database, which no other process could share', () => {
    expect(() => createSqliteLease({ file: ':memory:', name: 'balances' })).toThrow(/shared|share/);
    expect(() => createSqliteLease({ file: 'x.db', name: 'balances', ttlMs: 100, heartbeatMs: 100 })).toThrow(/heartbeatMs/);
  });

  it.each([
    ['300', 'ttlMs'],
    [Number.NaN, 'ttlMs'],
    [Number.POSITIVE_INFINITY, 'ttlMs'],
    [1.5, 'ttlMs'],
    [0, 'ttlMs'],
  ])('refuses ttlMs %j, which would make a lease that never expires or never holds', (ttlMs, field) => {
    expect(() => createSqliteLease({ file: 'x.db', name: 'balances', ttlMs: ttlMs as number })).toThrow(
      expect.objectContaining({ code: 'validation', details: { field } }),
    );
  });

  it('refuses a heartbeatMs that is not a whole number of milliseconds', () => {
    for (const heartbeatMs of ['10', Number.NaN, -5, 0.5]) {
      expect(() => createSqliteLease({ file: 'x.db', name: 'balances', ttlMs: 1000, heartbeatMs: heartbeatMs as number })).toThrow(
        expect.objectContaining({ code: 'validation', details: { field: 'heartbeatMs' } }),
      );
    }
  });
});
