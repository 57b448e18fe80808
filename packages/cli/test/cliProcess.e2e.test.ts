import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const cliRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Runs a command to its end; resolves with its exit code and output. */
function runProcess(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, args, { cwd: cliRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) => resolveRun({ code, stdout, stderr }));
  });
}

describe('the tidemark executable', () => {
  it.each([
    ['the bin entry', ['--import', 'tsx', join(cliRoot, 'src/bin.ts')]],
    ['the source through tsx', ['--import', 'tsx', join(cliRoot, 'src/main.ts')]],
  ])('%s: bad arguments are one line on stderr and exit code 2; --help is exit code 0', async (_name, entry) => {
    const bad = await runProcess([...entry, 'projections', 'rebuild', 'sums', '--module', 'm.ts']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trimEnd().split('\n')).toEqual([expect.stringContaining('exactly one of --sqlite <file> or --postgres <url>')]);
    const help = await runProcess([...entry, '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: tidemark <command>');
  });
});
