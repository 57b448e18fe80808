/** A group of failure tests and the TIDEMARK_CHAOS_* settings that run them at full size. */
export interface ChaosSuite {
  files: readonly string[];
  env: Readonly<Record<string, string>>;
  /** Per test: full runs take minutes. */
  timeoutMs: number;
}

export const chaosSuites: Record<string, ChaosSuite> = {
  store: {
    files: ['packages/sqlite/test/sqliteCrash.e2e.test.ts', 'packages/postgres/test/connectionChaos.e2e.test.ts'],
    env: { TIDEMARK_CHAOS_SQLITE_KILLS: '100', TIDEMARK_CHAOS_ROUNDS: '10', TIDEMARK_CHAOS_OPS: '500' },
    timeoutMs: 1_800_000,
  },
  projections: {
    files: ['examples/shop/test/readModels/projectorCrash.e2e.test.ts', 'examples/shop/test/readModels/projectorCrashPostgres.e2e.test.ts'],
    env: { TIDEMARK_CHAOS_PROJECTOR_KILLS: '200' },
    timeoutMs: 1_800_000,
  },
};
