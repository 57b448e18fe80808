import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A PostgreSQL cluster of its own (initdb + pg_ctl on a free port, under a temp directory), for
 * tests that need what the shared server must not be put through: another xid epoch
 * (pg_resetwal -e), a dump restored into another cluster. Stop it in afterAll.
 */
export interface ThrowawayCluster {
  readonly url: string;
  readonly port: number;
  stop(): void;
}

/** The newest installed server binaries, or undefined when initdb is not installed. */
export function postgresBinaries(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((version) => existsSync(join(root, version, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin');
}

/**
 * Whether the throwaway-cluster suites run: they skip with one line when initdb is missing —
 * unless TIDEMARK_REQUIRE_SERVICES=1, where that is a failure (as for a missing server).
 */
export function throwawayClustersAvailable(): boolean {
  if (postgresBinaries()) return true;
  const message = 'PostgreSQL server binaries (initdb) are not installed under /usr/lib/postgresql/*/bin';
  if (process.env.TIDEMARK_REQUIRE_SERVICES === '1') throw new Error(`${message} and TIDEMARK_REQUIRE_SERVICES=1`);
  console.warn(`skipping: ${message}`);
  return false;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** initdb and pg_ctl refuse to run as root: as root, they run as the postgres user. */
function asServerUser(binary: string, args: readonly string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', binary, ...args]] : [binary, [...args]];
}

function runAsServerUser(binary: string, args: readonly string[]): void {
  execFileSync(...asServerUser(binary, args), { stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * Creates and starts a cluster. `epoch` moves its transaction ids to that xid epoch
 * (xid8 = epoch × 2^32 + xid) before the first start, as an old cluster would have them.
 */
export async function startThrowawayCluster(options: { epoch?: number } = {}): Promise<ThrowawayCluster> {
  const bin = postgresBinaries();
  if (!bin) throw new Error('initdb is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'tidemark-cluster-'));
  const data = join(dir, 'data');
  if (process.getuid?.() === 0) chownSync(dir, Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })), 0);
  const port = await freePort();
  let started = false;
  const stop = () => {
    if (started) spawnSync(...asServerUser(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']), { stdio: 'ignore' });
    started = false;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    runAsServerUser(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale', 'C']);
    if (options.epoch !== undefined) runAsServerUser(join(bin, 'pg_resetwal'), ['-e', String(options.epoch), '-D', data]);
    const settings = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off`;
    started = true;
    runAsServerUser(join(bin, 'pg_ctl'), ['-D', data, '-o', settings, '-l', join(dir, 'log'), '-w', '-t', '30', 'start']);
  } catch (error) {
    stop();
    throw error;
  }
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, port, stop };
}

/** `pg_dump -n schema` of one cluster restored with psql into another: a move to another cluster. */
export function copySchema(from: ThrowawayCluster, to: ThrowawayCluster, schema: string): void {
  const bin = postgresBinaries() as string;
  const dump = execFileSync(
    join(bin, 'pg_dump'),
    ['-h', '127.0.0.1', '-p', String(from.port), '-U', 'postgres', '-n', schema, 'postgres'],
    {
      maxBuffer: 256 * 1024 * 1024,
    },
  );
  execFileSync(join(bin, 'psql'), ['-h', '127.0.0.1', '-p', String(to.port), '-U', 'postgres', '-q', '-v', 'ON_ERROR_STOP=1', 'postgres'], {
    input: dump,
    stdio: ['pipe', 'ignore', 'pipe'],
  });
}
