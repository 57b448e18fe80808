import { appendFileSync } from 'node:fs';

/** What one failure test saw, counted on what the database and the brokers hold. */
export interface ChaosResult {
  /** `relay.sigkill`, `consumer.sigkill`, `broker.outage`, `append.sigkill`… */
  case: string;
  /** `sqlite`, `postgres`, `postgres+jetstream`… */
  backend: string;
  /** Kills, outages or rounds done. */
  runs: number;
  /** Acknowledged writes (appends, published messages) the test expects to find. */
  sent: number;
  /** How many of them it found (applied, delivered). */
  delivered: number;
  lost: number;
  /** Effects applied (or rows stored) more than once. */
  duplicateEffects: number;
}

/**
 * Records a failure test's counts for `npm run chaos`, which sets TIDEMARK_CHAOS_REPORT to a file
 * and prints one JSON line per case. Outside it (plain `npm test`) nothing is written. Call it
 * before the assertions, so a failing run still reports what it lost.
 */
export function reportChaos(result: ChaosResult): void {
  const file = process.env.TIDEMARK_CHAOS_REPORT;
  if (!file) return;
  appendFileSync(file, `${JSON.stringify({ suite: 'chaos', ...result })}\n`);
}
