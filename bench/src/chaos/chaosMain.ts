/**
 * `npm run chaos -- <suite…>`: the failure tests of `npm test` at full counts — real processes
 * SIGKILLed, brokers killed and cut off — printing one JSON line per case
 * (`{"suite":"chaos","case":…,"backend":…,"runs":…,"sent":…,"delivered":…,"lost":…,"duplicateEffects":…}`)
 * and a table. Exits non-zero when a test failed or anything was lost or applied twice.
 * Record the latest full run in RELIABILITY.md.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChaosResult } from '@tidemark/testing';
import { chaosSuites } from './chaosSuites.js';

const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const usage = `usage: npm run chaos -- <${Object.keys(chaosSuites).join(' | ')} | all>…`;

const names = process.argv.slice(2);
const wanted = names.includes('all') ? Object.keys(chaosSuites) : names;
if (wanted.length === 0 || wanted.some((name) => !(name in chaosSuites))) {
  console.error(usage);
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), 'tidemark-chaos-'));
const report = join(dir, 'chaos.jsonl');
let failed = false;
for (const name of wanted) {
  const suite = chaosSuites[name]!;
  console.error(`chaos: ${name} (${suite.files.length} files)`);
  const code = await new Promise<number>((done) => {
    const child = spawn(
      'npx',
      [
        'vitest',
        'run',
        '--project',
        'e2e',
        '--testTimeout',
        String(suite.timeoutMs),
        '--hookTimeout',
        String(suite.timeoutMs),
        ...suite.files,
      ],
      {
        cwd: repoRoot,
        stdio: ['ignore', 'inherit', 'inherit'],
        // The suite's full counts, unless the caller set a count of its own.
        env: { ...suite.env, ...process.env, TIDEMARK_REQUIRE_SERVICES: '1', TIDEMARK_CHAOS_REPORT: report },
      },
    );
    child.on('exit', (exitCode) => done(exitCode ?? 1));
  });
  if (code !== 0) failed = true;
}

const reported: ChaosResult[] = existsSync(report)
  ? readFileSync(report, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as ChaosResult)
  : [];
// One line per case and backend: a test of several rounds reports each round.
const byCase = new Map<string, ChaosResult>();
for (const line of reported) {
  const key = `${line.case} ${line.backend}`;
  const sum = byCase.get(key);
  if (!sum) byCase.set(key, { ...line });
  else for (const field of ['runs', 'sent', 'delivered', 'lost', 'duplicateEffects'] as const) sum[field] += line[field];
}
const lines = [...byCase.values()];
rmSync(dir, { recursive: true, force: true });
for (const line of lines) console.log(JSON.stringify({ suite: 'chaos', ...line }));
console.log('\n| case | backend | runs | sent | delivered | lost | duplicate effects |');
console.log('|---|---|---:|---:|---:|---:|---:|');
for (const line of lines) {
  console.log(
    `| ${line.case} | ${line.backend} | ${line.runs} | ${line.sent} | ${line.delivered} | ${line.lost} | ${line.duplicateEffects} |`,
  );
}
const broken = lines.some((line) => line.lost > 0 || line.duplicateEffects > 0);
if (lines.length === 0) console.error('chaos: no case reported its counts');
process.exit(failed || broken || lines.length === 0 ? 1 : 0);
