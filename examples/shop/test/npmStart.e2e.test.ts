import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@tidemark/testing';
import { afterEach, describe, expect, it } from 'vitest';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** True while any process of the group `pgid` is alive (signal 0 only checks). */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
    return true;
  } catch {
    return false;
  }
}

describe('npm start', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0).reverse()) cleanup();
  });

  it('passes SIGTERM sent to the npm process on to the server, which stops serving and exits with the tree', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'shop-npm-start-'));
    // Its own process group, so that a failed run can kill exactly the tree it started (by pgid).
    const npm: ChildProcess = spawn('npm', ['start'], {
      cwd: repoRoot,
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'info', DATABASE_URL: '', REDIS_URL: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const pgid = npm.pid as number;
    cleanups.push(() => {
      if (groupAlive(pgid)) process.kill(-pgid, 'SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    });
    let stdout = '';
    let stderr = '';
    npm.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    npm.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolveExit) => npm.once('exit', (code) => resolveExit(code)));

    // The port is only known from the server's structured start-up line.
    const urlOf = () => /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(stdout)?.[1];
    await waitFor(() => urlOf() !== undefined, 'the shop to log its URL', 60_000);
    const url = urlOf() as string;
    expect(await answers(url)).toBe(true);

    // What a process supervisor does: SIGTERM to the process it started, and only to it.
    npm.kill('SIGTERM');
    expect(await exited, stderr).toBe(0);
    await waitFor(async () => !(await answers(url)), 'the server to stop answering', 20_000);
    await waitFor(() => !groupAlive(pgid), 'every process npm started to exit', 20_000);
    expect(stdout).toContain('"msg":"stopped"');
  }, 90_000);
});
