import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { projectionsFailures, projectionsFailuresUsage } from './projections/projectionsFailures.js';
import { type CliIo, projectionsRebuild, projectionsRebuildUsage } from './projections/projectionsRebuild.js';
import { migrateStore, migrateUsage } from './store/migrateStore.js';
import { UsageError } from './usageError.js';

const usage = `Usage: tidemark <command>

Commands:
  migrate               create or upgrade a store's tables
  projections rebuild   rebuild a projection into shadow tables and swap it in
  projections failed    list events projections failed on or parked
  projections retry     retry a failed or parked event
  projections skip      skip a failed or parked event

${migrateUsage}

${projectionsRebuildUsage}

${projectionsFailuresUsage}`;

const processIo = (): CliIo => ({ stdout: process.stdout, stderr: process.stderr, interactive: process.stdout.isTTY === true });

/**
 * The command-line entry: dispatches on the first words, returns the exit code. Bad arguments
 * are one line on stderr and exit code 2 (a script can tell them from a failed run, 1);
 * `--help` prints the usage on stdout.
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const [group, command, ...rest] = argv;
  if (group === undefined || group === '--help' || group === '-h') {
    io.stdout.write(`${usage}\n`);
    return 0;
  }
  try {
    if (group === 'migrate') return await migrateStore(command === undefined ? rest : [command, ...rest], io);
    if (group === 'projections' && command === 'rebuild') return await projectionsRebuild(rest, io);
    if (group === 'projections' && (command === 'failed' || command === 'retry' || command === 'skip')) {
      return await projectionsFailures(command, rest, io);
    }
    throw new UsageError(`unknown command '${[group, command].filter(Boolean).join(' ')}'`);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr.write(`tidemark: ${error.message.replace(/\s+/g, ' ')} (see tidemark --help)\n`);
    return 2;
  }
}

/** Runs the CLI as this process: exit code 0, 1 (the command failed, one line) or 2 (bad arguments). */
export async function runCliProcess(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  try {
    process.exitCode = await runCli(argv);
  } catch (error) {
    process.stderr.write(`tidemark: ${(error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ')}\n`);
    process.exitCode = 1;
  }
}

// Run when executed directly (`npx tsx packages/cli/src/main.ts …`), not when imported; the
// real paths, because a script is often reached through a symlink (node_modules/.bin).
function isEntryPoint(): boolean {
  const invokedAs = process.argv[1];
  try {
    return invokedAs !== undefined && realpathSync(invokedAs) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false; // `node -e`, a REPL: argv[1] is no file
  }
}
if (isEntryPoint()) await runCliProcess();
