import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { repoRoot } from '../workload.js';

export interface ServerProcess {
  url: string;
  stop(): Promise<void>;
}

/** The shop (`npm start`'s main.ts) on a fresh DATA_DIR and a free loopback port; PostgreSQL when DATABASE_URL is set. */
export function startShop(env: NodeJS.ProcessEnv): Promise<ServerProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tidemark-load-'));
  const schema = `load_${process.pid}_${Date.now().toString(36)}`;
  return startServer(
    resolve(repoRoot, 'examples/shop/src/main.ts'),
    {
      ...env,
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
      ...(env.DATABASE_URL && { DATABASE_SCHEMA: schema }),
    },
    async () => {
      rmSync(dataDir, { recursive: true, force: true });
      if (!env.DATABASE_URL) return;
      // The shop's schema on the shared server goes too.
      const client = new pg.Client({ connectionString: env.DATABASE_URL });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await client.end();
      }
    },
  );
}

/** The bare fastify baseline. */
export function startNoopServer(): Promise<ServerProcess> {
  return startServer(resolve(repoRoot, 'bench/src/load/noopServer.ts'), process.env, async () => {});
}

function startServer(script: string, env: NodeJS.ProcessEnv, cleanup: () => Promise<void>): Promise<ServerProcess> {
  return new Promise((resolvePromise, reject) => {
    // LOAD_SERVER_NODE_ARGS: extra node flags for the server, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
    // (not accepted in NODE_OPTIONS) to profile the shop under load.
    const extra = (process.env.LOAD_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const child: ChildProcess = spawn(process.execPath, [...extra, '--conditions=tidemark:source', '--import', 'tsx', script], {
      env,
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buffered = '';
    let started = false;
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    child.stdout!.on('data', (chunk: Buffer) => {
      // Keep draining after start: a full pipe would block the server's (synchronous) logger.
      if (started) return;
      buffered += chunk.toString();
      for (const line of buffered.split('\n')) {
        // pino's start-up line (the shop) or the baseline's: both carry the URL.
        const url = /"url":"(http:[^"]+)"/.exec(line)?.[1];
        if (!url) continue;
        started = true;
        resolvePromise({
          url,
          async stop() {
            child.kill('SIGTERM');
            await exited;
            await cleanup();
          },
        });
        return;
      }
    });
    child.once('exit', (code) => {
      if (!started) {
        const failed = new Error(`${script} exited (code ${code}) before listening`);
        cleanup().then(
          () => reject(failed),
          () => reject(failed),
        );
      }
    });
  });
}
