#!/usr/bin/env node
// The consumer test: proves that what we would publish installs and runs outside this
// repository. It builds every package, packs each into a tarball, creates a project in a
// temporary directory, installs the tarballs there (their other dependencies come from the
// registry), type-checks the bank-account example against the packed .d.ts with tsc, runs it
// with plain node (no tsx, no source condition), loads every package and runs the `tidemark` bin.
//
//   npm run test:consumer                 (KEEP=1 keeps the directory for a look)
//
// better-sqlite3 compiles its native addon at install when no prebuilt binary can be fetched
// (a minute or more here). The project is installed with --ignore-scripts and gets the addon
// the repository's own install built (the same version for the same node), unless
// TIDEMARK_CONSUMER_NATIVE_BUILD=1 asks npm to run the install scripts as a user's would.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packagesInBuildOrder } from './buildPackages.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const started = performance.now();
const step = (what) => process.stdout.write(`consumer test: ${what} (${((performance.now() - started) / 1000).toFixed(1)} s)\n`);
const run = (command, args, cwd, options = {}) =>
  execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], ...options });
const installedVersion = (name) => JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
const fail = (message) => {
  throw new Error(`consumer test: ${message}`);
};

const work = mkdtempSync(join(tmpdir(), 'tidemark-consumer-'));
try {
  step('building the packages');
  run(npm, ['run', '--silent', 'build'], root, { stdio: ['ignore', 'ignore', 'inherit'] });

  step('packing');
  const tarballs = join(work, 'tarballs');
  mkdirSync(tarballs);
  const dependencies = {};
  for (const { dir, manifest } of packagesInBuildOrder()) {
    const [packed] = JSON.parse(run(npm, ['pack', '--json', '--pack-destination', tarballs], dir));
    for (const required of ['dist/index.js', 'dist/index.d.ts', 'LICENSE', 'package.json']) {
      if (!packed.files.some((f) => f.path === required)) fail(`${manifest.name}'s tarball holds no ${required}`);
    }
    dependencies[manifest.name] = `file:../tarballs/${packed.filename}`;
  }

  step('installing the tarballs into a new project');
  const project = join(work, 'project');
  mkdirSync(join(project, 'src'), { recursive: true });
  writeFileSync(
    join(project, 'package.json'),
    `${JSON.stringify(
      {
        name: 'tidemark-consumer',
        private: true,
        type: 'module',
        dependencies,
        // As the repository's own package.json: npm 11 asks which packages may run install scripts.
        allowScripts: { 'better-sqlite3': true, esbuild: true },
        devDependencies: {
          typescript: installedVersion('typescript'),
          '@types/node': installedVersion('@types/node'),
          vitest: installedVersion('vitest'),
        },
      },
      null,
      2,
    )}\n`,
  );
  // A consumer's own settings: no customConditions, so @tidemark/* resolve to their dist types.
  writeFileSync(
    join(project, 'tsconfig.json'),
    `${JSON.stringify(
      {
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noUncheckedIndexedAccess: true,
          verbatimModuleSyntax: true,
          types: ['node'],
          rootDir: 'src',
          outDir: 'build',
        },
        include: ['src'],
      },
      null,
      2,
    )}\n`,
  );
  const nativeBuild = process.env.TIDEMARK_CONSUMER_NATIVE_BUILD === '1';
  run(npm, ['install', '--no-audit', '--no-fund', '--prefer-offline', ...(nativeBuild ? [] : ['--ignore-scripts'])], project, {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (!nativeBuild) {
    const addon = 'node_modules/better-sqlite3/build/Release/better_sqlite3.node';
    if (
      installedVersion('better-sqlite3') !==
      JSON.parse(readFileSync(join(project, 'node_modules/better-sqlite3/package.json'), 'utf8')).version
    ) {
      fail('the project installed another better-sqlite3 than the repository: run with TIDEMARK_CONSUMER_NATIVE_BUILD=1');
    }
    mkdirSync(dirname(join(project, addon)), { recursive: true });
    cpSync(join(root, addon), join(project, addon));
  }
  for (const name of Object.keys(dependencies)) {
    if (!existsSync(join(project, 'node_modules', name, 'dist/index.js'))) fail(`${name} is not installed from its tarball`);
    if (existsSync(join(project, 'node_modules', name, 'node_modules', '@tidemark')))
      fail(`${name} pulled in a second copy of a @tidemark package`);
  }

  step('type-checking the example against the packed types');
  cpSync(join(root, 'examples/bank-account/src/bankAccount.ts'), join(project, 'src/bankAccount.ts'));
  // @tidemark/testing runs inside vitest only: a decider specification of the example, as a user would write one.
  writeFileSync(
    join(project, 'src/bankAccount.test.ts'),
    `import { DeciderSpecification } from '@tidemark/testing';
import { it } from 'vitest';
import { bankAccount, InsufficientFundsError } from './bankAccount.js';

it('refuses an overdraft', () => {
  DeciderSpecification.for(bankAccount)
    .given([{ type: 'bank.account.opened', data: { owner: 'alice', initialDeposit: 100 } }])
    .when({ type: 'withdraw', amount: 200 })
    .thenThrows(InsufficientFundsError);
});
`,
  );
  const tsc = join(project, 'node_modules/typescript/bin/tsc');
  run(process.execPath, [tsc, '--noEmit', '-p', '.'], project, { stdio: ['ignore', 'inherit', 'inherit'] });

  step('running it with plain node');
  // Types erased by the project's own TypeScript (tsc has just checked them; a second full
  // compile would only cost time).
  const strip = `const ts = require('typescript'); const fs = require('node:fs');
    fs.mkdirSync('build', { recursive: true });
    const out = ts.transpileModule(fs.readFileSync('src/bankAccount.ts', 'utf8'), { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
    fs.writeFileSync('build/bankAccount.js', out.outputText);`;
  run(process.execPath, ['-e', strip], project, { stdio: ['ignore', 'inherit', 'inherit'] });
  const output = run(process.execPath, ['build/bankAccount.js'], project, { env: { ...process.env, NODE_OPTIONS: '' } });
  const result = JSON.parse(output.trimEnd().split('\n').at(-1));
  const expected = { balance: 1300, balanceAsOf1045: 1500, projectedBalance: 1300, events: 3 };
  const actual = {
    balance: result.balance,
    balanceAsOf1045: result.balanceAsOf1045,
    projectedBalance: result.projectedBalance,
    events: result.history.length,
  };
  if (JSON.stringify(actual) !== JSON.stringify(expected))
    fail(`the example printed ${JSON.stringify(actual)}, not ${JSON.stringify(expected)}`);

  step('loading every package, running a specification with vitest and the tidemark bin');
  run(join(project, 'node_modules/.bin/vitest'), ['run', 'src'], project, {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  for (const name of Object.keys(dependencies).filter((name) => name !== '@tidemark/testing')) {
    const exported = run(
      process.execPath,
      ['--input-type=module', '-e', `console.log(Object.keys(await import('${name}')).length)`],
      project,
      {
        env: { ...process.env, NODE_OPTIONS: '' },
      },
    );
    if (!(Number(exported) > 0)) fail(`${name} exports nothing`);
  }
  const help = run(join(project, 'node_modules/.bin/tidemark'), ['--help'], project, { env: { ...process.env, NODE_OPTIONS: '' } });
  if (!help.startsWith('Usage: tidemark')) fail(`tidemark --help printed ${JSON.stringify(help.slice(0, 80))}`);

  step(
    `passed: ${Object.keys(dependencies).length} packages installed from tarballs, the example type-checked and run with node, its specification with vitest`,
  );
} finally {
  if (process.env.KEEP === '1') process.stdout.write(`consumer test: kept ${work}\n`);
  else rmSync(work, { recursive: true, force: true });
}
