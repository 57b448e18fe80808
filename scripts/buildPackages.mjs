#!/usr/bin/env node
// Builds every publishable package (packages/*, not private) to its dist/, dependencies first:
// each package compiles against the dist of the @tidemark packages it depends on, as a consumer
// would. A new package needs nothing here — a `build` script and a tsconfig.build.json.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  for (const { dir, manifest } of packagesInBuildOrder()) {
    process.stdout.write(`building ${manifest.name}\n`);
    execFileSync(npm, ['run', '--silent', 'build'], { cwd: dir, stdio: 'inherit' });
  }
}
