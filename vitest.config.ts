import { defineConfig } from 'vitest/config';

// Tiers by suffix (DESIGN.md §5): *.unit.test.ts, *.int.test.ts (needs a server), *.e2e.test.ts.
const roots = ['packages/*/test', 'examples/*/test'];
const tier = (name: string, extra: Record<string, unknown> = {}) => ({
  extends: true as const,
  test: { name, include: roots.map((root) => `${root}/**/*.${name}.test.ts`), ...extra },
});

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    projects: [tier('unit'), tier('int'), tier('e2e', { testTimeout: 120_000 })],
  },
});
