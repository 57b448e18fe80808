#!/usr/bin/env node
// Builds every publishable package (packages/*, not private) to its dist/, dependencies first:
// each package compiles against the dist of the @tidemark packages it depends on, as a consumer
// would. A new package needs nothing here — a `build` script and a tsconfig.build.json.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The publishable workspace packages, in an order where each comes after its dependencies. */
export function packagesInBuildOrder() {
  const packages = readdirSync(join(root, 'packages'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => {
      const dir = join(root, 'packages', entry.name);
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      return { dir, manifest };
    })
    .filter(({ manifest }) => manifest.private !== true);
  const byName = new Map(packages.map((p) => [p.manifest.name, p]));
  const ordered = [];
  const visiting = new Set();
  const visit = (p) => {
    if (ordered.includes(p)) return;
    if (visiting.has(p)) throw new Error(`dependency cycle through ${p.manifest.name}`);
    visiting.add(p);
    for (const dep of Object.keys({ ...p.manifest.dependencies, ...p.manifest.peerDependencies })) {
      const local = byName.get(dep);
      if (local) visit(local);
    }
    visiting.delete(p);
    ordered.push(p);
  };
  for (const p of [...packages].sort((a, b) => a.manifest.name.localeCompare(b.manifest.name))) visit(p);
  return ordered;
}

/** Builds the packages; each starts once the packages it depends on are built (independent ones side by side). */
async function buildAll() {
  const packages = packagesInBuildOrder();
  const local = new Set(packages.map((p) => p.manifest.name));
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const built = new Map();
  const build = (p) => {
    if (!built.has(p.manifest.name)) {
      const deps = Object.keys({ ...p.manifest.dependencies, ...p.manifest.peerDependencies }).filter((name) => local.has(name));
      const ready = Promise.all(deps.map((name) => build(packages.find((q) => q.manifest.name === name))));
      built.set(
        p.manifest.name,
        ready.then(async () => {
          await execFileAsync(npm, ['run', '--silent', 'build'], { cwd: p.dir }).catch((error) => {
            throw new Error(`building ${p.manifest.name} failed:\n${error.stdout ?? ''}${error.stderr ?? ''}`);
          });
          process.stdout.write(`built ${p.manifest.name}\n`);
        }),
      );
    }
    return built.get(p.manifest.name);
  };
  await Promise.all(packages.map(build));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildAll().catch((error) => {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  });
}
