import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, portAccepting, serviceUrls, waitFor } from '@tidemark/testing';

export const pgbouncerBinary = process.env.PGBOUNCER_BIN ?? '/usr/sbin/pgbouncer';

/**
 * Whether the pooler suites run. Without Debian's pgbouncer they skip with one line — unless
 * TIDEMARK_REQUIRE_SERVICES=1, as for the servers: .ci/run installs it, so CI cannot go green by
 * skipping them.
 */
export function pgbouncerInstalled(): boolean {
  if (existsSync(pgbouncerBinary)) return true;
  const message = `pgbouncer is not installed at ${pgbouncerBinary}`;
  if (process.env.TIDEMARK_REQUIRE_SERVICES === '1') throw new Error(`${message} and TIDEMARK_REQUIRE_SERVICES=1`);
  console.warn(`skipping: ${message}`);
  return false;
}

/** A PgBouncer of the test's own in front of the shared server (trust auth, as the server has). */
export interface PgbouncerProcess {
  /** The shared server's database and user, through the pooler. */
  readonly url: string;
  /** Ends the process and removes its directory. */
  stop(): Promise<void>;
}

export async function startPgbouncer(poolMode: 'session' | 'transaction'): Promise<PgbouncerProcess> {
  const server = new URL(serviceUrls.postgres);
  const database = server.pathname.slice(1);
  const user = decodeURIComponent(server.username);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tidemark-pgbouncer-'));
  const ini = join(dir, 'pgbouncer.ini');
  writeFileSync(join(dir, 'users.txt'), `"${user}" ""\n`);
  writeFileSync(
    ini,
    [
      '[databases]',
      `${database} = host=${server.hostname} port=${server.port || 5432} dbname=${database}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${join(dir, 'users.txt')}`,
      `pool_mode = ${poolMode}`,
      'default_pool_size = 20',
      `logfile = ${join(dir, 'pgbouncer.log')}`,
      '',
    ].join('\n'),
  );
  // PgBouncer refuses to run as root. setpriv execs it in place, so the child is PgBouncer itself.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) chownSync(dir, Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })), 0);
  const [command, args] = asRoot
    ? ['setpriv', ['--reuid=postgres', '--regid=postgres', '--clear-groups', pgbouncerBinary, ini]]
    : [pgbouncerBinary, [ini]];
  const child: ChildProcess = spawn(command, args, { stdio: 'ignore' });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(() => child.exitCode !== null || portAccepting(port), `pgbouncer on port ${port}`, 10_000);
    if (child.exitCode !== null) throw new Error(`pgbouncer exited: ${readFileSync(join(dir, 'pgbouncer.log'), 'utf8')}`);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `postgres://${encodeURIComponent(user)}@127.0.0.1:${port}/${database}`, stop };
}
