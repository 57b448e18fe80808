import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { shopClient } from './support/shopClient.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const mainFile = join(repoRoot, 'examples/shop/src/main.ts');

interface Server {
  child: ChildProcess;
  url: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcess>();

function spawnShop(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', mainFile], {
    cwd: repoRoot,
    // Empty DATABASE_URL/REDIS_URL: the embedded default, even where the environment points at servers.
    env: { ...process.env, DATABASE_URL: '', REDIS_URL: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolveExit({ code, signal });
    }),
  );
  return { child, exited, output: () => ({ stdout, stderr }) };
}

/** Starts the real server on a free port (PORT=0) and resolves once it logged its URL and /health answers. */
async function startShop(dataDir: string): Promise<Server> {
  const { child, exited, output } = spawnShop({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'info' });
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`the shop did not start in time:\n${JSON.stringify(output())}`)), 60_000);
    const onData = () => {
      // The port is only known from the server itself: read it from its structured start-up log line.
      for (const line of output().stdout.split('\n')) {
        if (!line.startsWith('{')) continue;
        const record = JSON.parse(line) as { url?: string };
        if (record.url) {
          clearTimeout(timer);
          child.stdout?.off('data', onData);
          resolveUrl(record.url);
          return;
        }
      }
    };
    child.stdout?.on('data', onData);
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`the shop exited with ${code} before listening:\n${output().stderr}`));
    });
  });
  const health = await fetch(`${url}/health`);
  expect(health.status).toBe(200);
  return { child, url, exited };
}

describe('the shop server as a process', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'shop-e2e-'));
    dirs.push(dir);
    return dir;
  };

  afterEach(() => {
    // A failed assertion must not leave a server behind: kill the ones this test started, by pid.
    for (const child of running) child.kill('SIGKILL');
  });
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('runs the founding bank example, stops cleanly on SIGTERM and keeps the data across a restart', async () => {
    // A data directory that does not exist yet: the server must create it.
    const dataDir = join(tempDir(), 'nested', 'data');
    const first = await startShop(dataDir);
    const client = shopClient(first.url);
    const opened = await client.post(
      '/accounts',
      { accountId: '12345', owner: 'alice', initialDeposit: 100_000 },
      { 'x-user-id': 'system' },
    );
    expect(opened.status).toBe(201);
    expect((await client.post('/accounts/12345/deposits', { amount: 50_000 }, { 'x-user-id': 'alice' })).body.balance).toBe(150_000);
    expect((await client.post('/accounts/12345/withdrawals', { amount: 20_000 }, { 'x-user-id': 'alice' })).body.balance).toBe(130_000);
    expectError422(await client.post('/accounts/12345/withdrawals', { amount: 1_000_000 }));
    // The read side runs in the server: the balance projector has the writes (read-your-writes).
    const head = (await client.get('/health')).body.headPosition;
    expect((await client.get(`/accounts/12345/balance?minPosition=${head}`)).body).toMatchObject({
      balance: 130_000,
      version: 3,
      source: 'read-model',
    });

    first.child.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(join(dataDir, 'shop.db'))).toBe(true);

    const second = await startShop(dataDir);
    const again = shopClient(second.url);
    expect((await again.get('/accounts/12345')).body).toMatchObject({ balance: 130_000, version: 3 });
    const history = await again.get('/accounts/12345/history');
    expect(history.body.events.map((e: { type: string }) => e.type)).toEqual([
      'bank.account.opened',
      'bank.account.funds_deposited',
      'bank.account.funds_withdrawn',
    ]);
    expect(history.body.events.map((e: { metadata: { userId: string } }) => e.metadata.userId)).toEqual(['system', 'alice', 'alice']);
    expect((await again.get('/accounts/12345?version=2')).body.balance).toBe(150_000);
    // The projectors resumed from their stored checkpoints: nothing was applied twice.
    const projections = (await again.get('/projections')).body.projections as Array<{ name: string }>;
    expect(projections.find((p) => p.name === 'shop.account_balances')).toMatchObject({
      state: 'running',
      checkpoint: head,
      eventsProcessed: 0,
    });
    expect((await again.get('/accounts/12345/balance')).body).toMatchObject({ balance: 130_000, source: 'read-model' });

    second.child.kill('SIGINT');
    expect(await second.exited).toEqual({ code: 0, signal: null });
  });

  it.each([
    ['PORT', () => ({ PORT: 'eighty', DATA_DIR: tempDir() }), '"eighty"'],
    ['LOG_LEVEL', () => ({ LOG_LEVEL: 'chatty', DATA_DIR: tempDir() }), '"chatty"'],
    [
      'DATA_DIR',
      () => {
        // A regular file where the data directory should be.
        const file = join(tempDir(), 'not-a-dir');
        writeFileSync(file, 'x');
        return { PORT: '0', DATA_DIR: file };
      },
      'not-a-dir',
    ],
    // A database that does not answer: named by its setting, the password left out.
    [
      'DATABASE_URL',
      () => ({ PORT: '0', DATA_DIR: tempDir(), DATABASE_URL: 'postgres://shop:s3cret@127.0.0.1:1/shop' }),
      '127.0.0.1:1/shop',
    ],
  ])('refuses to start on a wrong %s, with one line naming it', async (setting, env, shown) => {
    const { exited, output } = spawnShop(env());
    expect((await exited).code).toBe(1);
    const lines = output().stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(setting);
    expect(lines[0]).toContain(shown);
    expect(lines[0]).not.toContain('s3cret');
  });

  it('refuses to start on a port already in use, naming it', async () => {
    const blocker = createServer();
    await new Promise<void>((resolveListen) => blocker.listen(0, '127.0.0.1', resolveListen));
    try {
      const { port } = blocker.address() as AddressInfo;
      const { exited, output } = spawnShop({ PORT: String(port), DATA_DIR: tempDir() });
      expect((await exited).code).toBe(1);
      expect(output().stderr).toContain(`PORT ${port}`);
    } finally {
      blocker.close();
    }
  });
});

function expectError422(reply: { status: number; body: { error?: { code: string } } }) {
  expect(reply.status).toBe(422);
  expect(reply.body.error?.code).toBe('domain_rule');
}
