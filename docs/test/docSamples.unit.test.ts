import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { allDocSamples, clearSamples, docsDir, extractSamples, runSample, samplesDir, writeSample } from './docSamples.js';

const dir = join(samplesDir, 'unit');
clearSamples(dir);
const samples = allDocSamples();
const files = new Map(samples.map((sample) => [sample.id, writeSample(sample, dir)]));
afterAll(() => clearSamples(dir));

describe('the samples of docs/*.md', () => {
  it('are found in every guide', () => {
    for (const doc of ['getting-started.md', 'concepts.md', 'sqlite.md', 'postgres.md', 'redis.md', 'operations.md', 'privacy.md']) {
      expect(samples.filter((sample) => sample.doc === doc).length, doc).toBeGreaterThan(0);
    }
  });

  it('type-check against the packages (what tsc would say to a reader who copies them)', () => {
    const config = ts.getParsedCommandLineOfConfigFile(
      join(docsDir, '..', 'tsconfig.json'),
      {},
      { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
    );
    if (!config) throw new Error('tsconfig.json did not parse');
    const program = ts.createProgram([...files.values()], { ...config.options, noEmit: true });
    const problems = [...files.values()].flatMap((file) =>
      ts.getPreEmitDiagnostics(program, program.getSourceFile(file)).map((d) => {
        const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
        return `${d.file?.fileName ?? file}${where ? `:${where.line + 1}` : ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
      }),
    );
    expect(problems).toEqual([]);
  }, 120_000);

  it.each(samples.filter((sample) => sample.needs === undefined).map((sample) => [sample.id, sample] as const))('%s runs', async (id) => {
    await runSample(files.get(id)!);
  });
});

describe('the sample extractor', () => {
  it('refuses a ts block that no test would run', () => {
    expect(() => extractSamples('x.md', 'text\n```ts\nconst a = 1;\n```\n')).toThrow(/x\.md:2: a ts block not marked runnable/);
  });

  it('joins the blocks of one name in order and keeps lone blocks apart', () => {
    const found = extractSamples(
      'x.md',
      '```ts runnable name=a\nA1\n```\n```ts runnable\nB\n```\n```sh\nnpm i\n```\n```ts runnable name=a\nA2\n```\n',
    );
    expect(found.map((s) => [s.id, s.code])).toEqual([
      ['x.md#a', 'A1\nA2'],
      ['x.md:4', 'B'],
    ]);
  });

  it('fails the run of a sample whose claim is false', async () => {
    const [broken] = extractSamples(
      'broken.md',
      "```ts runnable\nimport assert from 'node:assert/strict';\nassert.equal(1 + 1, 3);\n```\n",
    );
    await expect(runSample(writeSample(broken!, dir))).rejects.toThrow(/Expected values to be strictly equal/);
  });

  it('reads the documents it claims to', () => {
    expect(readFileSync(join(docsDir, 'getting-started.md'), 'utf8')).toContain('```ts runnable');
  });
});
