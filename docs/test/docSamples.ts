import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * The code samples of docs/*.md, so that the documentation cannot rot: every ```ts block is
 * marked `runnable` and a test runs it (and type-checks it).
 *
 *   ```ts runnable                    a whole program on its own
 *   ```ts runnable name=quickstart    blocks with one name are joined, in order, into one program
 *   ```ts runnable needs=postgres     runs in the integration tier, with DATABASE_URL and SCHEMA set
 *
 * A sample proves what it shows with node:assert; it runs in an empty temporary directory.
 */
export interface DocSample {
  /** `getting-started.md#quickstart`, or `concepts.md:120` for a lone block. */
  id: string;
  doc: string;
  /** Line of the first block in the document (1-based). */
  line: number;
  needs: 'postgres' | 'redis' | undefined;
  code: string;
}

export const docsDir = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Generated sample programs: inside the repository so that @tidemark/* resolve, ignored by git. */
export const samplesDir = join(docsDir, '.samples');

const fence = /^```(\S*)(.*)$/;

/** Every TypeScript block of one markdown text; throws for a ts block not marked runnable. */
export function extractSamples(doc: string, markdown: string): DocSample[] {
  const samples = new Map<string, DocSample>();
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = fence.exec(lines[i]!);
    if (!open) continue;
    const language = open[1]!;
    const words = open[2]!.trim().split(/\s+/).filter(Boolean);
    let end = i + 1;
    while (end < lines.length && !lines[end]!.startsWith('```')) end++;
    if (end === lines.length) throw new Error(`${doc}:${i + 1}: a code block is never closed`);
    const body = lines.slice(i + 1, end).join('\n');
    if (language === 'ts' || language === 'typescript') {
      if (!words.includes('runnable')) throw new Error(`${doc}:${i + 1}: a ts block not marked runnable (every sample must run in a test)`);
      const option = (key: string) => words.find((w) => w.startsWith(`${key}=`))?.slice(key.length + 1);
      const name = option('name');
      const needs = option('needs');
      if (needs !== undefined && needs !== 'postgres' && needs !== 'redis') throw new Error(`${doc}:${i + 1}: unknown needs=${needs}`);
      const id = name ? `${doc}#${name}` : `${doc}:${i + 1}`;
      const existing = samples.get(id);
      if (existing) {
        if (existing.needs !== needs) throw new Error(`${doc}:${i + 1}: the blocks of ${id} disagree on needs=`);
        existing.code += `\n${body}`;
      } else {
        samples.set(id, { id, doc, line: i + 1, needs: needs as DocSample['needs'], code: body });
      }
    }
    i = end;
  }
  return [...samples.values()];
}

/** The samples of every document in docs/. */
export function allDocSamples(): DocSample[] {
  return readdirSync(docsDir)
    .filter((file) => file.endsWith('.md'))
    .sort()
    .flatMap((file) => extractSamples(file, readFileSync(join(docsDir, file), 'utf8')));
}

/** Writes a sample as a module file under `dir` (one per test tier: they run in parallel) and returns its path. */
export function writeSample(sample: DocSample, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${basename(sample.doc, '.md')}-${sample.id.replace(/^.*[#:]/, '')}.ts`);
  writeFileSync(file, `// Generated from docs/${sample.doc} (line ${sample.line}) by docs/test/docSamples.ts.\n${sample.code}\n`);
  return file;
}

export function clearSamples(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Imports a sample module with an empty temporary directory as the working directory (files a
 * sample creates land there), and removes the directory afterwards. Resolves when the sample's
 * top-level code has finished; rejects with whatever it threw.
 */
export async function runSample(file: string, env: Record<string, string> = {}): Promise<void> {
  const cwd = process.cwd();
  const work = mkdtempSync(join(tmpdir(), 'tidemark-doc-sample-'));
  const saved = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
  Object.assign(process.env, env);
  process.chdir(work);
  try {
    await import(pathToFileURL(file).href);
  } finally {
    process.chdir(cwd);
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    rmSync(work, { recursive: true, force: true });
  }
}
