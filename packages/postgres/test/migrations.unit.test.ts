import { describe, expect, it } from 'vitest';
import { migrations } from '../src/index.js';

describe('the PostgreSQL migration registry', () => {
  const steps = migrations('some_schema');

  it('numbers the steps 1, 2, 3… in order, each naming its capability', () => {
    expect(steps.map((step) => step.version)).toEqual(steps.map((_, index) => index + 1));
    for (const step of steps) expect(step.capability).toMatch(/^[a-z_]+$/);
    expect(new Set(steps.map((step) => step.capability))).toEqual(
      new Set([
        'events',
        'checkpoints',
        'leases',
        'outbox',
        'inbox',
        'idempotency_keys',
        'event_schemas',
        'stream_lifecycle',
        'snapshots',
        'subject_keys',
      ]),
    );
  });

  it('qualifies every table, index target and function it creates with the schema', () => {
    const created = steps.flatMap((step) => [
      ...step.sql.matchAll(/CREATE (?:TABLE|OR REPLACE FUNCTION)(?: IF NOT EXISTS)? ([^\s(]+)/g),
      ...step.sql.matchAll(/CREATE INDEX \S+ ON ([^\s(]+)/g),
    ]);
    expect(created.length).toBeGreaterThan(4);
    for (const [, name] of created) expect(name).toMatch(/^"some_schema"\./);
  });
});
