import type { BenchResult } from './benchResult.js';

/**
 * The targets the issues set, checked against each line so the table says plainly where one is
 * missed. `ratio` targets compare with the line's baseline; `value` targets are absolute rates
 * (they hold only on an idle machine, so read them beside the ratios).
 */
export interface Target {
  /** `sqlite`, `postgres`, or for the outbox suite `postgres+jetstream` and the like. */
  backend: string;
  /** A case name, or a pattern for a family of cases (the outbox relay's batch sizes). */
  case: string | RegExp;
  /** `raw` for the raw-driver baseline, `emmett` or `graphile` for a peer; absent for an absolute value. */
  /** `tidemark` for tidemark itself without the feature measured (the versioning cases' baselines). */
  against?: 'raw' | 'emmett' | 'graphile' | 'tidemark';
  minimum?: number;
  /** An upper bound instead (latencies): met when the value (or, with `against`, the ratio) is at most this. */
  maximum?: number;
  /** An approximation the issues quote beside a target ("≈15× Emmett"), shown but not a requirement. */
  approximate?: boolean;
}

export const targets: readonly Target[] = [
  { backend: 'sqlite', case: 'append.single.1writer', against: 'raw', minimum: 0.8 },
  { backend: 'sqlite', case: 'append.single.1writer', against: 'emmett', minimum: 15, approximate: true },
  { backend: 'sqlite', case: 'append.batch100.1writer', against: 'raw', minimum: 0.7 },
  // Issue 13: group commit, against raw transactions of 64.
  { backend: 'sqlite', case: 'append.single.64concurrent', against: 'raw', minimum: 0.6 },
  { backend: 'sqlite', case: 'aggregate.stream1000', minimum: 300_000 },
  { backend: 'sqlite', case: 'aggregate.stream1000', against: 'emmett', minimum: 3, approximate: true },
  { backend: 'postgres', case: 'append.single.1writer', against: 'raw', minimum: 0.85 },
  { backend: 'postgres', case: 'append.single.1writer', against: 'emmett', minimum: 2 },
  // Issue 13: with group commit, beyond what one commit per append can reach.
  { backend: 'postgres', case: 'append.single.32writers', against: 'raw', minimum: 2 },
  { backend: 'postgres', case: 'append.single.32writers', against: 'emmett', minimum: 4 },
  { backend: 'postgres', case: 'append.batch100.1writer', against: 'raw', minimum: 0.8 },
  { backend: 'postgres', case: 'aggregate.stream1000', minimum: 250_000 },
  // Issue 4: projector catch-up of a 1M-event log into a SQL read model (the --quick run is catchup.100k, unchecked).
  { backend: 'sqlite', case: 'catchup.1000k', minimum: 100_000 },
  { backend: 'postgres', case: 'catchup.1000k', minimum: 50_000 },
  // Issue 9: the relay against the raw client's acknowledged publishing, both outbox forms, both stores.
  ...['sqlite', 'postgres'].flatMap((store) =>
    ['jetstream', 'rabbitmq'].map((broker): Target => ({ backend: `${store}+${broker}`, case: /^relay\./, against: 'raw', minimum: 0.7 })),
  ),
  // Issue 9: append → effect committed through the inbox at a steady 1,000 events/s, on every backend.
  ...['sqlite', 'postgres', 'postgres+jetstream', 'postgres+rabbitmq'].map(
    (backend): Target => ({ backend, case: 'append-to-effect.1000ps.p99', maximum: 100 }),
  ),
  // Issue 9's peer: tidemark's outbox table → in-process consumer ≥ graphile-worker in messages/s, ≤ it in p99.
  { backend: 'postgres', case: 'peer.outbox-table.drain', against: 'graphile', minimum: 1 },
  { backend: 'postgres', case: /^peer\.outbox-table\.\d+ps\.p99$/, against: 'graphile', maximum: 1 },
  // Issue 10: readAll through a two-step upcaster chain, and appends validated by a zod schema, against tidemark without them.
  ...['sqlite', 'postgres'].flatMap((backend): Target[] => [
    { backend, case: 'read.upcast', against: 'tidemark', minimum: 0.85 },
    { backend, case: 'append.single.validated', against: 'tidemark', minimum: 0.9 },
  ]),
  // Issue 10: appends with personal data encrypted (crypto-shredding) against the same appends in clear.
  ...['sqlite', 'postgres'].map((backend): Target => ({ backend, case: 'append.single.encrypted', against: 'tidemark', minimum: 0.8 })),
];

/** "met", "MISSED by 12%" or "" for each target that applies to the line. */
export function checkTargets(result: BenchResult): string {
  const against = (['raw', 'emmett', 'graphile', 'tidemark'] as const).find((name) => result.baseline.startsWith(`${name}-`));
  return targets
    .filter(
      (t) =>
        t.backend === result.backend &&
        (typeof t.case === 'string' ? t.case === result.case : t.case.test(result.case)) &&
        (t.against === undefined || t.against === against),
    )
    .map((t) => {
      if (t.maximum !== undefined) {
        const actual = t.against === undefined ? result.value : result.ratio;
        const goal = t.against === undefined ? `≤${t.maximum} ${result.unit}` : `≤${t.maximum}×`;
        if (actual === null) return `${goal}: not measured`;
        if (actual <= t.maximum) return `${goal}: met`;
        return `${goal}: MISSED by ${Math.round((actual / t.maximum - 1) * 100)}%`;
      }
      const minimum = t.minimum ?? 0;
      const actual = t.against === undefined ? result.value : result.ratio;
      const goal = t.against === undefined ? `≥${minimum.toLocaleString('en')}/s` : `${t.approximate ? '≈' : '≥'}${minimum}×`;
      if (actual === null) return `${goal}: not measured`;
      if (actual >= minimum) return `${goal}: met`;
      return `${goal}: ${t.approximate ? 'below' : 'MISSED'} by ${Math.round((1 - actual / minimum) * 100)}%`;
    })
    .join('; ');
}
