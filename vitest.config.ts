import { defaultClientConditions, defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// In the repository @tidemark/* run from their sources: the "tidemark:source" export condition
// (see the packages' exports) points at src/index.ts, so tests need no build. Vite resolves the
// test files' imports with ssr.resolve.conditions; node processes the tests start (crash and
// contention children, the shop server, the CLI) inherit it through NODE_OPTIONS.
const sourceCondition = 'tidemark:source';
process.env.NODE_OPTIONS = [process.env.NODE_OPTIONS, `--conditions=${sourceCondition}`].filter(Boolean).join(' ');

// Tiers by suffix (DESIGN.md §5): *.unit.test.ts, *.int.test.ts (needs a server), *.e2e.test.ts.
const roots = ['packages/*/test', 'examples/*/test', 'docs'];
const tier = (name: string, extra: Record<string, unknown> = {}) => ({
  extends: true as const,
  test: { name, include: roots.map((root) => `${root}/**/*.${name}.test.ts`), ...extra },
});

export default defineConfig({
  resolve: { conditions: [sourceCondition, ...defaultClientConditions] },
  // Without 'module': the tests run in node, which loads a package's "module" build (OpenTelemetry's
  // uses extensionless imports that only a bundler resolves) as its own ESM and fails.
  ssr: { resolve: { conditions: [sourceCondition, ...defaultServerConditions.filter((condition) => condition !== 'module')] } },
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    projects: [tier('unit'), tier('int'), tier('e2e', { testTimeout: 120_000 })],
  },
});
